import assert from 'node:assert/strict';
import { randomBytes, createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MpcError, MpcSigner, runLocal, type MpcProtocol, type SessionResult, type LocalRunOptions } from '../../main/mpc/index';

export const PARTIES = [0, 1, 2];
export const QUORUMS = [
  [0, 1],
  [0, 2],
  [1, 2],
];

/** Element `i` of `xs`; throws instead of returning undefined when the index is out of range. */
export function at<T>(xs: readonly T[], i: number): T {
  const x = xs[i];
  if (x === undefined) throw new RangeError(`index ${i} out of range (length ${xs.length})`);
  return x;
}

export function makeNodes(): MpcSigner[] {
  return PARTIES.map(() => new MpcSigner());
}

export function newSessionId(): Buffer {
  return randomBytes(32);
}

// Safe-prime generation takes 5–50 s per party even with GMP, so most tests use primes
// generated once by the addon itself and cached here; one ECDSA test has a party generate
// its own. Test-only: production nodes generate fresh primes (generatePaillierPrimes)
// ahead of each ceremony.
const FIXTURE = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'paillier-primes.test-only.json');

export async function testPrimes(nodes: MpcSigner[]): Promise<Buffer[]> {
  if (existsSync(FIXTURE)) {
    const hex = JSON.parse(readFileSync(FIXTURE, 'utf8')) as string[];
    if (hex.length >= PARTIES.length) return hex.map((h) => Buffer.from(h, 'hex'));
  }
  const primes = await Promise.all(PARTIES.map((p) => at(nodes, p).generatePaillierPrimes()));
  mkdirSync(dirname(FIXTURE), { recursive: true });
  writeFileSync(FIXTURE, JSON.stringify(primes.map((b) => b.toString('hex')), null, 1));
  return primes;
}

export async function keygen(
  nodes: MpcSigner[],
  protocol: 'ecdsa-keygen' | 'eddsa-keygen',
  /** Per party; a party without primes generates them inside its session. */
  primes?: readonly (Buffer | undefined)[],
  options?: LocalRunOptions,
) {
  const sessionId = newSessionId();
  const sessions = PARTIES.map((p) =>
    at(nodes, p).start({ protocol, sessionId, partyIndex: p, parties: PARTIES, threshold: 2, primes: primes?.[p] }),
  );
  return runLocal(sessions, options);
}

export async function refresh(
  nodes: MpcSigner[],
  protocol: 'ecdsa-refresh' | 'eddsa-refresh',
  shares: Buffer[],
  primes?: Buffer[],
  options?: LocalRunOptions,
) {
  const sessionId = newSessionId();
  const sessions = PARTIES.map((p) =>
    at(nodes, p).start({ protocol, sessionId, partyIndex: p, parties: PARTIES, threshold: 2, share: at(shares, p), primes: primes?.[p] }),
  );
  return runLocal(sessions, options);
}

export async function sign(
  nodes: MpcSigner[],
  protocol: 'ecdsa-sign' | 'eddsa-sign',
  shares: Buffer[],
  quorum: number[],
  message: Buffer,
  options?: LocalRunOptions,
) {
  const sessionId = newSessionId();
  const sessions = quorum.map((p) =>
    at(nodes, p).start({ protocol, sessionId, partyIndex: p, parties: quorum, threshold: 2, share: at(shares, p), message }),
  );
  return runLocal(sessions, options);
}

export function sharesOf(results: Map<number, SessionResult>): Buffer[] {
  return PARTIES.map((p) => {
    const share = results.get(p)?.share;
    if (!share) throw new Error(`party ${p} has no share`);
    return share;
  });
}

/** Flips one payload byte and recomputes the envelope checksum: what a malicious but authenticated sender could send. */
export function corruptPayload(bytes: Buffer, offsetFromPayloadEnd = 1): Buffer {
  const out = Buffer.from(bytes);
  const bodyLen = out.length - 16;
  const k = bodyLen - offsetFromPayloadEnd;
  out[k] = out.readUInt8(k) ^ 0x01; // readUInt8 throws on an out-of-range offset
  createHash('sha256').update(out.subarray(0, bodyLen)).digest().copy(out, bodyLen, 0, 16);
  return out;
}

/** Flips one byte in transit without fixing the checksum. */
export function flipByte(bytes: Buffer): Buffer {
  const out = Buffer.from(bytes);
  const k = Math.floor(out.length / 2);
  out[k] = out.readUInt8(k) ^ 0x80;
  return out;
}

export type { MpcProtocol };

/** Awaits a session that must fail with this code (and, if given, blaming this party). */
export async function expectMpcError(run: Promise<unknown>, code: string, party?: number): Promise<MpcError> {
  const err = await run.then(
    () => assert.fail('expected the session to fail'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof MpcError, `expected MpcError, got ${String(err)}`);
  assert.equal(err.code, code, err.message);
  if (party !== undefined) assert.equal(err.party, party, err.message);
  return err;
}
