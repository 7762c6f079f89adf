/**
 * Acceptance of the permit queue by real chains: the issuer tool (`npm run permit -- issue`)
 * writes a bundle; the console imports it, a person approves each permit, the 2-of-3 cluster
 * signs (every node verifying the permit itself; the two peers are headless under an execution
 * authorization), and the signed results are broadcast: the EIP-1559 transfer and the ERC-20
 * transfer to anvil (mined, balances change), the SOL and SPL transfers to litesvm.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { concat, getAddress, keccak256, toBeHex, zeroPadValue } from 'ethers';
import { Keypair, PublicKey, VersionedTransaction } from '@solana/web3.js';
import { ACCOUNT_SIZE, AccountLayout, MINT_SIZE, MintLayout, TOKEN_PROGRAM_ID, getAssociatedTokenAddressSync } from '@solana/spl-token';
import { FailedTransactionMetadata, LiteSVM } from 'litesvm';
import type { Coordinator } from '../../main/coordinator/server';
import type { KeysetRecord } from '../../main/cluster/cluster-service';
import type { KeysetPolicy } from '../../preload/contract';
import { anvilAvailable, startAnvil, type Anvil } from '../support/anvil';
import { tempDir } from '../support/temp-dir';
import { enrolAll, startCoordinator, startNode, stopNode, testPrimes, until, type TestNode } from './support';

const run = promisify(execFile);
const permitTool = (...args: string[]) => run(process.execPath, ['--import', 'tsx', 'main/permits/issuer-cli.ts', ...args], { timeout: 60_000 });

/**
 * A minimal token contract, assembled here (no compiler on this machine): balances in
 * keccak256(address . 0); transfer(address,uint256) and balanceOf(address) with the ERC-20 selectors.
 */
function tokenRuntime(): string {
  const ops: Record<string, number> = { STOP: 0x00, ADD: 0x01, SUB: 0x03, LT: 0x10, EQ: 0x14, SHR: 0x1c, SHA3: 0x20, CALLER: 0x33, CALLDATALOAD: 0x35, SLOAD: 0x54, SSTORE: 0x55, JUMPI: 0x57, JUMPDEST: 0x5b, MSTORE: 0x52, DUP1: 0x80, DUP3: 0x82, SWAP1: 0x90, RETURN: 0xf3, REVERT: 0xfd };
  const program = `
    PUSH1 0 CALLDATALOAD PUSH1 224 SHR
    DUP1 PUSH4 a9059cbb EQ @transfer JUMPI
    DUP1 PUSH4 70a08231 EQ @balance JUMPI
    PUSH1 0 DUP1 REVERT
    :balance JUMPDEST PUSH1 4 CALLDATALOAD PUSH1 0 MSTORE PUSH1 0 PUSH1 32 MSTORE PUSH1 64 PUSH1 0 SHA3 SLOAD PUSH1 0 MSTORE PUSH1 32 PUSH1 0 RETURN
    :transfer JUMPDEST CALLER PUSH1 0 MSTORE PUSH1 0 PUSH1 32 MSTORE PUSH1 64 PUSH1 0 SHA3
    DUP1 SLOAD PUSH1 36 CALLDATALOAD DUP1 DUP3 LT @fail JUMPI
    SWAP1 SUB SWAP1 SSTORE
    PUSH1 4 CALLDATALOAD PUSH1 0 MSTORE PUSH1 64 PUSH1 0 SHA3 DUP1 SLOAD PUSH1 36 CALLDATALOAD ADD SWAP1 SSTORE
    PUSH1 1 PUSH1 0 MSTORE PUSH1 32 PUSH1 0 RETURN
    :fail JUMPDEST PUSH1 0 DUP1 REVERT`;
  const tokens = program.trim().split(/\s+/);
  const assemble = (labels: Map<string, number>): number[] => {
    const bytes: number[] = [];
    for (let i = 0; i < tokens.length; i += 1) {
      const t = tokens[i]!;
      if (t.startsWith(':')) labels.set(t.slice(1), bytes.length);
      else if (t.startsWith('@')) bytes.push(0x60, labels.get(t.slice(1)) ?? 0);
      else if (t === 'PUSH1') bytes.push(0x60, Number(tokens[++i]));
      else if (t === 'PUSH4') bytes.push(0x63, ...Buffer.from(tokens[++i]!, 'hex'));
      else bytes.push(ops[t]!);
    }
    return bytes;
  };
  const labels = new Map<string, number>();
  assemble(labels);
  return `0x${Buffer.from(assemble(labels)).toString('hex')}`;
}

