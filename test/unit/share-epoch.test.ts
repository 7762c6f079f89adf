/** The share epoch has one definition: what presignatures are bound to is what share backups name. */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { shareEpoch } from '../../main/cluster/share-epoch';

test('the epoch is the first 16 bytes of SHA-256 over the public share, and changes with the share', () => {
  const publicShare = Buffer.from('02'.concat('11'.repeat(32)), 'hex');
  assert.equal(shareEpoch(publicShare), createHash('sha256').update(publicShare).digest('hex').slice(0, 32));
  assert.equal(shareEpoch(publicShare).length, 32);
  assert.notEqual(shareEpoch(Buffer.from('03'.concat('11'.repeat(32)), 'hex')), shareEpoch(publicShare));
});
