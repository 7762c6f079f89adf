/**
 * The registry of three guardians: enrolment, replacement and the integrity of the whole.
 *
 * Each row carries an HMAC under a vault subkey, so a guardian edited in the database file is
 * refused. Row MACs alone do not notice a row that disappears, so a registry head binds the set:
 * the number of rows ever written (replaced guardians keep theirs), an epoch that grows with every
 * change, and a SHA-256 over every row's canonical content, MACed under a second subkey and
 * checked on every read. Deleting, adding or re-MACing rows without the head is tampering.
 *
 * Enrolment fills the three slots once: after three guardians have ever been enrolled, the only
 * way into the registry is a replacement that two guardians approved.
 */
import { createHash, createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import canonicalize from 'canonicalize';
import type { GuardianKind, GuardianRegistry, GuardianView } from '../../preload/contract';
import { fail } from '../errors';
import { GUARDIAN_COUNT, iso, QUORUM, type GuardianContext } from './context';
import { ENROLMENT_TYPES, recoverSigner, type EnrolmentMessage } from './typed-data';

export interface GuardianRow {
  id: string;
  slot: number;
  name: string;
  kind: GuardianKind;
  address: string;
  derivation_path: string | null;
  enrolled_at: string;
  proof_signature: string;
  status: 'active' | 'replaced';
  replaced_at: string | null;
  replaced_by: string | null;
  mac: string;
}

/** A proven new guardian: the key signed an enrolment challenge for this vault and name. */
export interface ProvenGuardian {
  name: string;
  kind: GuardianKind;
  address: string;
  derivationPath: string | null;
  /** `vaultId` is set when the key proved itself to another vault (a guardian adopted from its registry file). */
  proof: { challenge: string; signature: string; vaultId?: string };
}

interface HeadRow {
  state: 'awaiting-first-unlock' | 'sealed';
  guardian_count: number | null;
  epoch: number | null;
  digest: string | null;
  mac: string | null;
  sealed_at: string | null;
}

const ROW_MAC_PURPOSE = 'guardians/registry-mac';
const HEAD_MAC_PURPOSE = 'guardians/registry-head';
export const HEAD_SEALED_EVENT = 'GUARDIAN_REGISTRY_HEAD_SEALED';

const RESTORE_ADVICE = 'Do not approve anything; restore the data folder from a copy taken before the change, or start the console on a new data folder and choose "Or: restore this node from a share backup" on the first screen; then check the guardians with each of them.';

function sameHex(a: string | null, b: string): boolean {
  if (a === null) return false;
  const left = Buffer.from(a, 'hex');
  const right = Buffer.from(b, 'hex');
  return left.length === right.length && left.length > 0 && timingSafeEqual(left, right);
}

export class GuardianRegistryStore {
  constructor(private readonly ctx: GuardianContext) {}

  // --- integrity -----------------------------------------------------------------------------

  private canonicalRow(row: Omit<GuardianRow, 'mac'>, vaultId: string): string {
    return canonicalize({
      id: row.id, slot: row.slot, name: row.name, kind: row.kind, address: row.address, derivationPath: row.derivation_path,
      enrolledAt: row.enrolled_at, proof: row.proof_signature, status: row.status, replacedAt: row.replaced_at, replacedBy: row.replaced_by,
      vaultId,
    }) ?? '';
  }

  rowMac(row: Omit<GuardianRow, 'mac'>): string {
    return createHmac('sha256', this.ctx.subkey(ROW_MAC_PURPOSE)).update(this.canonicalRow(row, this.ctx.vaultId())).digest('hex');
  }

  /**
   * SHA-256 over every row (active and replaced), in id order, so the set is what is hashed.
   * Anyone can compute it; only the head MAC makes it evidence.
   */
  digest(rows: readonly Omit<GuardianRow, 'mac'>[]): string {
    const vaultId = this.ctx.vaultId();
    const hash = createHash('sha256');
    for (const row of [...rows].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))) hash.update(this.canonicalRow(row, vaultId)).update('\n');
    return hash.digest('hex');
  }

  private headMac(count: number, epoch: number, digest: string): string {
    const text = canonicalize({ kind: 'vaultkeeper.guardian-registry-head', version: 1, vaultId: this.ctx.vaultId(), count, epoch, digest }) ?? '';
    return createHmac('sha256', this.ctx.subkey(HEAD_MAC_PURPOSE)).update(text).digest('hex');
  }

  private head(): HeadRow {
    const head = this.ctx.db.prepare('SELECT * FROM guardian_registry_head WHERE id = 1').get() as HeadRow | undefined;
    if (!head) {
      fail('GUARDIAN_REGISTRY_TAMPERED', `The guardian registry head is missing from the database: it was deleted outside Vaultkeeper, so nobody can tell which guardians are genuine. ${RESTORE_ADVICE}`);
    }
    return head;
  }

  private writeHead(rows: readonly Omit<GuardianRow, 'mac'>[], epoch: number): void {
    const digest = this.digest(rows);
    this.ctx.db
      .prepare("UPDATE guardian_registry_head SET state = 'sealed', guardian_count = ?, epoch = ?, digest = ?, mac = ?, sealed_at = ? WHERE id = 1")
      .run(rows.length, epoch, digest, this.headMac(rows.length, epoch, digest), iso(this.ctx.now()));
  }

  private checkRowMacs(rows: readonly GuardianRow[]): void {
    for (const row of rows) {
      if (!sameHex(row.mac, this.rowMac(row))) {
        fail('GUARDIAN_REGISTRY_TAMPERED', `The guardian registry entry for slot ${row.slot} ("${row.name}") was changed outside Vaultkeeper. ${RESTORE_ADVICE}`, { slot: row.slot });
      }
    }
  }

  /**
   * Trust on first use: a vault from before the head existed gets one over the rows it has, the
   * first time the registry is read unlocked. Allowed once per vault: the audit log records it,
   * and a head put back into the unsealed state after that is tampering.
   */
  private sealFirstHead(rows: readonly GuardianRow[]): HeadRow {
    if (this.ctx.audit.list({ type: HEAD_SEALED_EVENT, limit: 1 }).total > 0) {
      fail('GUARDIAN_REGISTRY_TAMPERED', `The guardian registry head was reset in the database although this vault sealed it before (see the ${HEAD_SEALED_EVENT} audit entry). ${RESTORE_ADVICE}`);
    }
    this.checkRowMacs(rows);
    this.ctx.db.transaction(() => {
      this.writeHead(rows, 1);
      this.ctx.audit.append({ type: HEAD_SEALED_EVENT, actor: 'system', subject: this.ctx.vaultId(), details: { guardians: rows.length, trustOnFirstUse: rows.length > 0 } });
    })();
    return this.head();
  }

  /** Every row, after checking the head (count, epoch, digest, MAC) and each row's MAC. */
  all(): GuardianRow[] {
    const rows = this.ctx.db.prepare('SELECT * FROM guardians ORDER BY slot, enrolled_at').all() as GuardianRow[];
    let head = this.head();
    if (head.state === 'awaiting-first-unlock') head = this.sealFirstHead(rows);
    const { guardian_count: count, epoch, digest } = head;
    if (count === null || epoch === null || digest === null || !sameHex(head.mac, this.headMac(count, epoch, digest))) {
      fail('GUARDIAN_REGISTRY_TAMPERED', `The guardian registry head was edited outside Vaultkeeper (its seal does not verify). ${RESTORE_ADVICE}`);
    }
    if (rows.length !== count) {
      const change = rows.length < count ? `${count - rows.length} removed` : `${rows.length - count} added`;
      fail('GUARDIAN_REGISTRY_TAMPERED', `The guardian registry holds ${rows.length} entries but its sealed head records ${count}: ${change} in the database outside Vaultkeeper. ${RESTORE_ADVICE}`, { found: rows.length, sealed: count });
    }
    this.checkRowMacs(rows);
    if (this.digest(rows) !== digest) {
      fail('GUARDIAN_REGISTRY_TAMPERED', `The guardian registry entries do not match their sealed head: an entry was swapped or rewritten in the database outside Vaultkeeper. ${RESTORE_ADVICE}`);
    }
    return rows;
  }

  /** The registry epoch (grows with every enrolment and replacement), after the integrity checks. */
  epoch(): number {
    this.all();
    return this.head().epoch ?? 0;
  }

  active(): GuardianRow[] {
    return this.all().filter((g) => g.status === 'active');
  }

  view(): GuardianRegistry {
    const guardians = this.active().map(toView);
    return { guardians, complete: guardians.length === GUARDIAN_COUNT, required: GUARDIAN_COUNT, quorum: QUORUM };
  }

  assertNotRegistered(address: string, except?: string): void {
    const clash = this.active().find((g) => g.address === address && g.id !== except);
    if (clash) fail('GUARDIAN_ALREADY_REGISTERED', `${address} is already guardian ${clash.slot} ("${clash.name}"). Each guardian needs a key of their own.`, { slot: clash.slot });
  }

  checkProof(g: ProvenGuardian): void {
    const message: EnrolmentMessage = { vaultId: this.ctx.vaultId(), guardianName: g.name, challenge: g.proof.challenge };
    if (recoverSigner(ENROLMENT_TYPES, message, g.proof.signature) !== g.address) {
      fail('ENROLMENT_PROOF_INVALID', `The enrolment proof for ${g.name} (${g.address}) does not verify. Nothing was changed.`);
    }
  }

  private registryFull(everEnrolled: number): never {
    fail('GUARDIAN_REGISTRY_FULL', `Three guardians have already been enrolled in this vault (${everEnrolled} registry entries, replaced ones included). To change one, request a guardian replacement; two guardians must approve it.`);
  }

  /** Refuses early, before a key is asked to sign anything. */
  assertEnrolmentOpen(): void {
    const rows = this.all();
    if (rows.length >= GUARDIAN_COUNT) this.registryFull(rows.length);
  }

  private insert(slot: number, g: ProvenGuardian): GuardianRow {
    const base = {
      id: randomUUID(), slot, name: g.name, kind: g.kind, address: g.address, derivation_path: g.derivationPath,
      enrolled_at: iso(this.ctx.now()), proof_signature: JSON.stringify(g.proof), status: 'active' as const, replaced_at: null, replaced_by: null,
    };
    const row: GuardianRow = { ...base, mac: this.rowMac(base) };
    this.ctx.db
      .prepare(`INSERT INTO guardians (id, slot, name, kind, address, derivation_path, enrolled_at, proof_signature, status, replaced_at, replaced_by, mac)
                VALUES (@id, @slot, @name, @kind, @address, @derivation_path, @enrolled_at, @proof_signature, @status, @replaced_at, @replaced_by, @mac)`)
      .run(row);
    return row;
  }

  /** Re-seals the head over the rows as they are now; call inside the transaction that changed them. */
  private reseal(): void {
    const epoch = this.head().epoch ?? 0;
    const rows = this.ctx.db.prepare('SELECT * FROM guardians').all() as GuardianRow[];
    this.writeHead(rows, epoch + 1);
  }

  /** Initial enrolment of a proven key into the next free slot; `from` says where it came from when not the console's own enrolment. */
  enrol(proven: ProvenGuardian, from?: { file: string; vaultId: string }): void {
    this.ctx.db.transaction(() => {
      const rows = this.all();
      if (rows.length >= GUARDIAN_COUNT) this.registryFull(rows.length);
      this.assertNotRegistered(proven.address);
      const taken = new Set(rows.filter((g) => g.status === 'active').map((g) => g.slot));
      const slot = [1, 2, 3].find((s) => !taken.has(s)) ?? 1;
      const row = this.insert(slot, proven);
      this.reseal();
      this.ctx.audit.append({ type: 'GUARDIAN_ENROLLED', actor: 'operator', subject: row.address, details: { guardianId: row.id, slot, name: row.name, kind: row.kind, ...(from ? { fromFile: from.file, enrolledByVault: from.vaultId } : {}) } });
    })();
  }

  /**
   * Retires `current` and puts `proven` into its slot. Call inside the transaction in which the
   * guard consumed the approved replacement request.
   */
  replace(current: GuardianRow, proven: ProvenGuardian): GuardianRow {
    this.assertNotRegistered(proven.address, current.id);
    const replacedAt = iso(this.ctx.now());
    // The slot's unique index admits one active row: retire first, then insert, then finish the MAC.
    this.ctx.db.prepare("UPDATE guardians SET status = 'replaced', replaced_at = ?, mac = ? WHERE id = ?").run(replacedAt, 'pending', current.id);
    const added = this.insert(current.slot, proven);
    const retired = { ...current, status: 'replaced' as const, replaced_at: replacedAt, replaced_by: added.id };
    this.ctx.db.prepare('UPDATE guardians SET replaced_by = ?, mac = ? WHERE id = ?').run(added.id, this.rowMac(retired), current.id);
    this.reseal();
    return added;
  }
}

export function toView(row: GuardianRow): GuardianView {
  return { id: row.id, slot: row.slot, name: row.name, kind: row.kind, address: row.address, derivationPath: row.derivation_path, enrolledAt: row.enrolled_at };
}
