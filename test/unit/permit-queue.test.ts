/**
 * The permit queue on a real database with the real PermitAuthorizer: import (bundles refused
 * whole, bad permits refused one by one), expiry, approve / reject / bulk, re-verification right
 * before signing, the signed raw transaction, export, and recovery after a stop mid-signature.
 * The cluster is replaced by one signer that runs the node's own authorizer (commit included)
 * and signs with a local key: the 2-of-3 cluster path is in test/cluster/permit-queue-chain.test.ts.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, beforeEach, describe, it } from 'node:test';
import { ed25519 } from '@noble/curves/ed25519.js';
import { keccak256, Transaction, Wallet } from 'ethers';
import { VersionedTransaction } from '@solana/web3.js';
import { buildEvmTransfer } from '../../main/chains/build';
import { reviewTransaction } from '../../main/chains/review';
import type { SignOptions, SignOutcome } from '../../main/cluster/cluster-service';
import { signingRound, type RunningSession } from '../../main/cluster/signing-rounds';
import { AppFailure, fail } from '../../main/errors';
import { serializeBundle } from '../../main/permits/permit-bundle';
import type { SignedPermit } from '../../main/permits/permit-format';
import type { QueueKeyset } from '../../main/permits/queue/permit-checker';
import type { SigningProgressView } from '../../preload/contract';
import type { PermitQueue } from '../../main/permits/queue/permit-queue';
import { ALICE, EVM_KEYSET, MALLORY, SOL_KEYSET, USDC, evmPayload, factsFor, permitFixture, permitFor, solPayload, type PermitFixture } from '../support/permits';
import { generateIssuerKey } from '../../main/permits/issuer-keys';
import { tempDir } from '../support/temp-dir';
import { bulkSigningJob } from '../../main/jobs/bulk-signing-job';
import { JobService } from '../../main/jobs/job-service';
import type { LockReason, VaultService } from '../../main/vault/vault-service';

const wallet = Wallet.createRandom();

/** Stands in for the cluster: the node's own authorizer decides and commits, a local key signs. */
class LocalSigner {
  calls = 0;
  /** When set, the signer stops after the authorizer committed and never returns (a stop mid-signature). */
  hang = false;
  /** Runs while a signature is being made (a slow quorum). */
  during: (() => void) | null = null;
  /** What this node's engine reports for the session being signed, while `during` runs. */
  engine: Omit<RunningSession, 'sessionId'> | null = null;
  private current: string | null = null;
  constructor(private readonly f: PermitFixture) {}

  keyset(keysetId: string): QueueKeyset | null {
    if (keysetId === EVM_KEYSET) return { keysetId, scheme: 'ecdsa', address: wallet.address, publicKey: wallet.signingKey.compressedPublicKey.slice(2), lab: false, status: 'active' };
    if (keysetId === SOL_KEYSET) return { keysetId, scheme: 'eddsa', address: this.f.solana.address, publicKey: Buffer.from(this.f.solana.keyset.publicKey.toBytes()).toString('hex'), lab: false, status: 'active' };
    return null;
  }

  runningSessions(): RunningSession[] {
    return this.current && this.engine ? [{ sessionId: this.current, ...this.engine }] : [];
  }

