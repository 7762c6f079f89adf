/**
 * The vault's life cycle: create, unlock, lock (on demand and when idle), and the unlock
 * throttle.
 *
 * Passphrase → scrypt key-encryption key → unwraps a random 32-byte vault master key → HKDF
 * subkeys (KeyRing). The wrapped master key's associated data binds the vault id and node id.
 * While locked no key material is held: the key ring is wiped and dropped.
 * Operations are serialized, so two concurrent unlock attempts cannot slip past the throttle.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { ed25519 } from '@noble/curves/ed25519.js';
import type { VaultStatus } from '../../preload/contract';
import type { AuditEvent, AuditLog } from '../audit/audit-log';
import type { OperationGuard } from '../guardians/guard';
import { associatedData, EnvelopeOpenError, open, pack, seal, unpack } from '../crypto/envelope';
import { deriveKeyEncryptionKey, INTERACTIVE_SCRYPT, isUsableScryptParams, newScryptParams, type ScryptParams } from '../crypto/kdf';
import { fail } from '../errors';
import { fingerprintWords, generateNodeKeyPair, nodeIdFromPublicKey } from '../identity/node-identity';
import type { Clock } from '../platform/clock';
import { describeDuration } from '../platform/duration';
import type { Db } from '../store/database';
import { KeyRing } from './key-ring';
import { judgePassphrase } from './passphrase-policy';
import { SealedRecords, type KeyAccess } from './sealed-records';

/** Wrong passphrases allowed before each further attempt has to wait. */
export const FREE_ATTEMPTS = 3;
const FIRST_DELAY_MS = 5_000;
const MAX_DELAY_MS = 15 * 60_000;

export const NODE_IDENTITY_RECORD = { type: 'node-identity', id: 'self', schemaVersion: 1 } as const;

/** Delay imposed after the given number of consecutive wrong passphrases. */
export function unlockDelayMs(failedAttempts: number): number {
  if (failedAttempts < FREE_ATTEMPTS) return 0;
  return Math.min(MAX_DELAY_MS, FIRST_DELAY_MS * 2 ** (failedAttempts - FREE_ATTEMPTS));
}

interface VaultMetaRow {
  vault_id: string;
  node_id: string;
  node_public_key: Buffer;
  kdf_params: string;
  wrapped_master_key: Buffer;
  failed_attempts: number;
  unlock_blocked_until: number | null;
}

/** A node identity brought back from a share backup, and the sealed records that go with it. */
export interface RestoredIdentity {
  identitySecret: Uint8Array;
  records?: Array<{ type: string; id: string; schemaVersion: number; plaintext: Buffer }>;
  audit?: AuditEvent;
}

export interface VaultServiceOptions {
  db: Db;
  audit: AuditLog;
  clock: Clock;
  dataDir: string;
  idleTimeoutSeconds: number;
  /** scrypt cost for new vaults; tests lower it to stay fast. */
  kdfCost?: { N: number; r: number; p: number };
}

export type LockReason = 'operator' | 'idle' | 'shutdown';

export class VaultService implements KeyAccess {
  private ring: KeyRing | null = null;
  private lastActivity: number;
  private queue: Promise<unknown> = Promise.resolve();
  readonly records: SealedRecords;
  private readonly lockListeners = new Set<(reason: LockReason) => void>();
  private readonly unlockListeners = new Set<() => void>();
  private guard: OperationGuard | null = null;

  constructor(private readonly options: VaultServiceOptions) {
    this.lastActivity = options.clock.now();
    this.records = new SealedRecords(options.db, this, options.clock);
  }

  // --- KeyAccess --------------------------------------------------------------------------

  keyRing(): KeyRing {
    if (!this.ring || this.ring.wiped) fail('VAULT_LOCKED', 'The vault is locked. Unlock it with the vault passphrase to continue.');
    return this.ring;
  }

  nodeId(): string {
    const meta = this.meta();
    if (!meta) fail('VAULT_NOT_CREATED', 'No vault exists on this machine yet. Create one first.');
    return meta.node_id;
  }

  // --- queries ----------------------------------------------------------------------------

  private meta(): VaultMetaRow | undefined {
    return this.options.db.prepare('SELECT * FROM vault_meta WHERE id = 1').get() as VaultMetaRow | undefined;
  }

  get unlocked(): boolean {
    return this.ring !== null && !this.ring.wiped;
  }

  status(): VaultStatus {
    const meta = this.meta();
    const now = this.options.clock.now();
    const blocked = meta?.unlock_blocked_until && meta.unlock_blocked_until > now ? meta.unlock_blocked_until : null;
    return {
      state: !meta ? 'uninitialized' : this.unlocked ? 'unlocked' : 'locked',
      nodeId: meta?.node_id ?? null,
      nodeFingerprint: meta ? fingerprintWords(meta.node_public_key) : null,
      failedAttempts: meta?.failed_attempts ?? 0,
      unlockBlockedUntil: blocked,
      idleTimeoutSeconds: this.options.idleTimeoutSeconds,
      dataDirectory: this.options.dataDir,
    };
  }

