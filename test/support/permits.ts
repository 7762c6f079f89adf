/**
 * A signer node's signing authorization on a real database (no vault, no cluster): issuers,
 * policy and authorizations set as a headless node's operator sets them, a test guard standing
 * in for the guardian quorum, and helpers that build permits and the facts a cluster would pass.
 */
import canonicalize from 'canonicalize';
import { Keypair } from '@solana/web3.js';
import { AuditLog } from '../../main/audit/audit-log';
import { buildEvmTransfer, buildSolanaTransfer, type EvmTransferInput } from '../../main/chains/build';
import { decodePayload } from '../../main/chains/payload';
import type { ChainRef } from '../../main/chains/transaction';
import type { SignRequestFacts } from '../../main/cluster/sign-authorization';
import { fail } from '../../main/errors';
import type { OperationGuard } from '../../main/guardians/guard';
import type { GuardedOperationKind } from '../../main/guardians/guarded-operations';
import { generateIssuerKey, issuerFingerprint, type IssuerKeyPair } from '../../main/permits/issuer-keys';
import { issuePermit, type IssueInput } from '../../main/permits/issue-permit';
import type { SignedPermit } from '../../main/permits/permit-format';
import { createSigningAuthorization, type SigningAuthorization } from '../../main/permits/signing-authorization';
import { ManualClock } from '../../main/platform/clock';
import type { RevokerVerifier } from '../../main/policy/revoker';
import { openDatabase, type Db } from '../../main/store/database';
import type { ExecutionAuthorizationScope, KeysetPolicy } from '../../preload/contract';
import { tempDir } from './temp-dir';

export const EVM_KEYSET = 'ks-evm-1';
export const SOL_KEYSET = 'ks-sol-1';
export const LAB_KEYSET = 'ks-lab-1';
export const EVM_ADDRESS = '0x9999999999999999999999999999999999999999';
export const ALICE = '0x1111111111111111111111111111111111111111';
export const MALLORY = '0x6666666666666666666666666666666666666666';
export const USDC = '0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48';
export const BLOCKHASH = '11111111111111111111111111111111';
/** Monday 2026-11-23 10:00 UTC: inside 08:00–18:00 signing hours. */
export const START = Date.UTC(2026, 10, 23, 10, 0, 0);

/** Stands in for the guardian quorum: an approval is granted by the test for exact parameters, consumed once. */
export class TestGuard implements OperationGuard {
  private readonly granted = new Map<string, string>();
  private n = 0;

  grant(operation: GuardedOperationKind, subject: string, parameters: Record<string, unknown>): string {
    this.n += 1;
    const id = `00000000-0000-4000-8000-${String(this.n).padStart(12, '0')}`;
    this.granted.set(id, canonicalize({ operation, subject, parameters })!);
    return id;
  }

  checkApproval(operation: GuardedOperationKind, subject: string, parameters: Record<string, unknown>, requestId: string): void {
    const expected = this.granted.get(requestId);
    if (!expected) fail('QUORUM_NOT_MET', `0 of 2 required guardian approvals for request ${requestId}.`);
    if (expected !== canonicalize({ operation, subject, parameters })) fail('GUARD_PAYLOAD_MISMATCH', `Request ${requestId} approves other parameters.`);
  }

  requireApproval(operation: GuardedOperationKind, subject: string, parameters: Record<string, unknown>, requestId: string): { approvers: string[] } {
    this.checkApproval(operation, subject, parameters, requestId);
    this.granted.delete(requestId);
    return { approvers: ['guardian-a', 'guardian-b'] };
  }
}

export function evmPolicy(overrides: Partial<KeysetPolicy> = {}): KeysetPolicy {
  return {
    keysetId: EVM_KEYSET,
    allowlist: [ALICE],
    assets: {
      native: { symbol: 'ETH', decimals: 18, perTxMax: '10', dailyCap: '20', guardianApprovalAbove: '5' },
      [`erc20:${USDC}`]: { symbol: 'USDC', decimals: 6, perTxMax: '10000', dailyCap: '50000', guardianApprovalAbove: null },
    },
    dailyCountLimit: 10,
    signingHours: null,
    permitTtlSeconds: 60,
    ...overrides,
  };
}

/** The fixture has no vault: its revoker check stands in for the vault's passphrase check (a wrong passphrase is refused). */
export const FIXTURE_PASSPHRASE = 'fixture operator passphrase';
const fixtureRevokers: RevokerVerifier = {
  prove: async (proof) => {
    if (proof.as !== 'operator' || proof.vaultPassphrase !== FIXTURE_PASSPHRASE) fail('WRONG_PASSPHRASE', 'That is not the vault passphrase.');
    return { actor: 'operator (vault passphrase confirmed)', proof: { kind: 'vault-passphrase' } };
  },
};

