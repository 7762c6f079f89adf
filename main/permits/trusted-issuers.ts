/**
 * The issuer keys this node accepts permits from. Enrolment is like a peer's: the operator
 * confirms the fingerprint words read out by the issuer's owner, and the guardian quorum approves
 * it through the guard (a headless node's operator does it at setup, see main/policy/node-setup.ts).
 * A lab issuer signs permits for lab keysets only, and a lab keyset accepts only lab issuers.
 */
import type { KeyObject } from 'node:crypto';
import type { TrustedIssuerView } from '../../preload/contract';
import type { AuditLog } from '../audit/audit-log';
import { fail } from '../errors';
import type { Clock } from '../platform/clock';
import type { Db } from '../store/database';
import { issuerFingerprint, issuerPublicKeyObject } from './issuer-keys';

export interface TrustedIssuer {
  fingerprint: string;
  publicKey: string;
  name: string;
  lab: boolean;
  enrolledAt: number;
  key: KeyObject;
}

export interface IssuerEnrolment {
  publicKey: string;
  fingerprint: string;
  name: string;
  lab: boolean;
}

interface IssuerRow {
  fingerprint: string;
  public_key: string;
  name: string;
  lab: number;
  enrolled_at: number;
}

export class TrustedIssuers {
  /** Public key hex → issuer; rebuilt on every change, so verification never touches SQLite. */
  private cache: Map<string, TrustedIssuer> | null = null;

  constructor(private readonly db: Db, private readonly audit: AuditLog, private readonly clock: Clock) {}

  /** Drops the cache; called after every write, committed or rolled back. */
  invalidate(): void {
    this.cache = null;
  }

  private load(): Map<string, TrustedIssuer> {
    if (this.cache) return this.cache;
    const rows = this.db.prepare('SELECT * FROM permit_issuers ORDER BY enrolled_at').all() as IssuerRow[];
    this.cache = new Map(
      rows.map((r) => [r.public_key, { fingerprint: r.fingerprint, publicKey: r.public_key, name: r.name, lab: r.lab === 1, enrolledAt: r.enrolled_at, key: issuerPublicKeyObject(Buffer.from(r.public_key, 'hex')) }]),
    );
    return this.cache;
  }

  byPublicKey(publicKeyHex: string): TrustedIssuer | undefined {
    return this.load().get(publicKeyHex);
  }

  list(): TrustedIssuerView[] {
    return [...this.load().values()].map((i) => ({ fingerprint: i.fingerprint, publicKey: i.publicKey, name: i.name, lab: i.lab, enrolledAt: new Date(i.enrolledAt).toISOString() }));
  }

  /** Checks an enrolment request without changing anything: key shape, fingerprint words, duplicates. */
  validate(enrolment: IssuerEnrolment): void {
    const key = Buffer.from(enrolment.publicKey, 'hex');
    if (!/^[0-9a-fA-F]{64}$/.test(enrolment.publicKey)) fail('ISSUER_KEY_INVALID', 'An issuer public key is 32 bytes written as 64 hex digits.');
    try {
      issuerPublicKeyObject(key);
    } catch {
      fail('ISSUER_KEY_INVALID', 'That is not a valid Ed25519 public key.');
    }
    const actual = issuerFingerprint(key);
    if (actual !== enrolment.fingerprint.trim().toLowerCase()) {
      fail('ISSUER_FINGERPRINT_MISMATCH', `The fingerprint you confirmed (${enrolment.fingerprint}) is not the key's fingerprint (${actual}). Ask the issuer's owner to read it again; nothing was enrolled.`);
    }
    if (this.load().has(key.toString('hex'))) fail('ISSUER_ALREADY_TRUSTED', `Issuer ${actual} is already trusted on this node.`);
  }

  /** Call inside the transaction that consumed the guard's approval (or the node-setup transaction). */
  enrol(enrolment: IssuerEnrolment, actor: string, details: Record<string, unknown>): void {
    this.validate(enrolment);
    const publicKey = enrolment.publicKey.toLowerCase();
    const fingerprint = issuerFingerprint(Buffer.from(publicKey, 'hex'));
    this.db.prepare('INSERT INTO permit_issuers (fingerprint, public_key, name, lab, enrolled_at) VALUES (?, ?, ?, ?, ?)').run(fingerprint, publicKey, enrolment.name, enrolment.lab ? 1 : 0, this.clock.now());
    this.cache = null;
    this.audit.append({ type: 'PERMIT_ISSUER_ENROLLED', actor, subject: fingerprint, details: { name: enrolment.name, lab: enrolment.lab, publicKey, ...details } });
  }

  requireEnrolled(fingerprint: string): TrustedIssuer {
    const issuer = [...this.load().values()].find((i) => i.fingerprint === fingerprint);
    if (!issuer) fail('ISSUER_NOT_FOUND', `No trusted issuer has the fingerprint ${fingerprint} on this node.`);
    return issuer;
  }

  /** Call inside the transaction that consumed the guard's approval. */
  remove(fingerprint: string, actor: string, details: Record<string, unknown>): void {
    const issuer = this.requireEnrolled(fingerprint);
    this.db.prepare('DELETE FROM permit_issuers WHERE fingerprint = ?').run(fingerprint);
    this.cache = null;
    this.audit.append({ type: 'PERMIT_ISSUER_REMOVED', actor, subject: fingerprint, details: { name: issuer.name, lab: issuer.lab, ...details } });
  }

  /** Parameters the guard binds an enrolment or removal to. */
  static enrolParameters(enrolment: IssuerEnrolment): Record<string, string | boolean> {
    return { publicKey: enrolment.publicKey.toLowerCase(), fingerprint: enrolment.fingerprint.trim().toLowerCase(), name: enrolment.name, lab: enrolment.lab };
  }
}
