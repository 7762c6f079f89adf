/**
 * The lab hands the console's guardian registry file to each lab node at every start, so a node
 * started before a guardian replacement follows it at its next start (the node's own checks are in
 * guardian-replacement-chain.test.ts).
 */
import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { handLabGuardiansFile, LAB_GUARDIANS_FILE } from '../../main/cluster/lab-guardians';
import { tempDir } from '../support/temp-dir';

describe('the lab guardians file', () => {
  it('is replaced by the console\'s current file at each start, kept when the console has none, absent before the first', () => {
    const dir = tempDir('vk-lab-guardians-');
    try {
      assert.equal(handLabGuardiansFile(dir.path, null), null, 'no file while the console has fewer than three guardians');
      const path = handLabGuardiansFile(dir.path, '{"format":"vaultkeeper.guardian-registry/2","first":true}\n');
      assert.equal(path, join(dir.path, LAB_GUARDIANS_FILE));
      assert.equal(statSync(path).mode & 0o777, 0o600);
      assert.equal(handLabGuardiansFile(dir.path, '{"format":"vaultkeeper.guardian-registry/2","after":"a replacement"}\n'), path);
      assert.match(readFileSync(path, 'utf8'), /after/, 'the newer file replaced the one handed before');
      assert.equal(handLabGuardiansFile(dir.path, null), path);
      assert.match(readFileSync(path, 'utf8'), /after/, 'kept when the console has no file to give');
    } finally {
      dir.cleanup();
    }
  });
});