const balanceSlot = (owner: string) => keccak256(concat([zeroPadValue(owner, 32), zeroPadValue('0x00', 32)]));

describe('permit queue accepted by real chains: anvil (EIP-1559, ERC-20) and litesvm (SOL, SPL)', { timeout: 900_000, skip: !anvilAvailable() && 'anvil binary not installed' }, () => {
  let coordinator: Coordinator;
  let nodes: TestNode[] = [];
  let anvil: Anvil;
  let evm: KeysetRecord;
  let sol: KeysetRecord;
  const dir = tempDir('vk-queue-chain-');
  const keyFile = join(dir.path, 'issuer.key');
  const bundle = join(dir.path, 'bundle.json');
  const TOKEN = getAddress('0x00000000000000000000000000000000000070ce');
  const RECIPIENT = getAddress('0x2222222222222222222222222222222222222222');
  const svm = new LiteSVM();
  const solRecipient = Keypair.generate().publicKey;
  const mint = Keypair.generate().publicKey;

  const policies = (): KeysetPolicy[] => [
    {
      keysetId: evm.keysetId,
      allowlist: [RECIPIENT],
      assets: { native: { symbol: 'ETH', decimals: 18, perTxMax: '5', dailyCap: '10', guardianApprovalAbove: null }, [`erc20:${TOKEN.toLowerCase()}`]: { symbol: 'TKN', decimals: 18, perTxMax: '1000', dailyCap: '5000', guardianApprovalAbove: null } },
      dailyCountLimit: null,
      signingHours: null,
      permitTtlSeconds: 600,
    },
    {
      keysetId: sol.keysetId,
      allowlist: [solRecipient.toBase58(), getAssociatedTokenAddressSync(mint, solRecipient, true).toBase58()],
      assets: { native: { symbol: 'SOL', decimals: 9, perTxMax: '5', dailyCap: '10', guardianApprovalAbove: null }, [`spl:${mint.toBase58()}`]: { symbol: 'USDS', decimals: 6, perTxMax: '1000', dailyCap: '5000', guardianApprovalAbove: null } },
      dailyCountLimit: null,
      signingHours: null,
      permitTtlSeconds: 600,
    },
  ];

  /** A token account of `owner` for the test mint, holding `amount` (laid out as the token program expects). */
  const tokenAccount = (owner: PublicKey, amount: bigint) => {
    const data = Buffer.alloc(ACCOUNT_SIZE);
    AccountLayout.encode({ mint, owner, amount, delegateOption: 0, delegate: PublicKey.default, state: 1, isNativeOption: 0, isNative: 0n, delegatedAmount: 0n, closeAuthorityOption: 0, closeAuthority: PublicKey.default }, data);
    svm.setAccount(getAssociatedTokenAddressSync(mint, owner, true), { lamports: 10_000_000, data, owner: TOKEN_PROGRAM_ID, executable: false });
  };
  const tokenBalance = (owner: PublicKey) => AccountLayout.decode(Buffer.from(svm.getAccount(getAssociatedTokenAddressSync(mint, owner, true))!.data)).amount;

  before(async () => {
    const primes = testPrimes();
    coordinator = await startCoordinator();
    nodes = [await startNode('console', primes[0], undefined, { authorizer: 'permits' }), await startNode('node-b', primes[1], undefined, { authorizer: 'permits' }), await startNode('node-c', primes[2], undefined, { authorizer: 'permits' })];
    await enrolAll(nodes);
    for (const n of nodes) await n.services.cluster.connect(coordinator.url);
    evm = await nodes[0]!.services.cluster.createKeyset('ecdsa', { timeoutMs: 540_000 });
    sol = await nodes[0]!.services.cluster.createKeyset('eddsa');
    await until(() => nodes.every((n) => n.services.cluster.keyset(evm.keysetId)?.status === 'active' && n.services.cluster.keyset(sol.keysetId)?.status === 'active'), 30_000);
    // The operator reads the fingerprint the tool prints and confirms it when enrolling the issuer.
    const printed = (await permitTool('keygen', '--out', keyFile)).stdout;
    const publicKey = /PUBLIC_KEY ([0-9a-f]{64})/.exec(printed)![1]!;
    const fingerprint = /FINGERPRINT (\S+)/.exec(printed)![1]!;
    for (const [i, n] of nodes.entries()) {
      n.services.permits.enrolIssuersAtSetup([{ publicKey, fingerprint, name: 'online issuer', lab: false }], false, 'test');
      // The console's operator approves each permit in the queue; the headless peers co-sign under an execution authorization.
      const authorizations = i === 0 ? [] : policies().map((p, k) => ({ id: `6a1e0c1e-0000-4000-8000-00000000000${k}`, scope: { keysetId: p.keysetId, destinations: p.allowlist, assets: Object.fromEntries(Object.entries(p.assets).map(([a, r]) => [a, { perTxMax: r.perTxMax!, dailyCap: r.dailyCap! }])), validForMinutes: 60 } }));
      n.services.policy.applyNodeSetup({ policies: policies(), authorizations }, false, 'test');
    }
    anvil = await startAnvil();
    await anvil.rpc('anvil_setBalance', [evm.address, toBeHex(10n ** 19n)]);
    await anvil.rpc('anvil_setCode', [TOKEN, tokenRuntime()]);
    await anvil.rpc('anvil_setStorageAt', [TOKEN, balanceSlot(evm.address!), zeroPadValue(toBeHex(10n ** 21n), 32)]);
    // Solana: the keyset pays fees and owns 1,000 USDS; the recipient's token account exists.
    svm.airdrop(new PublicKey(sol.address!), 10_000_000_000n);
    const mintData = Buffer.alloc(MINT_SIZE);
    MintLayout.encode({ mintAuthorityOption: 0, mintAuthority: PublicKey.default, supply: 1_000_000_000n, decimals: 6, isInitialized: true, freezeAuthorityOption: 0, freezeAuthority: PublicKey.default }, mintData);
    svm.setAccount(mint, { lamports: 10_000_000, data: mintData, owner: TOKEN_PROGRAM_ID, executable: false });
    tokenAccount(new PublicKey(sol.address!), 1_000_000_000n);
    tokenAccount(solRecipient, 0n);
  });

  after(async () => {
    await anvil?.stop();
    for (const n of nodes) await stopNode(n).catch(() => undefined);
    await coordinator?.close();
    dir.cleanup();
  });

  it('issue → import → approve → 2-of-3 signature → mined on anvil and processed by litesvm; balances change', async () => {
    const blockhash = svm.latestBlockhash();
    const common = ['--key', keyFile, '--out', bundle, '--ttl', '600'];
    await permitTool('issue', ...common, '--keyset', evm.keysetId, '--chain', 'evm:31337', '--type', 'eip1559', '--to', RECIPIENT, '--amount', '1.25', '--nonce', '0', '--permit-id', 'p-eth');
    await permitTool('issue', ...common, '--keyset', evm.keysetId, '--chain', 'evm:31337', '--type', 'erc20', '--token', TOKEN, '--decimals', '18', '--to', RECIPIENT, '--amount', '250', '--nonce', '1', '--permit-id', 'p-erc20');
    await permitTool('issue', ...common, '--keyset', sol.keysetId, '--chain', 'solana:localnet', '--type', 'sol', '--from', sol.address!, '--blockhash', blockhash, '--to', solRecipient.toBase58(), '--amount', '1.5', '--permit-id', 'p-sol');
    await permitTool('issue', ...common, '--keyset', sol.keysetId, '--chain', 'solana:localnet', '--type', 'spl', '--from', sol.address!, '--blockhash', blockhash, '--mint', mint.toBase58(), '--decimals', '6', '--to', solRecipient.toBase58(), '--amount', '12.5', '--permit-id', 'p-spl');

    const queue = nodes[0]!.services.permitQueue;
    const report = queue.importFrom({ from: 'file', path: bundle });
    assert.deepEqual(report.refusedPermits, []);
    assert.deepEqual(report.importedIds, ['p-eth', 'p-erc20', 'p-sol', 'p-spl']);
    const words = queue.review('p-erc20').transaction;
    assert.match(words.data, /^ERC-20 transfer of 250 TKN/);
    const ids = report.importedIds;
    // Without the console operator's approval the console itself refuses to request the signature.
    for (const id of ids) queue.approve(id);
    await queue.startSigning(ids).done;
    for (const id of ids) assert.equal(queue.item(id).state, 'signed', `${id}: ${queue.item(id).reason ?? queue.item(id).progress?.detail}`);
    const exported = queue.export(ids, dir.path, false);
    const file = JSON.parse(readFileSync(exported.files[0]!, 'utf8')) as { results: Array<{ permitId: string; signedTransaction: string; transactionHash: string }> };
    const signedTx = new Map(file.results.map((r) => [r.permitId, r]));

    // Ethereum: both transactions mined, balances moved.
    const tokenBalanceOf = async (owner: string) => BigInt(await anvil.rpc<string>('eth_call', [{ to: TOKEN, data: concat(['0x70a08231', zeroPadValue(owner, 32)]) }, 'latest']));
    const ethBefore = BigInt(await anvil.rpc<string>('eth_getBalance', [RECIPIENT, 'latest']));
    for (const id of ['p-eth', 'p-erc20']) {
      const { signedTransaction, transactionHash } = signedTx.get(id)!;
      assert.equal(await anvil.rpc<string>('eth_sendRawTransaction', [signedTransaction]), transactionHash);
      const receipt = await anvil.rpc<{ status: string; from: string }>('eth_getTransactionReceipt', [transactionHash]);
      assert.equal(receipt.status, '0x1', `${id} mined and succeeded`);
      assert.equal(getAddress(receipt.from), getAddress(evm.address!));
    }
    assert.equal(BigInt(await anvil.rpc<string>('eth_getBalance', [RECIPIENT, 'latest'])) - ethBefore, 1_250_000_000_000_000_000n);
    assert.equal(await tokenBalanceOf(RECIPIENT), 250n * 10n ** 18n);

    // Solana: the wire transactions are processed; SOL and token balances moved.
    for (const id of ['p-sol', 'p-spl']) {
      const outcome = svm.sendTransaction(VersionedTransaction.deserialize(Buffer.from(signedTx.get(id)!.signedTransaction, 'base64')));
      assert.ok(!(outcome instanceof FailedTransactionMetadata), `${id}: ${outcome.toString()}`);
    }
    assert.equal(svm.getBalance(solRecipient), 1_500_000_000n);
    assert.equal(tokenBalance(solRecipient), 12_500_000n);

    // Two nodes (the console and one peer) verified and accepted each permit; the queue never signs a permit twice.
    const accepted = (n: TestNode, id: string) => n.services.audit.list().entries.some((e) => e.type === 'SIGN_PERMIT_ACCEPTED' && e.subject === id);
    for (const id of ids) {
      assert.ok(accepted(nodes[0]!, id), `the console accepted ${id}`);
      assert.equal(nodes.filter((n) => accepted(n, id)).length, 2, `${id}: a 2-of-3 quorum`);
    }
    assert.throws(() => queue.startSigning(['p-eth']), /exported; only approved permits are signed/);
  });
});