  // --- commands ---------------------------------------------------------------------------

  /** Runs vault commands one at a time. */
  private serialized<T>(work: () => Promise<T>): Promise<T> {
    const run = this.queue.then(work, work);
    this.queue = run.catch(() => undefined);
    return run;
  }

  /**
   * `restored`: the node identity secret from a share backup, so a node restored onto a fresh
   * machine is the cluster member its peers enrolled (main/backup/restore.ts), with the records
   * that travel with it; all written in the transaction that creates the vault, so the identity
   * never exists without them.
   */
  create(passphrase: string, confirmation: string, restored?: RestoredIdentity): Promise<VaultStatus> {
    const restoredIdentity = restored?.identitySecret;
    return this.serialized(async () => {
      if (this.meta()) fail('VAULT_ALREADY_EXISTS', 'A vault already exists on this machine. Unlock it instead of creating a new one.');
      if (passphrase !== confirmation) fail('PASSPHRASE_MISMATCH', 'The two passphrases do not match. Type the same passphrase in both fields.');
      const verdict = judgePassphrase(passphrase);
      if (!verdict.acceptable) fail('WEAK_PASSPHRASE', verdict.reason);

      const params = newScryptParams(this.options.kdfCost ?? INTERACTIVE_SCRYPT);
      const kek = await deriveKeyEncryptionKey(passphrase, params);
      const masterKey = randomBytes(32);
      const identity = restoredIdentity ? { secretKey: Uint8Array.from(restoredIdentity), publicKey: ed25519.getPublicKey(restoredIdentity) } : generateNodeKeyPair();
      const vaultId = randomUUID();
      const nodeId = nodeIdFromPublicKey(identity.publicKey);
      const wrapped = pack(seal(kek, masterKey, associatedData('vault-master-key', vaultId, nodeId)));
      kek.fill(0);

      this.ring = new KeyRing(masterKey);
      try {
        this.options.db.transaction(() => {
          this.options.db
            .prepare(
              `INSERT INTO vault_meta (id, vault_id, node_id, node_public_key, kdf_params, wrapped_master_key, created_at)
               VALUES (1, ?, ?, ?, ?, ?, ?)`,
            )
            .run(vaultId, nodeId, Buffer.from(identity.publicKey), JSON.stringify(params), wrapped, new Date(this.options.clock.now()).toISOString());
          this.records.put(NODE_IDENTITY_RECORD.type, NODE_IDENTITY_RECORD.id, NODE_IDENTITY_RECORD.schemaVersion, identity.secretKey);
          this.options.audit.append({
            type: 'VAULT_CREATED',
            actor: 'operator',
            subject: nodeId,
            details: { vaultId, kdf: { algorithm: params.algorithm, N: params.N, r: params.r, p: params.p }, ...(restoredIdentity ? { identity: 'restored from share backup' } : {}) },
          });
          for (const r of restored?.records ?? []) this.records.put(r.type, r.id, r.schemaVersion, r.plaintext);
          if (restored?.audit) this.options.audit.append(restored.audit);
        })();
      } catch (error) {
        this.wipe();
        throw error;
      } finally {
        identity.secretKey.fill(0);
      }
      this.lastActivity = this.options.clock.now();
      this.notifyUnlocked();
      return this.status();
    });
  }

  unlock(passphrase: string): Promise<VaultStatus> {
    return this.serialized(async () => {
      const meta = this.meta();
      if (!meta) fail('VAULT_NOT_CREATED', 'No vault exists on this machine yet. Create one first.');
      if (this.unlocked) return this.status();
      this.assertNotThrottled(meta);
      const kek = await deriveKeyEncryptionKey(passphrase, this.kdfParams(meta));
      let masterKey: Buffer;
      try {
        masterKey = open(kek, unpack(meta.wrapped_master_key), associatedData('vault-master-key', meta.vault_id, meta.node_id));
      } catch (error) {
        if (!(error instanceof EnvelopeOpenError)) throw error;
        this.recordWrongPassphrase(meta);
      } finally {
        kek.fill(0);
      }
      this.options.db.transaction(() => {
        this.options.db.prepare('UPDATE vault_meta SET failed_attempts = 0, unlock_blocked_until = NULL WHERE id = 1').run();
        this.options.audit.append({ type: 'VAULT_UNLOCKED', actor: 'operator', subject: meta.node_id });
      })();
      this.ring = new KeyRing(masterKey!);
      this.lastActivity = this.options.clock.now();
      this.notifyUnlocked();
      return this.status();
    });
  }

