/**
 * `npm run audit:verify -- FILE.jsonl [EXPECTED_HEAD_HASH]`: checks an exported audit log on any
 * machine. Exit 0 when the chain is intact (and ends at the expected head hash, if one is given).
 */
import { isAppFailure } from '../errors';
import { readRegularTextFile } from '../platform/safe-file';
import { verifyExportedChain } from './export-verifier';

/** Far above any real export; a bound so a device or endless file cannot exhaust the process. */
const MAX_EXPORT_BYTES = 256 * 1024 * 1024;

const [file, expectedHead] = process.argv.slice(2);
if (!file) {
  process.stderr.write('usage: npm run audit:verify -- FILE.jsonl [EXPECTED_HEAD_HASH]\n');
  process.exit(2);
}
let text: string;
try {
  text = readRegularTextFile(file, { maxBytes: MAX_EXPORT_BYTES, what: 'audit export' });
} catch (error) {
  process.stderr.write(isAppFailure(error) ? `${error.code}: ${error.message}\n` : `cannot read ${file}\n`);
  process.exit(2);
}
const result = verifyExportedChain(text);
if (!result.intact) {
  process.stdout.write(`BROKEN at row ${result.firstBrokenSeq}: ${result.reason}\n`);
  process.exit(1);
}
if (expectedHead && expectedHead.toLowerCase() !== result.headHash) {
  process.stdout.write(`intact, but the head hash ${result.headHash} is not the expected ${expectedHead}: rows were added or the tail was rewritten\n`);
  process.exit(1);
}
process.stdout.write(`intact: ${result.rows} rows, head hash ${result.headHash}\n`);