  async signWithPermit(keysetId: string, permit: unknown, message: Buffer, _options?: SignOptions): Promise<SignOutcome> {
    this.calls += 1;
    const signed = permit as SignedPermit;
    const evm = keysetId === EVM_KEYSET;
    const sessionId = `session-${this.calls}-${signed.permit.permitId}`;
    const decision = this.f.authorizer.authorize({ ...factsFor(this.f, signed, { keysetAddress: this.keyset(keysetId)!.address, requestedHere: true }), sessionId, message });
    if (!decision.ok) fail('SIGN_REFUSED', decision.message);
    decision.commit();
    this.current = sessionId;
    this.during?.();
    this.current = null;
    let signature: string;
    let recoveryId: number | null = null;
    if (evm) {
      const sig = wallet.signingKey.sign(keccak256(message));
      signature = sig.r.slice(2) + sig.s.slice(2);
      recoveryId = sig.yParity;
    } else {
      signature = Buffer.from(ed25519.sign(message, this.f.solana.keyset.secretKey.subarray(0, 32))).toString('hex');
    }
    // What this node's engine records for a completed session (the recovery source).
    this.f.db.prepare(`INSERT INTO mpc_sessions (session_id, protocol, keyset_id, requester, parties, state, result, started_at) VALUES (?, ?, ?, 'me', '[]', 'completed', ?, ?)`).run(sessionId, evm ? 'ecdsa-sign' : 'eddsa-sign', keysetId, JSON.stringify({ signature, recoveryId }), new Date().toISOString());
    if (this.hang) return new Promise<SignOutcome>(() => undefined);
    return { signature, recoveryId, parties: ['me', 'peer'], sessionId, attempts: 1, mode: 'full', presignatureId: null, message: message.toString('hex'), digest: null, permitId: signed.permit.permitId, note: null };
  }
}

const code = (fn: () => unknown): string => {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof AppFailure, String(e));
    return e.code;
  }
  assert.fail('expected a refusal');
};

