/**
 * Which sealed auxiliary data a key generation may attach: only the active data of exactly the
 * group named (same nodes, same party indices), and only when the sealed blob really hashes to
 * the aux id the signed request names. The engine's facts about a blob come from a stand-in here.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AUX_RECORD, AuxGroups } from '../../main/cluster/aux-groups';
import { ClusterError } from '../../main/cluster/errors';
import type { MpcSigner } from '../../main/mpc/index';
import { testServices, GOOD_PASSPHRASE } from '../support/services';

const A = 'a'.repeat(32);
const B = 'b'.repeat(32);
const C = 'c'.repeat(32);
const group = [A, B, C].map((nodeId, partyIndex) => ({ nodeId, partyIndex }));
const AUX_ID = '11'.repeat(32);
const OTHER_ID = '22'.repeat(32);

/** Blob → what the engine would report: `aux:<party>:<auxId>`. */
const fakeSigner = {
  ecdsaAuxInfo(blob: Buffer) {
    const [, party, id] = blob.toString().split(':');
    return { partyIndex: Number(party), parties: 3, auxId: Buffer.from(id!, 'hex') };
  },
} as unknown as MpcSigner;

async function setUp() {
  const s = testServices();
  await s.vault.create(GOOD_PASSPHRASE, GOOD_PASSPHRASE);
  const groups = new AuxGroups({ db: s.db, vault: s.vault, audit: s.audit, clock: s.clock, signer: () => fakeSigner });
  groups.store({ auxGroupId: 'aux-1', clusterId: 'test', participants: group, myPartyIndex: 0, sessionId: 'ff'.repeat(32), aux: Buffer.from(`aux:0:${AUX_ID}`), auxId: AUX_ID });
  return { s, groups };
}

const refusedWith = (code: string) => (e: unknown) => e instanceof ClusterError && e.code === code;

test('attaches the active aux data of exactly its group, checked against the id named', async () => {
  const { s, groups } = await setUp();
  try {
    assert.equal(groups.forKeygen(AUX_ID, group, A).toString(), `aux:0:${AUX_ID}`);
    assert.equal(groups.activeFor('test', [...group].reverse())?.auxGroupId, 'aux-1', 'the same group in another order');
    const asSeenByB = [B, A, C].map((nodeId, partyIndex) => ({ nodeId, partyIndex }));
    assert.deepEqual(groups.activeFor('test', asSeenByB)?.participants, group, 'another requester finds it, with the indices it was made with');
  } finally {
    await s.cleanup();
  }
});

test('refuses an aux id it does not hold, another group, or another party index', async () => {
  const { s, groups } = await setUp();
  try {
    assert.throws(() => groups.forKeygen(OTHER_ID, group, A), refusedWith('AUX_NOT_FOUND'));
    const swapped = [B, A, C].map((nodeId, partyIndex) => ({ nodeId, partyIndex }));
    assert.throws(() => groups.forKeygen(AUX_ID, swapped, A), refusedWith('AUX_WRONG_GROUP'));
    const stranger = [A, B, 'd'.repeat(32)].map((nodeId, partyIndex) => ({ nodeId, partyIndex }));
    assert.throws(() => groups.forKeygen(AUX_ID, stranger, A), refusedWith('AUX_WRONG_GROUP'));
    assert.throws(() => groups.forKeygen(AUX_ID, group, B), refusedWith('AUX_WRONG_GROUP'), 'this node is party 0 of the group, not 1');
  } finally {
    await s.cleanup();
  }
});

test('refuses a sealed record that does not hash to the id named (swapped or corrupted blob)', async () => {
  const { s, groups } = await setUp();
  try {
    s.vault.records.put(AUX_RECORD.type, 'aux-1', AUX_RECORD.schemaVersion, Buffer.from(`aux:0:${OTHER_ID}`));
    assert.throws(() => groups.forKeygen(AUX_ID, group, A), refusedWith('AUX_MISMATCH'));
    s.vault.records.put(AUX_RECORD.type, 'aux-1', AUX_RECORD.schemaVersion, Buffer.from(`aux:1:${AUX_ID}`));
    assert.throws(() => groups.forKeygen(AUX_ID, group, A), refusedWith('AUX_MISMATCH'), "another party's blob");
  } finally {
    await s.cleanup();
  }
});

test('new aux data for the group retires the old one; retired data is never attached', async () => {
  const { s, groups } = await setUp();
  try {
    // Requested by another node: the same three nodes numbered from that node.
    const fromC = [C, A, B].map((nodeId, partyIndex) => ({ nodeId, partyIndex }));
    groups.store({ auxGroupId: 'aux-2', clusterId: 'test', participants: fromC, myPartyIndex: 1, sessionId: 'ee'.repeat(32), aux: Buffer.from(`aux:1:${OTHER_ID}`), auxId: OTHER_ID });
    assert.equal(groups.get('aux-1')!.status, 'retired');
    assert.equal(groups.activeFor('test', group)!.auxGroupId, 'aux-2');
    assert.throws(() => groups.forKeygen(AUX_ID, group, A), refusedWith('AUX_NOT_FOUND'));
    assert.throws(
      () => groups.store({ auxGroupId: 'aux-3', clusterId: 'test', participants: group, myPartyIndex: 0, sessionId: 'dd'.repeat(32), aux: Buffer.from(`aux:1:${AUX_ID}`), auxId: AUX_ID }),
      refusedWith('AUX_MISMATCH'),
      'aux data of another party index is not stored',
    );
    assert.equal(groups.get('aux-3'), null);
  } finally {
    await s.cleanup();
  }
});
