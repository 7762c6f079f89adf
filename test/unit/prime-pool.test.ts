/** The prime pool hands out each sealed entry once: deleted before use, also across a restart. */
import assert from 'node:assert/strict';
import { cpSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { PRIME_POOL_CAP, PRIME_POOL_RECORD } from '../../main/cluster/prime-pool';
import { createServices } from '../../main/services';
import { GOOD_PASSPHRASE, TEST_KDF_COST } from '../support/services';
import { tempDir } from '../support/temp-dir';
import { testPrimes } from '../cluster/support';

function open(dir: string) {
  return createServices({ dataDir: join(dir, 'data'), kdfCost: TEST_KDF_COST, idleCheckIntervalMs: 0, idleTimeoutSeconds: 300, cluster: { stateDir: join(dir, 'state') } });
}

test('a prime-pool entry is never handed out twice, also across a restart', async () => {
  const dir = tempDir();
  const [a, b] = testPrimes();
  try {
    let services = open(dir.path);
    await services.vault.create(GOOD_PASSPHRASE, GOOD_PASSPHRASE);
    const pool = services.cluster.primePool;
    assert.equal(pool.level(), 0);
    assert.equal(pool.take(), undefined, 'an empty pool gives nothing');
    pool.add(a!);
    pool.add(b!);
    assert.equal(services.cluster.primePoolStatus().level, 2);
    const first = pool.take()!;
    assert.ok(first.equals(a!) || first.equals(b!));
    assert.equal(pool.level(), 1);
    const rows = services.db.prepare('SELECT COUNT(*) AS c FROM sealed_records WHERE record_type = ?').get(PRIME_POOL_RECORD.type) as { c: number };
    assert.equal(rows.c, 1, 'the used entry is gone from the database, not just marked');
    assert.equal(services.audit.list({ type: 'PRIME_POOL_ENTRY_USED' }).total, 1);
    await services.close();

    // Same data folder, new process state: the used entry does not come back.
    services = open(dir.path);
    await services.vault.unlock(GOOD_PASSPHRASE);
    assert.equal(services.cluster.primePool.level(), 1);
    const second = services.cluster.primePool.take()!;
    assert.ok(!second.equals(first), 'the entry handed out before the restart is not handed out again');
    assert.equal(services.cluster.primePool.take(), undefined);
    await services.close();
  } finally {
    dir.cleanup();
  }
});

test('the prime pool stays locked with the vault and never grows past its cap', async () => {
  const dir = tempDir();
  const [a] = testPrimes();
  try {
    const services = open(dir.path);
    await services.vault.create(GOOD_PASSPHRASE, GOOD_PASSPHRASE);
    const pool = services.cluster.primePool;
    for (let k = 0; k < PRIME_POOL_CAP; k += 1) assert.ok(pool.add(a!));
    assert.equal(pool.add(a!), null, 'refused above the cap');
    assert.equal(pool.level(), PRIME_POOL_CAP);
    pool.target = 100;
    assert.equal(pool.target, PRIME_POOL_CAP);
    await services.vault.lock();
    assert.equal(pool.level(), 0, 'nothing visible while locked');
    assert.throws(() => pool.take(), 'nothing taken while locked');
    await services.close();
  } finally {
    dir.cleanup();
  }
});

test('an older copy of the data folder restored after a hand-out never hands that entry out again: the rollback discards the pool', async () => {
  const dir = tempDir();
  const [a, b] = testPrimes();
  try {
    let services = open(dir.path);
    await services.vault.create(GOOD_PASSPHRASE, GOOD_PASSPHRASE);
    services.cluster.primePool.add(a!);
    services.cluster.primePool.add(b!);
    // A copy of the running node's data folder, both entries ready (the WAL folded in first).
    services.db.pragma('wal_checkpoint(TRUNCATE)');
    const copy = join(dir.path, 'copy');
    cpSync(join(dir.path, 'data'), copy, { recursive: true });
    const used = services.cluster.primePool.take()!;
    assert.ok(used.equals(a!) || used.equals(b!));
    await services.close();

    // The data folder goes back to the copy taken while both entries were ready.
    rmSync(join(dir.path, 'data'), { recursive: true, force: true });
    cpSync(copy, join(dir.path, 'data'), { recursive: true });
    services = open(dir.path);
    await services.vault.unlock(GOOD_PASSPHRASE);
    const handedOut: Buffer[] = [];
    for (let next = services.cluster.primePool.take(); next; next = services.cluster.primePool.take()) handedOut.push(next);
    assert.ok(!handedOut.some((p) => p.equals(used)), 'the entry used before the restore is not handed out again');
    assert.equal(handedOut.length, 0, 'the restored pool is discarded whole');
    const rollback = services.audit.list({ type: 'ROLLBACK_DETECTED' }).entries;
    assert.equal(rollback.length, 1);
    assert.equal((rollback[0]!.details as { primesDiscarded?: number }).primesDiscarded, 2);
    await services.close();
  } finally {
    dir.cleanup();
  }
});
