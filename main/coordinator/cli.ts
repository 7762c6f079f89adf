/**
 * The coordinator as a process: `npm run coordinator -- --port 7400 --cluster lab --store FILE`.
 * Listens on loopback unless --host says otherwise.
 */
import { parseArgs } from 'node:util';
import { Coordinator } from './server';

const USAGE = 'usage: npm run coordinator -- [--host 127.0.0.1] [--port N] [--cluster NAME] [--store FILE]';

function parseOptions() {
  try {
    return parseArgs({
      options: {
        host: { type: 'string', default: '127.0.0.1' },
        port: { type: 'string', default: '0' },
        cluster: { type: 'string', default: 'lab' },
        store: { type: 'string', default: 'coordinator.sqlite3' },
        help: { type: 'boolean', default: false },
      },
    }).values;
  } catch (error) {
    process.stderr.write(`vaultkeeper coordinator: ${error instanceof Error ? error.message : String(error)}\n${USAGE}\n`);
    process.exit(2);
  }
}

const values = parseOptions();
if (values.help) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}
const port = Number(values.port);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  process.stderr.write(`vaultkeeper coordinator: --port must be a whole number from 0 to 65535, not "${values.port}".\n`);
  process.exit(2);
}

const coordinator = new Coordinator({
  storeFile: values.store!,
  clusterId: values.cluster!,
  host: values.host!,
  port,
  log: (line) => process.stdout.write(`${line}\n`),
});
const url = await coordinator.listen();
process.stdout.write(`LISTENING ${url}\n`);
const stop = () => void coordinator.close().then(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
