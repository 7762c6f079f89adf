/**
 * `npm run node -- --help` and `npm run coordinator -- --help` exit 0 and explain every option
 * their parsers accept, the environment variables and files, with an example.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { COORDINATOR_OPTIONS } from '../../main/coordinator/cli-help';
import { NODE_OPTIONS } from '../../main/node/cli-help';

const TSX = join(process.cwd(), 'node_modules', '.bin', 'tsx');

function help(script: string): string {
  const run = spawnSync(TSX, [script, '--help'], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(run.status, 0, run.stderr);
  return run.stdout;
}

/** The help explains an option when a line starts with it (after indentation). */
const explains = (text: string, option: string) => new RegExp(`^\\s+--${option}\\b`, 'm').test(text);

describe('command-line help', () => {
  it('the signer node explains every option, environment variable and file, with an example', () => {
    const text = help('main/node/cli.ts');
    for (const option of Object.keys(NODE_OPTIONS)) assert.ok(explains(text, option), `--${option} is explained`);
    for (const env of ['VAULTKEEPER_NODE_PASSPHRASE', 'VAULTKEEPER_STATE_DIR', 'VAULTKEEPER_MPC_ADDON']) assert.ok(text.includes(env), env);
    for (const section of ['Environment', 'Files', 'Example', 'node-card.json', 'Setup files']) assert.ok(text.includes(section), section);
    // Joining a real cluster: the card and peers file formats, where the passphrase comes from, the air gap.
    for (const topic of ['"format": "vaultkeeper-node-card/v1"', 'BIP-39 English list', 'Passphrase sources', '--peers FILE             JSON array', 'Air gap', 'AIRGAP-JOINED', 'plain ws:// only to 127.0.0.1']) assert.ok(text.includes(topic), topic);
  });

  it('the coordinator explains every option and its store file, with an example', () => {
    const text = help('main/coordinator/cli.ts');
    for (const option of Object.keys(COORDINATOR_OPTIONS)) assert.ok(explains(text, option), `--${option} is explained`);
    for (const section of ['Environment', 'Files', 'Example']) assert.ok(text.includes(section), section);
  });

  it('an unknown option exits 2 and points to --help', () => {
    const run = spawnSync(TSX, ['main/coordinator/cli.ts', '--no-such-option'], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(run.status, 2);
    assert.match(run.stderr, /--help explains every option/);
  });
});
