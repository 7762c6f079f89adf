/**
 * The issuer tool (`npm run permit`): creates a key and prints its fingerprint, issues permits for
 * every supported transfer (EVM EIP-1559, legacy with chain id, ERC-20; Solana SOL and SPL) into
 * one bundle, and each permit verifies under the key with its tx hash recomputed from its payload.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, describe, it } from 'node:test';
import { Keypair } from '@solana/web3.js';
import { decodePayload } from '../../main/chains/payload';
import { issuerFingerprint, issuerPublicKeyObject, verifyPermitSignature } from '../../main/permits/issuer-keys';
import { readBundle } from '../../main/permits/permit-bundle';
import { tempDir } from '../support/temp-dir';

const run = promisify(execFile);
const permit = async (...args: string[]) => (await run(process.execPath, ['--import', 'tsx', 'main/permits/issuer-cli.ts', ...args])).stdout;

describe('npm run permit: the issuer tool', { timeout: 600_000 }, () => {
  const dir = tempDir('vk-issuer-cli-');
  after(() => dir.cleanup());

  it('keygen, fingerprint, then one bundle with every transfer type; each permit verifies and its tx hash matches its payload', async () => {
    const key = join(dir.path, 'issuer.key');
    const bundle = join(dir.path, 'bundle.json');
    const created = await permit('keygen', '--out', key);
    const publicKey = /PUBLIC_KEY ([0-9a-f]{64})/.exec(created)![1]!;
    assert.match(created, new RegExp(`FINGERPRINT ${issuerFingerprint(Buffer.from(publicKey, 'hex'))}`));
    assert.equal(statSync(key).mode & 0o777, 0o600, 'the secret key file is private');
    assert.equal(await permit('fingerprint', '--key', key), created);
    await assert.rejects(permit('keygen', '--out', key), 'an existing key file is never overwritten');

    const keysetSol = Keypair.generate().publicKey.toBase58();
    const blockhash = Keypair.generate().publicKey.toBase58();
    const to = '0x1111111111111111111111111111111111111111';
    const solTo = Keypair.generate().publicKey.toBase58();
    const issues: string[][] = [
      ['--chain', 'evm:1', '--type', 'eip1559', '--to', to, '--amount', '1.5', '--nonce', '1'],
      ['--chain', 'evm:56', '--type', 'legacy', '--to', to, '--amount', '0.25', '--nonce', '2'],
      ['--chain', 'evm:1', '--type', 'erc20', '--to', to, '--amount', '100', '--token', '0x2222222222222222222222222222222222222222', '--decimals', '6', '--nonce', '3'],
      ['--chain', 'solana:devnet', '--type', 'sol', '--to', solTo, '--amount', '2', '--from', keysetSol, '--blockhash', blockhash],
      ['--chain', 'solana:devnet', '--type', 'spl', '--to', solTo, '--amount', '5', '--from', keysetSol, '--blockhash', blockhash, '--mint', Keypair.generate().publicKey.toBase58(), '--decimals', '6'],
    ];
    for (const args of issues) assert.match(await permit('issue', '--key', key, '--keyset', 'ks-cli', '--out', bundle, ...args), /^PERMIT \S+ 0x[0-9a-f]{64}\nBUNDLE /);

    const { permits } = readBundle(bundle);
    assert.equal(permits.length, issues.length);
    assert.equal(statSync(bundle).mode & 0o777, 0o600, 'the bundle is owner-only, also after each append');
    assert.deepEqual(readdirSync(dir.path).filter((n) => n.endsWith('.partial')), [], 'no temporary file left behind');
    const issuerKey = issuerPublicKeyObject(Buffer.from(publicKey, 'hex'));
    const kinds = permits.map((p) => {
      assert.equal(p.issuerKey, publicKey);
      assert.ok(verifyPermitSignature(p, issuerKey), `${p.permit.permitId} verifies under the issuer key`);
      const tx = decodePayload(p.permit.chain, p.permit.payload);
      assert.equal(tx.txHash, p.permit.txHash, 'tx hash recomputed from the payload');
      assert.equal(p.permit.expiresAt - p.permit.issuedAt, 60_000, 'default TTL 60 s');
      return tx.kind;
    });
    assert.deepEqual(kinds, ['eip1559', 'legacy', 'erc20', 'sol', 'spl']);
    const shown = await permit('show', '--bundle', bundle);
    assert.equal(shown.trim().split('\n').length, issues.length, shown);
  });
});