export interface PermitFixture extends SigningAuthorization {
  db: Db;
  dataDir: string;
  audit: AuditLog;
  clock: ManualClock;
  guard: TestGuard;
  issuer: IssuerKeyPair;
  labIssuer: IssuerKeyPair;
  solana: { keyset: Keypair; address: string; recipient: string; mint: string };
  reopen(): PermitFixture;
  close(): void;
  cleanup(): void;
}

function open(dataDir: string, clock: ManualClock, issuer: IssuerKeyPair, labIssuer: IssuerKeyPair, solana: PermitFixture['solana'], cleanupDir: () => void): PermitFixture {
  const db = openDatabase({ dataDir });
  const audit = new AuditLog(db, clock);
  const guard = new TestGuard();
  const parts = createSigningAuthorization({ db, audit, clock, guard, revokers: fixtureRevokers });
  const fixture: PermitFixture = {
    ...parts, db, dataDir, audit, clock, guard, issuer, labIssuer, solana,
    reopen: () => {
      db.close();
      return open(dataDir, clock, issuer, labIssuer, solana, cleanupDir);
    },
    close: () => db.close(),
    cleanup: () => {
      if (db.open) db.close();
      cleanupDir();
    },
  };
  return fixture;
}

/** A node with one production issuer, one lab issuer and policies for an EVM, a Solana and a lab keyset. */
export function permitFixture(): PermitFixture {
  const dir = tempDir('vaultkeeper-permits-');
  const clock = new ManualClock(START);
  const issuer = generateIssuerKey();
  const labIssuer = generateIssuerKey();
  const keyset = Keypair.generate();
  const solana = { keyset, address: keyset.publicKey.toBase58(), recipient: Keypair.generate().publicKey.toBase58(), mint: Keypair.generate().publicKey.toBase58() };
  const f = open(dir.path, clock, issuer, labIssuer, solana, dir.cleanup);
  f.permits.enrolIssuersAtSetup(
    [
      { publicKey: issuer.publicKey.toString('hex'), fingerprint: issuerFingerprint(issuer.publicKey), name: 'online issuer', lab: false },
      { publicKey: labIssuer.publicKey.toString('hex'), fingerprint: issuerFingerprint(labIssuer.publicKey), name: 'lab issuer', lab: true },
    ],
    false,
    'test',
  );
  f.policy.applyNodeSetup(
    {
      policies: [
        evmPolicy(),
        { ...evmPolicy(), keysetId: LAB_KEYSET },
        {
          keysetId: SOL_KEYSET,
          allowlist: [solana.recipient],
          assets: { native: { symbol: 'SOL', decimals: 9, perTxMax: '100', dailyCap: '1000', guardianApprovalAbove: null } },
          dailyCountLimit: null,
          signingHours: null,
          permitTtlSeconds: 60,
        },
      ],
      authorizations: [],
    },
    false,
    'test',
  );
  return f;
}

export function evmPayload(overrides: Partial<EvmTransferInput> = {}): string {
  return buildEvmTransfer({ type: 'eip1559', chainId: 1, nonce: 0, to: ALICE, amount: 10n ** 18n, ...overrides });
}

export function solPayload(f: PermitFixture, lamports = 2_000_000_000n): string {
  return buildSolanaTransfer({ type: 'sol', from: f.solana.address, to: f.solana.recipient, amount: lamports, recentBlockhash: BLOCKHASH });
}

export function permitFor(f: PermitFixture, payload: string, overrides: Partial<IssueInput> = {}, key: IssuerKeyPair = f.issuer): SignedPermit {
  const chain: ChainRef = overrides.chain ?? (payload.startsWith('0x') ? { kind: 'evm', chainId: 1 } : { kind: 'solana', cluster: 'devnet' });
  return issuePermit({ keysetId: chain.kind === 'evm' ? EVM_KEYSET : SOL_KEYSET, chain, payload, issuedAt: f.clock.now(), ...overrides }, key.secretKey);
}

let sessions = 0;

/** The facts a cluster passes for a permit it verified the envelope of: message = the payload's preimage. */
export function factsFor(f: PermitFixture, signed: SignedPermit | undefined, overrides: Partial<SignRequestFacts> = {}): SignRequestFacts {
  sessions += 1;
  const chain = signed?.permit.chain ?? { kind: 'evm', chainId: 1 };
  const evm = chain.kind === 'evm';
  return {
    sessionId: `session-${sessions}`,
    keysetId: signed?.permit.keysetId ?? EVM_KEYSET,
    scheme: evm ? 'ecdsa' : 'eddsa',
    keysetPublicKey: null,
    keysetAddress: evm ? EVM_ADDRESS : f.solana.address,
    keysetLab: false,
    protocol: evm ? 'ecdsa-sign' : 'eddsa-sign',
    message: signed ? decodePayload(signed.permit.chain, signed.permit.payload).signingPreimage : Buffer.alloc(0),
    ...(signed ? { permit: signed } : {}),
    requester: 'node-a',
    requestedHere: false,
    parties: ['node-a', 'node-b'],
    ...overrides,
  };
}
