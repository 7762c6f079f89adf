/**
 * The coordinator as a process: `npm run coordinator -- --port 7400 --cluster lab --store FILE`.
 * Listens on loopback unless --host says otherwise.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { isLoopbackHost } from '../cluster/cluster-config';
import { COORDINATOR_HELP, COORDINATOR_OPTIONS, COORDINATOR_USAGE } from './cli-help';
import { Coordinator } from './server';

function parseOptions() {
  try {
    return parseArgs({ options: COORDINATOR_OPTIONS }).values;
  } catch (error) {
    process.stderr.write(`vaultkeeper coordinator: ${error instanceof Error ? error.message : String(error)}\n${COORDINATOR_USAGE}\n(npm run coordinator -- --help explains every option)\n`);
    process.exit(2);
  }
}

const values = parseOptions();
if (values.help) {
  process.stdout.write(`${COORDINATOR_HELP}\n`);
  process.exit(0);
}
const port = Number(values.port);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  process.stderr.write(`vaultkeeper coordinator: --port must be a whole number from 0 to 65535, not "${values.port}".\n`);
  process.exit(2);
}

const certFile = values['tls-cert'];
const keyFile = values['tls-key'];
if ((certFile === undefined) !== (keyFile === undefined)) {
  process.stderr.write('vaultkeeper coordinator: --tls-cert and --tls-key go together.\n');
  process.exit(2);
}
if (!certFile && !isLoopbackHost(values.host!)) {
  process.stderr.write(`vaultkeeper coordinator: --host ${values.host} is not this machine: serve wss:// with --tls-cert and --tls-key (the nodes refuse plain ws:// off loopback).\n`);
  process.exit(2);
}
// No top-level await: the coordinator is also bundled as CommonJS for the packaged app's lab.
const coordinator = new Coordinator({
  ...(certFile && keyFile ? { tls: { cert: readFileSync(certFile), key: readFileSync(keyFile) } } : {}),
  storeFile: values.store!,
  clusterId: values.cluster!,
  host: values.host!,
  port,
  log: (line) => process.stdout.write(`${line}\n`),
});
const stop = () => void coordinator.close().then(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
coordinator.listen().then(
  (url) => process.stdout.write(`LISTENING ${url}\n`),
  (error: unknown) => {
    process.stderr.write(`vaultkeeper coordinator: cannot listen (${error instanceof Error ? error.message : String(error)}).\n`);
    process.exit(1);
  },
);
