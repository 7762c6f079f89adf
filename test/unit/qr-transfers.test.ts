/**
 * The animated QR channels on real services: what arrives by QR goes through the same import
 * and verification as a file (the same refusals), a refused frame closes the reading, a frame
 * larger than any QR code is refused at the IPC boundary, a signature with no request of this
 * console is refused, and a malformed round bundle read by QR leaves nothing in the folder.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Keypair } from '@solana/web3.js';
import { buildSolanaTransfer } from '../../main/chains/build';
import { issuePermit } from '../../main/permits/issue-permit';
import { generateIssuerKey } from '../../main/permits/issuer-keys';
import { serializeBundle } from '../../main/permits/permit-bundle';
import { animatedUr, bytesUr } from '../../main/qr/animated-ur';
import { UR_TYPES } from '../../main/qr/qr-transfers';
import type { QrReceiveView, Result } from '../../preload/contract';
import { GOOD_PASSPHRASE, testServices, TRUSTED } from '../support/services';
import { tempDir } from '../support/temp-dir';

describe('animated QR channels', () => {
  let s: ReturnType<typeof testServices>;
  const files = tempDir('vk-qr-unit-');
  const dispatch = (channel: string, payload: unknown) => s.router.dispatch(channel, payload, TRUSTED) as Promise<Result<unknown>>;

  before(async () => {
    s = testServices();
    await s.vault.create(GOOD_PASSPHRASE, GOOD_PASSPHRASE);
  });
  after(async () => {
    await s.cleanup();
    files.cleanup();
  });

  /** Starts a reading and feeds it `parts`; the last answer (done, or the refusal). */
  const receive = async (start: unknown, parts: string[]): Promise<{ last: Result<unknown>; receiveId: string }> => {
    const started = await dispatch('qr.receiveStart', start);
    assert.ok(started.ok, JSON.stringify(started));
    const receiveId = (started.value as { receiveId: string }).receiveId;
    let last: Result<unknown> = started;
    for (const part of parts) {
      last = await dispatch('qr.receivePart', { receiveId, part });
      if (!last.ok || (last.value as QrReceiveView).state === 'done') break;
    }
    return { last, receiveId };
  };

  const issuer = generateIssuerKey();
  const payer = Keypair.generate().publicKey.toBase58();
  const permitBundle = () => {
    const payload = buildSolanaTransfer({ type: 'sol', from: payer, to: Keypair.generate().publicKey.toBase58(), amount: 1_000_000_000n, recentBlockhash: '11111111111111111111111111111111' } as never);
    return serializeBundle([issuePermit({ keysetId: 'ks-not-here', chain: { kind: 'solana', cluster: 'devnet' }, payload, issuedAt: s.clock.now(), ttlSeconds: 600 }, issuer.secretKey)]);
  };

  it('a bundle read by QR meets the same verification as the same bundle from a file', async () => {
    const text = permitBundle();
    const bytes = Buffer.from(text);
    const { last } = await receive({ kind: 'permit-bundle' }, animatedUr(bytesUr(UR_TYPES.permitBundle, bytes), bytes, 200).parts);
    assert.ok(last.ok, JSON.stringify(last));
    const done = last.value as Extract<QrReceiveView, { state: 'done' }>;
    assert.equal(done.state, 'done');
    assert.equal(done.payloadBytes, bytes.length);
    assert.ok(done.outcome.kind === 'permit-bundle');
    const byQr = done.outcome.report;
    const path = join(files.path, 'same.json');
    writeFileSync(path, text);
    const byFile = s.permitQueue.importFrom({ from: 'file', path });
    assert.equal(byQr.imported, 0);
    assert.deepEqual(byQr.refusedPermits.map((r) => [r.permitId, r.code]), byFile.refusedPermits.map((r) => [r.permitId, r.code]));
    assert.equal(byQr.refusedPermits[0]?.code, 'QUEUE_KEYSET_UNKNOWN');
    const audit = s.audit.list({}).entries.find((e) => e.type === 'QR_PAYLOAD_RECEIVED');
    assert.ok(audit, 'the reading is in the audit log');
  });

  it('a payload that is not a bundle is refused whole by the bundle parser, as a file would be', async () => {
    const bytes = Buffer.from('{"format":"something else"}');
    const { last } = await receive({ kind: 'permit-bundle' }, animatedUr(bytesUr(UR_TYPES.permitBundle, bytes), bytes, 200).parts);
    assert.ok(last.ok);
    const done = last.value as Extract<QrReceiveView, { state: 'done' }>;
    assert.ok(done.outcome.kind === 'permit-bundle');
    assert.equal(done.outcome.report.refusedBundles[0]?.code, 'PERMIT_BUNDLE_MALFORMED');
  });

  it('a frame of the wrong type ends the reading: the next frame finds it closed', async () => {
    const approval = Buffer.from('{"format":"vaultkeeper.approval/1"}'.repeat(20));
    const parts = animatedUr(bytesUr(UR_TYPES.approval, approval), approval, 200).parts;
    const { last, receiveId } = await receive({ kind: 'permit-bundle' }, parts);
    assert.ok(!last.ok && last.error.code === 'QR_UR_WRONG_TYPE', JSON.stringify(last));
    const after = await dispatch('qr.receivePart', { receiveId, part: parts[1]! });
    assert.ok(!after.ok && after.error.code === 'QR_RECEIVE_UNKNOWN', JSON.stringify(after));
  });

  it('an approval file read by QR goes to the guardian approval import and its checks', async () => {
    const bytes = Buffer.from('{"format":"vaultkeeper.approval/1","message":{},"signature":"0x00"}');
    const { last } = await receive({ kind: 'approval' }, animatedUr(bytesUr(UR_TYPES.approval, bytes), bytes, 200).parts);
    assert.ok(!last.ok, 'refused');
    assert.notEqual(last.error.code, 'INTERNAL', last.error.message);
    assert.ok(!last.error.code.startsWith('QR_'), `refused by the approval import, not the transport: ${last.error.code}`);
  });

  it('refuses at the IPC boundary a frame longer than any QR code and a fragment size out of range', async () => {
    const started = await dispatch('qr.receiveStart', { kind: 'permit-bundle' });
    assert.ok(started.ok);
    const long = await dispatch('qr.receivePart', { receiveId: (started.value as { receiveId: string }).receiveId, part: `UR:VK-PERMIT-BUNDLE/${'A'.repeat(5000)}` });
    assert.ok(!long.ok && long.error.code === 'VALIDATION_FAILED');
    const frames = await dispatch('qr.frames', { payload: { kind: 'permit-bundle-file', path: '/nonexistent.json' }, fragmentBytes: 5000 });
    assert.ok(!frames.ok && frames.error.code === 'VALIDATION_FAILED');
  });

  it('a signature is refused when this console showed no signing request', async () => {
    const { ETHSignature } = await import('@keystonehq/bc-ur-registry-eth');
    const ur = new ETHSignature(Buffer.alloc(65, 1), Buffer.alloc(16, 2)).toUR();
    const { last } = await receive({ kind: 'sign-result' }, animatedUr(ur as never, ur.cbor, 200).parts);
    assert.ok(!last.ok && last.error.code === 'QR_SIGN_REQUEST_MISMATCH', JSON.stringify(last));
  });

  it('a malformed round bundle read by QR is refused and leaves nothing in the folder', async () => {
    const folder = join(files.path, 'inbox');
    mkdirSync(folder);
    const bytes = Buffer.from('{"format":"vaultkeeper-bundle","header":{}}');
    const { last } = await receive({ kind: 'mpc-bundle', folder }, animatedUr(bytesUr(UR_TYPES.mpcBundle, bytes), bytes, 200).parts);
    assert.ok(!last.ok && last.error.code === 'BUNDLE_MALFORMED', JSON.stringify(last));
    assert.deepEqual(readdirSync(folder), []);
  });
});
