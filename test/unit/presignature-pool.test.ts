/**
 * The presignature pool's own guarantees, without running MPC: expiry by this node's clock,
 * binding to the parties that made a presignature, discarding the whole pool on a detected
 * rollback (restored counter, missing mirror, clock gone back), and never exporting it.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { ClusterError } from '../../main/cluster/errors';
import { PRESIGNATURE_RECORD } from '../../main/cluster/presignatures';
import { ROLLBACK_COUNTER_RECORD } from '../../main/cluster/rollback-guard';
import type { SessionInfo } from '../../main/coordinator/protocol';
import { AppFailure } from '../../main/errors';
import { assertRecordExportable, declaredNonExportable, exportableRecords } from '../../main/vault/export-policy';
import { GOOD_PASSPHRASE, testServices } from '../support/services';

const A = 'a'.repeat(32);
const B = 'b'.repeat(32);
const C = 'c'.repeat(32);
const KEYSET = 'ks-test';

describe('presignature pool', () => {
  let s: ReturnType<typeof testServices>;

  beforeEach(async () => {
    s = testServices();
    await s.vault.create(GOOD_PASSPHRASE, GOOD_PASSPHRASE);
  });
  afterEach(async () => {
    await s.cleanup();
  });

  const parties = (...ids: string[]) => ids.map((nodeId, i) => ({ nodeId, partyIndex: i }));
  /** Stores one presignature as the end of a presign session would; returns its id. */
  const store = (quorum = parties(A, B)): string => {
    const id = randomBytes(32);
    const info = { sessionId: randomBytes(32).toString('hex'), protocol: 'ecdsa-presign', clusterId: 'test', keysetId: KEYSET, parties: quorum, threshold: 2, requester: A, deadlineAt: 0 } as SessionInfo;
    s.cluster.pool.store(info, { presignature: randomBytes(64), presignaturePublic: randomBytes(33), presignatureId: id } as never, 'epoch');
    return id.toString('hex');
  };
  const secrets = () => (s.db.prepare(`SELECT COUNT(*) AS c FROM sealed_records WHERE record_type = 'mpc-presignature'`).get() as { c: number }).c;
  const refusedWith = (fn: () => unknown, code: string) =>
    assert.throws(fn, (e: unknown) => e instanceof ClusterError && e.code === code);
  const auditTypes = () => s.audit.list({ limit: 1000 }).entries.map((e) => e.type);
  const mirror = () => s.cluster.pool['o'].guard.mirrorPath() as string;

  it('expires by this node\'s clock (default one hour): an expired presignature is never consumed, and the sweep removes its secret', () => {
    const fresh = store();
    s.clock.advance(59 * 60_000);
    assert.equal(s.cluster.pool.consume(fresh, KEYSET, parties(A, B)).presignature.length, 64);
    const old = store();
    s.clock.advance(60 * 60_000 + 1);
    refusedWith(() => s.cluster.pool.consume(old, KEYSET, parties(A, B)), 'PRESIGNATURE_UNAVAILABLE');
    assert.equal(s.cluster.pool.pick({ keysetId: KEYSET, threshold: 2, participants: parties(A, B, C) }, [], new Set()), null);
    assert.equal(s.cluster.pool.list(KEYSET).filter((p) => p.state === 'ready').length, 0);
    assert.equal(secrets(), 0);
    assert.ok(auditTypes().includes('MPC_PRESIGNATURES_EXPIRED'));
  });

  it('the lifetime is a per-keyset setting', () => {
    s.db
      .prepare(`INSERT INTO mpc_keysets (keyset_id, cluster_id, scheme, key_ref, threshold, participants, my_party_index, status, session_id, created_at) VALUES (?, 'test', 'ecdsa', 'mpc-tecdsa://test/ks-test', 2, '[]', 0, 'active', 's', 'now')`)
      .run(KEYSET);
    s.cluster.pool.setTtl(KEYSET, 10 * 60_000);
    const id = store();
    assert.equal(Date.parse(s.cluster.pool.list(KEYSET)[0]!.expiresAt) - s.clock.now(), 10 * 60_000);
    s.clock.advance(10 * 60_000);
    refusedWith(() => s.cluster.pool.consume(id, KEYSET, parties(A, B)), 'PRESIGNATURE_UNAVAILABLE');
    assert.throws(() => s.cluster.pool.setTtl(KEYSET, 1_000), RangeError);
  });

  it('is consumed only by a session with exactly the parties that made it, and only once', () => {
    const id = store(parties(A, B));
    refusedWith(() => s.cluster.pool.consume(id, KEYSET, parties(A, C)), 'PRESIGNATURE_UNAVAILABLE');
    refusedWith(() => s.cluster.pool.consume(id, 'ks-other', parties(A, B)), 'PRESIGNATURE_UNAVAILABLE');
    assert.equal(s.cluster.pool.list(KEYSET)[0]!.state, 'ready', 'a refused consume changes nothing');
    assert.equal(secrets(), 1);
    s.cluster.pool.consume(id, KEYSET, parties(A, B));
    refusedWith(() => s.cluster.pool.consume(id, KEYSET, parties(A, B)), 'PRESIGNATURE_UNAVAILABLE');
    assert.equal(secrets(), 0);
  });

  it('a database counter behind its mirror (restored data folder) discards the whole pool when the vault opens', async () => {
    store();
    store();
    await s.vault.lock();
    // What a restore of an older data folder looks like from here: the mirror is ahead.
    const m = JSON.parse(readFileSync(mirror(), 'utf8')) as { counter: number };
    writeFileSync(mirror(), JSON.stringify({ ...m, counter: m.counter + 3 }));
    await s.vault.unlock(GOOD_PASSPHRASE);
    assert.deepEqual(s.cluster.pool.list(KEYSET), []);
    assert.equal(secrets(), 0);
    const rollback = s.audit.list({ type: 'ROLLBACK_DETECTED' }).entries[0]!;
    assert.match(JSON.stringify(rollback.details), /behind its mirror/);
  });

  it('a missing mirror beside a used counter (imported data folder) discards the pool', async () => {
    store();
    await s.vault.lock();
    rmSync(mirror());
    await s.vault.unlock(GOOD_PASSPHRASE);
    assert.equal(secrets(), 0);
    assert.match(JSON.stringify(s.audit.list({ type: 'ROLLBACK_DETECTED' }).entries[0]!.details), /mirror is missing/);
    assert.ok(existsSync(mirror()), 'the mirror is written again');
  });

  it('a clock that went backwards discards the pool, at unlock and while running', async () => {
    store();
    await s.vault.lock();
    s.clock.advance(-3600_000);
    await s.vault.unlock(GOOD_PASSPHRASE);
    assert.equal(secrets(), 0);
    store();
    assert.equal(secrets(), 1);
    s.clock.advance(-60_000);
    assert.equal(s.cluster.pool.pick({ keysetId: KEYSET, threshold: 2, participants: parties(A, B, C) }, [], new Set()), null);
    assert.equal(secrets(), 0);
    assert.equal(s.audit.list({ type: 'ROLLBACK_DETECTED' }).entries.length, 2);
  });

  it('an unchanged node keeps its pool across lock and unlock', async () => {
    store();
    await s.vault.lock();
    await s.vault.unlock(GOOD_PASSPHRASE);
    assert.equal(secrets(), 1);
    assert.equal(s.audit.list({ type: 'ROLLBACK_DETECTED' }).entries.length, 0);
  });

  it('presignatures and the rollback counter never enter a backup or export', () => {
    assert.equal(declaredNonExportable(PRESIGNATURE_RECORD), true);
    assert.equal(declaredNonExportable(ROLLBACK_COUNTER_RECORD), true);
    assert.throws(() => assertRecordExportable(PRESIGNATURE_RECORD.type), (e: unknown) => e instanceof AppFailure && e.code === 'RECORD_NOT_EXPORTABLE');
    assert.throws(() => assertRecordExportable(ROLLBACK_COUNTER_RECORD.type), (e: unknown) => e instanceof AppFailure && e.code === 'RECORD_NOT_EXPORTABLE');
    assertRecordExportable('mpc-share');
    const rows = (s.db.prepare('SELECT record_type AS recordType FROM sealed_records').all() as Array<{ recordType: string }>);
    store();
    const all = s.db.prepare('SELECT record_type AS recordType FROM sealed_records').all() as Array<{ recordType: string }>;
    assert.ok(all.some((r) => r.recordType === PRESIGNATURE_RECORD.type));
    assert.ok(exportableRecords(all).every((r) => r.recordType !== PRESIGNATURE_RECORD.type && r.recordType !== ROLLBACK_COUNTER_RECORD.type));
    assert.ok(rows.length > 0);
  });
});