describe('permit queue', () => {
  let f: PermitFixture;
  let signer: LocalSigner;
  let queue: PermitQueue;
  const out = tempDir('vk-queue-out-');
  const bundleDir = tempDir('vk-queue-in-');
  let n = 0;

  const writeBundle = (permits: SignedPermit[], name = `bundle-${(n += 1)}.json`): string => {
    const path = join(bundleDir.path, name);
    writeFileSync(path, serializeBundle(permits));
    return path;
  };
  const ethPermit = (eth: bigint, nonce: number, extra: Parameters<typeof permitFor>[2] = {}) => permitFor(f, evmPayload({ amount: eth * 10n ** 18n, nonce }), extra);

  beforeEach(() => {
    f?.cleanup();
    f = permitFixture();
    signer = new LocalSigner(f);
    queue = f.queue(signer);
  });
  after(() => {
    f?.cleanup();
    out.cleanup();
    bundleDir.cleanup();
  });

  it('imports the good permits of a bundle and lists each bad one with its reason', () => {
    const good = [ethPermit(1n, 0), permitFor(f, solPayload(f))];
    const expired = permitFor(f, evmPayload({ nonce: 1 }), { issuedAt: f.clock.now() - 120_000 });
    const forged = generateIssuerKey();
    const unknownIssuer = permitFor(f, evmPayload({ nonce: 2 }), {}, forged);
    const tampered = ethPermit(1n, 3);
    tampered.permit.txHash = `0x${'ab'.repeat(32)}`;
    const notAllowed = permitFor(f, evmPayload({ nonce: 4, to: MALLORY }));
    const overMax = ethPermit(11n, 5);
    const report = queue.importFrom({ from: 'file', path: writeBundle([...good, expired, unknownIssuer, tampered, notAllowed, overMax]) });
    assert.deepEqual(report.importedIds.sort(), good.map((p) => p.permit.permitId).sort());
    assert.deepEqual(report.refusedBundles, []);
    const byId = new Map(report.refusedPermits.map((r) => [r.permitId, r]));
    assert.equal(byId.get(expired.permit.permitId)?.code, 'PERMIT_EXPIRED');
    assert.match(byId.get(expired.permit.permitId)!.message, /expired 1 min ago/);
    assert.equal(byId.get(unknownIssuer.permit.permitId)?.code, 'PERMIT_ISSUER_UNKNOWN');
    assert.equal(byId.get(tampered.permit.permitId)?.code, 'PERMIT_SIGNATURE_INVALID');
    assert.equal(byId.get(notAllowed.permit.permitId)?.code, 'POLICY_DESTINATION_NOT_ALLOWED');
    assert.equal(byId.get(overMax.permit.permitId)?.code, 'POLICY_PER_TX_MAX');
    const overview = queue.overview();
    assert.equal(overview.counts.pending, 2);
    assert.deepEqual(overview.totals.map((t) => `${t.amount} ${t.symbol}`).sort(), ['1 ETH', '2 SOL']);
    // The same permit, or the same transaction under another id, does not enter twice.
    const again = queue.importFrom({ from: 'paste', text: serializeBundle([good[0]!, { ...ethPermit(1n, 0) }]) });
    assert.equal(again.imported, 0);
    assert.deepEqual(again.refusedPermits.map((r) => r.code), ['QUEUE_DUPLICATE', 'QUEUE_DUPLICATE']);
  });

  it('refuses bad bundles whole (malformed, duplicate ids, unknown version, oversize) and reads every bundle of a folder', () => {
    const folder = join(bundleDir.path, `folder-${(n += 1)}`);
    mkdirSync(folder);
    const p = ethPermit(1n, 0);
    writeFileSync(join(folder, 'a-good.json'), serializeBundle([p]));
    writeFileSync(join(folder, 'b-malformed.json'), '{"format": "vaultkeeper/permit-bundle", "version": 1, "permits": [');
    writeFileSync(join(folder, 'c-duplicate.json'), serializeBundle([ethPermit(1n, 1), ethPermit(1n, 1)].map((x, i, all) => ({ ...x, permit: all[0]!.permit, signature: all[0]!.signature }))));
    writeFileSync(join(folder, 'd-version.json'), JSON.stringify({ format: 'vaultkeeper/permit-bundle', version: 2, permits: [ethPermit(1n, 2)] }));
    writeFileSync(join(folder, 'e-oversize.json'), JSON.stringify({ format: 'vaultkeeper/permit-bundle', version: 1, permits: new Array(20_001).fill(0) }));
    writeFileSync(join(folder, 'ignored.txt'), 'not a bundle');
    const report = queue.importFrom({ from: 'folder', path: folder });
    assert.deepEqual(report.importedIds, [p.permit.permitId]);
    assert.deepEqual(report.refusedBundles.map((r) => [r.source, r.code]), [
      ['b-malformed.json', 'PERMIT_BUNDLE_MALFORMED'],
      ['c-duplicate.json', 'PERMIT_BUNDLE_MALFORMED'],
      ['d-version.json', 'PERMIT_BUNDLE_MALFORMED'],
      ['e-oversize.json', 'PERMIT_BUNDLE_TOO_LARGE'],
    ]);
    assert.match(report.refusedBundles[1]!.message, /appears twice/);
    // A refused bundle leaves nothing in the queue, not even its good permits.
    assert.equal(queue.overview().items.length, 1);
  });

  it('expired permits move out by themselves, with when', () => {
    const p = ethPermit(1n, 0);
    queue.importFrom({ from: 'file', path: writeBundle([p]) });
    f.clock.advance(61_000);
    const item = queue.overview().items[0]!;
    assert.equal(item.state, 'expired');
    assert.match(item.reason!, /Expired 1 s ago/);
    assert.equal(code(() => queue.approve(p.permit.permitId)), 'QUEUE_WRONG_STATE');
    assert.ok(f.audit.list().entries.some((e) => e.type === 'PERMIT_QUEUE_EXPIRED' && e.subject === p.permit.permitId));
  });

  it('approve, reject with a reason, bulk approval with totals per asset and destination', () => {
    const [a, b, c] = [ethPermit(1n, 0), ethPermit(2n, 1), permitFor(f, buildEvmTransfer({ type: 'erc20', chainId: 1, nonce: 2, to: ALICE, amount: 1_500_000_000n, token: USDC }))];
    queue.importFrom({ from: 'file', path: writeBundle([a, b, c]) });
    const rejected = queue.reject(a.permit.permitId, 'customer cancelled the withdrawal');
    assert.equal(rejected.state, 'rejected');
    assert.equal(rejected.reason, 'Rejected by operator: customer cancelled the withdrawal');
    assert.equal(code(() => queue.approve(a.permit.permitId)), 'QUEUE_WRONG_STATE');
    const summary = queue.bulkSummary([a.permit.permitId, b.permit.permitId, c.permit.permitId]);
    assert.equal(summary.count, 2);
    assert.deepEqual(summary.excluded.map((e) => e.permitId), [a.permit.permitId]);
    assert.deepEqual(summary.perAsset.map((t) => `${t.amount} ${t.symbol}`).sort(), ['1,500 USDC', '2 ETH']);
    assert.deepEqual(summary.perDestination.map((t) => `${t.amount} ${t.symbol} → ${t.destination}`).sort(), [`1,500 USDC → ${ALICE}`, `2 ETH → ${ALICE}`]);
    queue.bulkApprove(summary.permitIds);
    assert.deepEqual(queue.overview().items.filter((i) => i.state === 'approved').map((i) => i.permitId).sort(), [b.permit.permitId, c.permit.permitId].sort());
    // Rejected after approval: this node no longer co-signs it, whoever asks.
    assert.equal(f.authorizer.authorize(factsFor(f, b)).ok, true);
    queue.reject(b.permit.permitId, 'beneficiary changed bank details');
    const refused = f.authorizer.authorize(factsFor(f, b));
    assert.equal(refused.ok ? 'ok' : refused.code, 'SIGNING_NOT_APPROVED_HERE');
    assert.deepEqual(queue.overview().items.filter((i) => i.state === 'approved').map((i) => i.permitId), [c.permit.permitId]);
    assert.ok(!f.permits.approvals().some((x) => x.permitId === b.permit.permitId));
    assert.ok(f.permits.approvals().some((x) => x.permitId === c.permit.permitId));
  });

  it('signs an approved EVM permit into a raw EIP-1559 transaction from the keyset, exports it and marks it exported', async () => {
    const p = ethPermit(1n, 7);
    queue.importFrom({ from: 'file', path: writeBundle([p]) });
    assert.equal(code(() => queue.startSigning([p.permit.permitId])), 'QUEUE_WRONG_STATE');
    queue.approve(p.permit.permitId);
    await queue.startSigning([p.permit.permitId]).done;
    const item = queue.item(p.permit.permitId);
    assert.equal(item.state, 'signed', item.reason ?? '');
    assert.equal(item.progress?.phase, 'done');
    const result = queue.signedResult(p.permit.permitId);
    const tx = Transaction.from(result.signedTx);
    assert.equal(tx.from, wallet.address);
    assert.equal(tx.hash, result.signedTxHash);
    assert.equal(tx.unsignedSerialized, p.permit.payload);
    assert.ok(result.qr.length >= 21);
    // A folder that is not there: refused with a reason, and the permit stays signed (not exported).
    assert.equal(code(() => queue.export([p.permit.permitId], join(out.path, 'missing-medium'), false)), 'FILE_WRITE_FAILED');
    assert.equal(queue.item(p.permit.permitId).state, 'signed');
    const exported = queue.export([p.permit.permitId], out.path, false);
    assert.equal(exported.items[0]!.state, 'exported');
    const file = JSON.parse(readFileSync(exported.files[0]!, 'utf8')) as { format: string; version: number; results: Array<{ permitId: string; signedTransaction: string; transactionHash: string; encoding: string }> };
    assert.equal(file.format, 'vaultkeeper/signed-transactions');
    assert.deepEqual(file.results.map((r) => [r.permitId, r.signedTransaction, r.transactionHash, r.encoding]), [[p.permit.permitId, result.signedTx, result.signedTxHash, 'hex']]);
    // A signed permit can no longer be rejected (the online side may already broadcast it), nor sent to the cluster again.
    assert.equal(code(() => queue.reject(p.permit.permitId, 'changed my mind')), 'QUEUE_WRONG_STATE');
    assert.equal(code(() => queue.startSigning([p.permit.permitId])), 'QUEUE_WRONG_STATE');
    assert.equal(signer.calls, 1);
  });

  it('signs a Solana transfer into a wire transaction whose signature verifies', async () => {
    const p = permitFor(f, solPayload(f));
    queue.importFrom({ from: 'paste', text: serializeBundle([p]) });
    queue.approve(p.permit.permitId);
    await queue.startSigning([p.permit.permitId]).done;
    const result = queue.signedResult(p.permit.permitId);
    const tx = VersionedTransaction.deserialize(Buffer.from(result.signedTx, 'base64'));
    assert.ok(ed25519.verify(tx.signatures[0]!, tx.message.serialize(), f.solana.keyset.publicKey.toBytes()));
    assert.equal(Buffer.from(tx.message.serialize()).toString('base64'), p.permit.payload);
  });

  it('re-verifies right before signing: expired while waiting its turn, kill switch on — nothing more reaches the cluster', async () => {
    const [first, late, frozen] = [ethPermit(1n, 0), ethPermit(1n, 1), ethPermit(1n, 2)];
    queue.importFrom({ from: 'file', path: writeBundle([first, late, frozen]) });
    for (const p of [first, late, frozen]) queue.approve(p.permit.permitId);
    // The first signing takes longer than the second permit has left.
    signer.during = () => f.clock.advance(61_000);
    await queue.startSigning([first.permit.permitId, late.permit.permitId]).done;
    assert.equal(signer.calls, 1);
    assert.equal(queue.item(first.permit.permitId).state, 'signed');
    assert.equal(queue.item(late.permit.permitId).state, 'expired');
    assert.match(queue.item(late.permit.permitId).progress!.detail, /expired 1 s ago/);
    signer.during = null;
    const fresh = ethPermit(1n, 3);
    queue.importFrom({ from: 'file', path: writeBundle([fresh]) });
    queue.approve(fresh.permit.permitId);
    f.policy.engageKillSwitch('incident drill');
    await queue.startSigning([fresh.permit.permitId]).done;
    assert.equal(signer.calls, 1);
    assert.equal(queue.item(fresh.permit.permitId).state, 'approved');
    assert.match(queue.item(fresh.permit.permitId).progress!.detail, /kill switch is on/);
    void frozen;
  });

  it('a large withdrawal signs only after the guardians approved exactly that permit', async () => {
    const large = ethPermit(6n, 0);
    queue.importFrom({ from: 'file', path: writeBundle([large]) });
    const review = queue.review(large.permit.permitId);
    assert.equal(review.checks.find((c) => c.id === 'guardians')?.status, 'fail');
    assert.match(review.item.guardianReasons[0]!, /6 ETH is above the guardian threshold of 5 ETH/);
    queue.approve(large.permit.permitId);
    await queue.startSigning([large.permit.permitId]).done;
    assert.equal(signer.calls, 0);
    assert.match(queue.item(large.permit.permitId).progress!.detail, /guardians' approval/);
    const parameters = queue.guardianParameters(large.permit.permitId);
    const requestId = f.guard.grant('withdrawal.large', large.permit.permitId, parameters);
    assert.equal(queue.recordGuardianApproval(large.permit.permitId, requestId).guardianApproved, true);
    await queue.startSigning([large.permit.permitId]).done;
    assert.equal(queue.item(large.permit.permitId).state, 'signed');
  });

  it('the review reads the transaction in words, with each check and the daily-cap headroom', () => {
    const token = permitFor(f, buildEvmTransfer({ type: 'erc20', chainId: 1, nonce: 3, to: ALICE, amount: 2_500_000n, token: USDC }));
    queue.importFrom({ from: 'file', path: writeBundle([token]) });
    const r = queue.review(token.permit.permitId);
    assert.equal(r.transaction.chain, 'Ethereum mainnet (EVM chain id 1)');
    assert.match(r.transaction.from, new RegExp(`keyset ${EVM_KEYSET} \\(${wallet.address}\\)`));
    assert.deepEqual(r.transaction.transfers.map((t) => [t.amount, t.symbol, t.destination, t.allowlistLabel]), [['2.5', 'USDC', ALICE, `on the allowlist of keyset ${EVM_KEYSET}`]]);
    assert.match(r.transaction.data, /^ERC-20 transfer of 2.5 USDC \(token contract 0x/);
    assert.equal(r.transaction.nonce, '3');
    assert.match(r.transaction.feeCap!, /^0.00195 ETH at most \(gas limit 65000, max 30.0 gwei\/gas/);
    assert.deepEqual(r.headroom, [{ symbol: 'USDC', dailyCap: '50,000', usedBefore: '0', usedAfter: '2.5', leftAfter: '49,997.5' }]);
    assert.deepEqual(r.checks.map((c) => `${c.id}:${c.status}`), ['format:pass', 'issuer:pass', 'time:pass', 'keyset:pass', 'payload:pass', 'controls:pass', 'single-use:pass', 'kill-switch:pass', 'policy:pass', 'guardians:pass', 'approval:fail']);
    assert.deepEqual(r.upstream.approvedBy, ['approver-1', 'approver-2']);
    // Calldata nobody can read is named by its selector and size, with a warning.
    const unknown = Transaction.from({ type: 2, chainId: 1, nonce: 0, to: USDC, value: 0n, data: '0xa9059cbb00', gasLimit: 60_000n, maxFeePerGas: 1n, maxPriorityFeePerGas: 1n });
    const words = reviewTransaction({ kind: 'evm', chainId: 1 }, unknown.unsignedSerialized, { keysetId: EVM_KEYSET, keysetAddress: wallet.address, policy: null });
    assert.equal(words.data, 'contract call, 4-byte selector 0xa9059cbb, 5 bytes');
    assert.match(words.warnings[0]!, /cannot read/);
    const sol = reviewTransaction({ kind: 'solana', cluster: 'devnet' }, solPayload(f, 1_500_000_000n), { keysetId: SOL_KEYSET, keysetAddress: f.solana.address, policy: null });
    assert.match(sol.instructions[0]!, new RegExp(`^System transfer: 1.5 SOL from ${f.solana.address} to ${f.solana.recipient}`));
  });

  it('shows each permit waiting for peers, then round k of n from this node\'s engine, then done', async () => {
    const p = ethPermit(1n, 7);
    queue.importFrom({ from: 'file', path: writeBundle([p]) });
    queue.approve(p.permit.permitId);
    const seen: Array<SigningProgressView | null> = [];
    signer.during = () => {
      signer.engine = { protocol: 'ecdsa-sign', step: 0, total: 0, parties: 2, started: false };
      seen.push(queue.item(p.permit.permitId).progress);
      // ECDSA signing expects one message per other party in each of 4 rounds: 3 received = round 4.
      signer.engine = { protocol: 'ecdsa-sign', step: 3, total: 4, parties: 2, started: true };
      seen.push(queue.item(p.permit.permitId).progress);
    };
    const started = queue.startSigning([p.permit.permitId]);
    assert.equal(started.items[0]!.progress?.phase, 'waiting-for-peers');
    await started.done;
    assert.deepEqual(seen.map((x) => [x?.phase, x?.round, x?.rounds]), [['waiting-for-peers', null, null], ['signing', 4, 4]]);
    assert.match(seen[0]!.detail, /waits for the other 1 node of the quorum/);
    assert.equal(queue.item(p.permit.permitId).progress?.phase, 'done');
    // The engine's counts as rounds: FROST's two, presigned ECDSA's one, ECDSA with three parties.
    assert.deepEqual(signingRound({ sessionId: 's', protocol: 'eddsa-sign', step: 1, total: 2, parties: 2, started: true }), { round: 2, rounds: 2 });
    assert.deepEqual(signingRound({ sessionId: 's', protocol: 'ecdsa-sign-presigned', step: 0, total: 0, parties: 2, started: true }), { round: 1, rounds: 1 });
    assert.deepEqual(signingRound({ sessionId: 's', protocol: 'ecdsa-sign', step: 2, total: 8, parties: 3, started: true }), { round: 2, rounds: 4 });
  });

  it('after a stop mid-signature: the signature this node recorded is recovered and exportable, otherwise the permit fails with a reason — never signed twice', async () => {
    const [kept, lost] = [ethPermit(1n, 0), ethPermit(1n, 1)];
    queue.importFrom({ from: 'file', path: writeBundle([kept, lost]) });
    queue.approve(kept.permit.permitId);
    queue.approve(lost.permit.permitId);
    signer.hang = true;
    void queue.startSigning([kept.permit.permitId]);
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(queue.item(kept.permit.permitId).state, 'signing');
    assert.equal(queue.item(kept.permit.permitId).progress?.phase, 'signing');
    // The other one stopped before its session: in 'signing' with nothing recorded.
    f.db.prepare(`UPDATE permit_queue SET state = 'signing' WHERE permit_id = ?`).run(lost.permit.permitId);
    // A third one whose recorded session result is not a valid signature of it (a damaged or planted row).
    const planted = ethPermit(1n, 2);
    queue.importFrom({ from: 'file', path: writeBundle([planted]) });
    f.db.prepare(`UPDATE permit_queue SET state = 'signing' WHERE permit_id = ?`).run(planted.permit.permitId);
    f.db.prepare('INSERT INTO permits_spent (permit_id, tx_hash, keyset_id, session_id, issuer_fingerprint, spent_at) VALUES (?, ?, ?, ?, ?, ?)').run(planted.permit.permitId, planted.permit.txHash, EVM_KEYSET, 'planted-session', 'x', f.clock.now());
    const other = wallet.signingKey.sign(keccak256('0x1234'));
    f.db.prepare(`INSERT INTO mpc_sessions (session_id, protocol, keyset_id, requester, parties, state, result, started_at) VALUES ('planted-session', 'ecdsa-sign', ?, 'me', '[]', 'completed', ?, ?)`).run(EVM_KEYSET, JSON.stringify({ signature: other.r.slice(2) + other.s.slice(2), recoveryId: other.yParity }), new Date().toISOString());
    // Restart on the same database.
    f = f.reopen();
    signer = new LocalSigner(f);
    queue = f.queue(signer);
    const settled = queue.recover();
    assert.deepEqual({ recovered: settled.recovered, failed: [...settled.failed].sort() }, { recovered: [kept.permit.permitId], failed: [lost.permit.permitId, planted.permit.permitId].sort() });
    assert.match(queue.item(planted.permit.permitId).reason!, /no complete, valid signature was recorded/);
    assert.equal(signer.calls, 0);
    const recovered = queue.signedResult(kept.permit.permitId);
    assert.equal(Transaction.from(recovered.signedTx).from, wallet.address);
    assert.equal(queue.export([kept.permit.permitId], out.path, true).items[0]!.state, 'exported');
    const failed = queue.item(lost.permit.permitId);
    assert.equal(failed.state, 'failed');
    assert.match(failed.reason!, /stopped before permit .* reached the signing session/);
    // Neither can be signed again, and the node itself refuses the spent permit.
    assert.equal(code(() => queue.startSigning([kept.permit.permitId])), 'QUEUE_WRONG_STATE');
    assert.equal(code(() => queue.startSigning([lost.permit.permitId])), 'QUEUE_WRONG_STATE');
    const again = f.authorizer.authorize(factsFor(f, kept));
    assert.equal(again.ok ? 'ok' : again.code, 'PERMIT_ALREADY_USED');
  });

  /** Jobs on the fixture's database; `lock()` is the vault's lock as the job service hears it. */
  const jobsOn = (fx: PermitFixture) => {
    let onLock: (reason: LockReason) => void = () => undefined;
    const vault = { keyRing: () => ({}), onLock: (listener: (reason: LockReason) => void) => ((onLock = listener), () => undefined) } as unknown as VaultService;
    return { jobs: new JobService({ clock: fx.clock, audit: fx.audit, vault, db: fx.db }), lock: () => onLock('operator') };
  };
  const approvedPermits = (count: number) => {
    const permits = Array.from({ length: count }, (_, i) => ethPermit(1n, 20 + i));
    queue.importFrom({ from: 'file', path: writeBundle(permits) });
    for (const p of permits) queue.approve(p.permit.permitId);
    return permits.map((p) => p.permit.permitId);
  };

  it('bulk signing as a job: permit k of n, one at a time; cancel stops after the permit being signed, the rest stay approved', async () => {
    const { jobs } = jobsOn(f);
    const ids = approvedPermits(3);
    // A selection with a permit that is not approved is refused before any job starts.
    const pending = ethPermit(1n, 30);
    queue.importFrom({ from: 'file', path: writeBundle([pending]) });
    assert.equal(code(() => jobs.start(bulkSigningJob(queue, [...ids, pending.permit.permitId]))), 'QUEUE_WRONG_STATE');
    assert.equal(jobs.list().length, 0);
    const phases: string[] = [];
    let jobId = '';
    signer.during = () => {
      const view = jobs.list().find((j) => j.id === jobId)!;
      phases.push(`${view.phase} ${view.percent}%`);
      if (phases.length === 1) {
        // While one runs a second bulk signing is refused, and permits behind the current one show as queued.
        assert.equal(code(() => jobs.start(bulkSigningJob(queue, [ids[2]!]))), 'JOB_CONFLICT');
        assert.match(queue.item(ids[2]!).progress!.detail, /Queued: 2 permits ahead/);
      }
      if (phases.length === 2) jobs.cancel(jobId);
    };
    jobId = jobs.start(bulkSigningJob(queue, ids)).id;
    await jobs.settled();
    assert.deepEqual(phases, [`Signing permit 1 of 3 (${ids[0]}) with the quorum 0%`, `Signing permit 2 of 3 (${ids[1]}) with the quorum 33%`]);
    // The permit being signed when the cancel came finished; the one after never started.
    assert.deepEqual(ids.map((id) => queue.item(id).state), ['signed', 'signed', 'approved']);
    assert.equal(queue.item(ids[2]!).progress, null);
    assert.equal(signer.calls, 2);
    const ended = jobs.list().find((j) => j.id === jobId)!;
    assert.equal(ended.state, 'cancelled');
    assert.match(ended.error!.message, /The bulk signing was cancelled: cancelled by the operator .*the step under way finishes first/);
    assert.equal(ended.result?.summary, '2 of 3 permits signed; 1 not started (still approved)');
    assert.equal(f.audit.list({ type: 'JOB_CANCELLED' }).entries[0]!.subject, jobId);
  });

  it('locking the vault during bulk signing ends the job "vault locked during bulk signing", audited; no further permit starts', async () => {
    const { jobs, lock } = jobsOn(f);
    const ids = approvedPermits(2);
    signer.during = () => lock();
    const { id } = jobs.start(bulkSigningJob(queue, ids));
    await jobs.settled();
    const ended = jobs.list().find((j) => j.id === id)!;
    assert.equal(ended.state, 'failed');
    assert.equal(ended.error?.code, 'VAULT_LOCKED');
    assert.match(ended.error!.message, /^The bulk signing failed: vault locked during bulk signing/);
    assert.deepEqual(ids.map((p) => queue.item(p).state), ['signed', 'approved']);
    assert.equal(ended.result?.summary, '1 of 2 permits signed; 1 not started (still approved)');
    const audited = f.audit.list({ type: 'JOB_CANCELLED' }).entries[0]!;
    assert.equal(audited.subject, id);
    assert.equal((audited.details as { reason: string }).reason, 'vault locked during bulk signing');
  });

  it('a console stopped during bulk signing: after the restart the job is interrupted and the permit mid-signature is settled, never signed twice', async () => {
    const { jobs } = jobsOn(f);
    const ids = approvedPermits(2);
    signer.hang = true;
    const { id } = jobs.start(bulkSigningJob(queue, ids));
    for (let i = 0; i < 500 && queue.item(ids[0]!).state !== 'signing'; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(queue.item(ids[0]!).state, 'signing');
    f = f.reopen();
    signer = new LocalSigner(f);
    queue = f.queue(signer);
    const after = jobsOn(f).jobs;
    const interrupted = after.list().find((j) => j.id === id)!;
    assert.equal(interrupted.state, 'failed');
    assert.equal(interrupted.error?.code, 'JOB_INTERRUPTED');
    assert.match(interrupted.error!.message, /interrupted: the console stopped during bulk signing/);
    assert.equal(f.audit.list({ type: 'JOB_INTERRUPTED' }).entries[0]!.subject, id);
    assert.deepEqual(queue.recover(), { recovered: [ids[0]], failed: [] });
    assert.deepEqual(ids.map((p) => queue.item(p).state), ['signed', 'approved']);
    assert.equal(signer.calls, 0);
  });
});
