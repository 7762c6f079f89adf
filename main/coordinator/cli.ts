/**
 * The coordinator as a process: `npm run coordinator -- --port 7400 --cluster lab --store FILE`.
 * Listens on loopback unless --host says otherwise.
 */
import { parseArgs } from 'node:util';
import { Coordinator } from './server';

const { values } = parseArgs({
  options: {
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string', default: '0' },
    cluster: { type: 'string', default: 'lab' },
    store: { type: 'string', default: 'coordinator.sqlite3' },
  },
});

const coordinator = new Coordinator({
  storeFile: values.store!,
  clusterId: values.cluster!,
  host: values.host!,
  port: Number(values.port),
  log: (line) => process.stdout.write(`${line}\n`),
});
const url = await coordinator.listen();
process.stdout.write(`LISTENING ${url}\n`);
const stop = () => void coordinator.close().then(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