  /** The unlock throttle: every check of the vault passphrase waits out the same back-off. */
  private assertNotThrottled(meta: VaultMetaRow, after = ''): void {
    const now = this.options.clock.now();
    if (meta.unlock_blocked_until && meta.unlock_blocked_until > now) {
      const wait = meta.unlock_blocked_until - now;
      fail('UNLOCK_THROTTLED', `Too many wrong passphrases. Try again in ${describeDuration(wait)}.${after}`, {
        retryAt: meta.unlock_blocked_until,
        failedAttempts: meta.failed_attempts,
      });
    }
  }

  private kdfParams(meta: VaultMetaRow): ScryptParams {
    const params: unknown = JSON.parse(meta.kdf_params);
    if (!isUsableScryptParams(params)) {
      fail('VAULT_CORRUPT', 'The vault\'s key-derivation settings are missing or weaker than allowed. The vault file may have been tampered with. To recover, start the console on a new data folder and choose "Or: restore this node from a share backup" on the first screen (two guardians open it), then restore each share on the Backups screen.');
    }
    return params as ScryptParams;
  }

  /**
   * Counts a wrong vault passphrase against the unlock throttle, wherever it was typed (unlock or
   * the current passphrase of a guarded change), so the change cannot serve as a faster oracle.
   */
  private recordWrongPassphrase(meta: VaultMetaRow, during?: { operation: 'vault.passphrase.change'; requestId: string }): never {
    const failedAttempts = meta.failed_attempts + 1;
    const delay = unlockDelayMs(failedAttempts);
    const blockedUntil = delay > 0 ? this.options.clock.now() + delay : null;
    this.options.db.transaction(() => {
      this.options.db.prepare('UPDATE vault_meta SET failed_attempts = ?, unlock_blocked_until = ? WHERE id = 1').run(failedAttempts, blockedUntil);
      this.options.audit.append({
        type: 'VAULT_UNLOCK_FAILED',
        actor: 'operator',
        subject: meta.node_id,
        details: during ? { failedAttempts, during: during.operation, requestId: during.requestId } : { failedAttempts },
      });
    })();
    const next =
      blockedUntil !== null
        ? `The next attempt is possible in ${describeDuration(delay)}.`
        : `${FREE_ATTEMPTS - failedAttempts} more attempt${FREE_ATTEMPTS - failedAttempts === 1 ? '' : 's'} before each further attempt has to wait.`;
    const what = during
      ? `The current vault passphrase is not correct (wrong attempt ${failedAttempts}); the passphrase was not changed and the approved request stays open.`
      : `That passphrase is not correct (wrong attempt ${failedAttempts}).`;
    fail('WRONG_PASSPHRASE', `${what} ${next}`, {
      failedAttempts,
      retryAt: blockedUntil,
    });
  }

  lock(reason: LockReason = 'operator'): Promise<VaultStatus> {
    return this.serialized(async () => {
      if (this.unlocked) {
        this.wipe();
        const meta = this.meta();
        this.options.audit.append({ type: 'VAULT_LOCKED', actor: reason === 'operator' ? 'operator' : 'system', subject: meta?.node_id ?? '', details: { reason } });
        for (const listener of this.lockListeners) listener(reason);
      }
      return this.status();
    });
  }

  /**
   * Confirms that whoever is at the unlocked console knows the vault passphrase, for acts an
   * unlocked screen alone must not authorize (requesting a guarded operation as the operator,
   * revealing seed words). A wrong passphrase counts against the unlock throttle, so this is no
   * faster oracle than unlock; the right one clears the count.
   */
  confirmPassphrase(passphrase: string): Promise<void> {
    return this.serialized(async () => {
      const meta = this.meta();
      if (!meta) fail('VAULT_NOT_CREATED', 'No vault exists on this machine yet. Create one first.');
      this.keyRing();
      this.assertNotThrottled(meta);
      const kek = await deriveKeyEncryptionKey(passphrase, this.kdfParams(meta));
      try {
        open(kek, unpack(meta.wrapped_master_key), associatedData('vault-master-key', meta.vault_id, meta.node_id)).fill(0);
      } catch (error) {
        if (!(error instanceof EnvelopeOpenError)) throw error;
        this.recordWrongPassphrase(meta);
      } finally {
        kek.fill(0);
      }
      if (meta.failed_attempts > 0) this.options.db.prepare('UPDATE vault_meta SET failed_attempts = 0, unlock_blocked_until = NULL WHERE id = 1').run();
    });
  }

  /** The guardian quorum that guarded vault operations (passphrase change) must pass. */
  useGuard(guard: OperationGuard): void {
    this.guard = guard;
  }

  /** What a passphrase change does, as guardians approve it: the KDF the new passphrase gets. */
  passphraseChangeParameters(): Record<string, unknown> {
    const cost = this.options.kdfCost ?? INTERACTIVE_SCRYPT;
    return { newKdf: { algorithm: 'scrypt', N: cost.N, r: cost.r, p: cost.p } };
  }

  /**
   * Guarded: re-derives a key-encryption key from the new passphrase with a fresh salt and
   * re-wraps the same master key, in one transaction with the guard consuming the approval.
   * Sealed records are untouched (they depend on the master key, not the passphrase).
   */
  changePassphrase(requestId: string, current: string, next: string, confirmation: string): Promise<{ requestId: string; changedAt: string }> {
    return this.serialized(async () => {
      const meta = this.meta();
      if (!meta) fail('VAULT_NOT_CREATED', 'No vault exists on this machine yet. Create one first.');
      this.keyRing();
      // Fail closed: without a guard there is no way to run a guarded operation.
      if (!this.guard) throw new Error('no operation guard configured');
      const parameters = this.passphraseChangeParameters();
      this.guard.checkApproval('vault.passphrase.change', meta.vault_id, parameters, requestId);
      if (next !== confirmation) fail('PASSPHRASE_MISMATCH', 'The two new passphrases do not match. Type the same passphrase in both fields.');
      if (next === current) fail('WEAK_PASSPHRASE', 'The new passphrase is the same as the current one. Choose a different passphrase.');
      const verdict = judgePassphrase(next);
      if (!verdict.acceptable) fail('WEAK_PASSPHRASE', verdict.reason);
      // The current passphrase is checked under the unlock throttle; a refusal here leaves the
      // approval request untouched (it is consumed only in the transaction that commits the change).
      this.assertNotThrottled(meta, ' The passphrase was not changed; the approved request stays open until it expires.');
      const aad = associatedData('vault-master-key', meta.vault_id, meta.node_id);
      const oldKek = await deriveKeyEncryptionKey(current, this.kdfParams(meta));
      let masterKey: Buffer;
      try {
        masterKey = open(oldKek, unpack(meta.wrapped_master_key), aad);
      } catch (error) {
        if (!(error instanceof EnvelopeOpenError)) throw error;
        this.recordWrongPassphrase(meta, { operation: 'vault.passphrase.change', requestId });
      } finally {
        oldKek.fill(0);
      }
      const params = newScryptParams(this.options.kdfCost ?? INTERACTIVE_SCRYPT);
      const kek = await deriveKeyEncryptionKey(next, params);
      const wrapped = pack(seal(kek, masterKey!, aad));
      kek.fill(0);
      masterKey!.fill(0);
      const changedAt = new Date(this.options.clock.now()).toISOString();
      this.options.db.transaction(() => {
        const { approvers } = this.guard!.requireApproval('vault.passphrase.change', meta.vault_id, parameters, requestId);
        // The right passphrase ends the run of wrong ones, as a successful unlock does.
        this.options.db.prepare('UPDATE vault_meta SET kdf_params = ?, wrapped_master_key = ?, failed_attempts = 0, unlock_blocked_until = NULL WHERE id = 1').run(JSON.stringify(params), wrapped);
        this.options.audit.append({
          type: 'VAULT_PASSPHRASE_CHANGED',
          actor: 'operator',
          subject: meta.node_id,
          details: { requestId, approvers, kdf: { algorithm: params.algorithm, N: params.N, r: params.r, p: params.p } },
        });
      })();
      this.lastActivity = this.options.clock.now();
      return { requestId, changedAt };
    });
  }

  /** Operator activity: postpones the idle lock. */
  touch(): void {
    this.lastActivity = this.options.clock.now();
  }

  /** Locks if the operator has been idle past the timeout; called by a timer. */
  async lockIfIdle(): Promise<boolean> {
    if (!this.unlocked) return false;
    if (this.options.clock.now() - this.lastActivity < this.options.idleTimeoutSeconds * 1000) return false;
    await this.lock('idle');
    return true;
  }

  /**
   * Runs right after the vault opens, before the unlock returns (rollback checks of single-use
   * state). A listener that fails leaves its own domain to fail closed on its next use; it does
   * not keep the vault locked.
   */
  onUnlock(listener: () => void): () => void {
    this.unlockListeners.add(listener);
    return () => this.unlockListeners.delete(listener);
  }

  private notifyUnlocked(): void {
    for (const listener of this.unlockListeners) {
      try {
        listener();
      } catch {
        // See onUnlock.
      }
    }
  }

  onLock(listener: (reason: LockReason) => void): () => void {
    this.lockListeners.add(listener);
    return () => this.lockListeners.delete(listener);
  }

  private wipe(): void {
    this.ring?.wipe();
    this.ring = null;
  }
}
