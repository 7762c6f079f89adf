/**
 * Key checks (share health): every share this node holds, every guardian key and every backup
 * proves itself on a schedule without revealing anything — the share by a key-check signature with
 * the cluster (this node among the signers), the guardian key by signing a fresh challenge, the
 * backup by the verify-only check. Each result is kept with its next due date; a subject never
 * checked is due one interval after it came to be.
 */
import type { KeyCheckOverview, KeyCheckResultView, KeyCheckSubjectKind, KeyCheckSubjectView } from '../../preload/channels/keychecks';
import type { GuardianChallengeView } from '../../preload/channels/keychecks';
import type { AuditLog } from '../audit/audit-log';
import type { BackupService } from '../backup/backup-service';
import type { ClusterService } from '../cluster/cluster-service';
import { AppFailure, fail } from '../errors';
import type { GuardianService } from '../guardians/guardian-service';
import type { Clock } from '../platform/clock';
import type { Db } from '../store/database';
import type { VaultService } from '../vault/vault-service';
import { GuardianChallenges, GUARDIAN_KEY_CHECK_TYPES } from './guardian-challenge';
import { DAY_MS, type DrillSettingsStore } from './settings';

export interface KeyCheckDeps {
  db: Db;
  audit: AuditLog;
  clock: Clock;
  vault: VaultService;
  cluster: ClusterService;
  guardians: GuardianService;
  backups: BackupService;
  settings: DrillSettingsStore;
}

interface Subject {
  kind: KeyCheckSubjectKind;
  id: string;
  label: string;
  /** When it came to be: a never-checked subject is due one interval later. */
  since: number;
}

interface ResultRow {
  checked_at: number;
  outcome: 'passed' | 'failed';
  detail: string;
}

const CHAIN = { ecdsa: 'Ethereum', eddsa: 'Solana' } as const;
const iso = (ms: number) => new Date(ms).toISOString();

export class KeyCheckService {
  readonly challenges: GuardianChallenges;

  constructor(private readonly o: KeyCheckDeps) {
    this.challenges = new GuardianChallenges({ db: o.db, audit: o.audit, clock: o.clock, vaultId: () => o.guardians.currentVaultId() });
  }

  private subjects(): Subject[] {
    const shares: Subject[] = this.o.cluster
      .keysets()
      .filter((k) => k.status === 'active')
      .map((k) => ({ kind: 'share', id: k.keysetId, label: `${CHAIN[k.scheme]} keyset ${k.address ?? k.keysetId}${k.lab ? ' (lab)' : ''} — this node's share`, since: Date.parse(k.createdAt) }));
    const guardians: Subject[] = this.o.guardians.registry().guardians.map((g) => ({ kind: 'guardian', id: g.id, label: `Guardian ${g.name} (${g.kind === 'ledger' ? 'Ledger' : 'key file'}) ${g.address}`, since: Date.parse(g.enrolledAt) }));
    // Only current backups must keep proving themselves; a dead one cannot restore anything.
    const backups: Subject[] = this.o.backups
      .list()
      .filter((b) => b.status === 'current')
      .map((b) => ({ kind: 'backup', id: b.backupId, label: `Backup ${b.backupId.slice(0, 8)} of ${CHAIN[b.scheme]} keyset ${b.address} (${b.filePath})`, since: Date.parse(b.createdAt) }));
    return [...shares, ...guardians, ...backups];
  }

  private last(kind: KeyCheckSubjectKind, id: string): ResultRow | undefined {
    return this.o.db.prepare('SELECT checked_at, outcome, detail FROM key_check_results WHERE subject_kind = ? AND subject_id = ? ORDER BY checked_at DESC, id DESC LIMIT 1').get(kind, id) as ResultRow | undefined;
  }

  private view(s: Subject, now: number, intervalMs: number): KeyCheckSubjectView {
    const last = this.last(s.kind, s.id);
    // The interval in force now counts (a shorter one brings checks forward). A failed check does
    // not push the due date: the subject is due again at once.
    const nextDue = last ? (last.outcome === 'passed' ? last.checked_at + intervalMs : last.checked_at) : s.since + intervalMs;
    const overdue = now >= nextDue;
    return {
      kind: s.kind,
      id: s.id,
      label: s.label,
      lastCheckedAt: last ? iso(last.checked_at) : null,
      lastOutcome: last?.outcome ?? null,
      lastDetail: last?.detail ?? null,
      nextDueAt: iso(nextDue),
      overdue,
      days: Math.floor(Math.abs(nextDue - now) / DAY_MS),
    };
  }

  overview(): KeyCheckOverview {
    this.o.vault.keyRing();
    const now = this.o.clock.now();
    const { keyCheckIntervalDays } = this.o.settings.get();
    const subjects = this.subjects().map((s) => this.view(s, now, keyCheckIntervalDays * DAY_MS));
    subjects.sort((a, b) => Number(b.overdue) - Number(a.overdue) || Date.parse(a.nextDueAt) - Date.parse(b.nextDueAt));
    return { subjects, intervalDays: keyCheckIntervalDays, overdueCount: subjects.filter((s) => s.overdue).length, now: iso(now) };
  }

  private subject(kind: KeyCheckSubjectKind, id: string): Subject {
    const s = this.subjects().find((x) => x.kind === kind && x.id === id);
    if (!s) fail('KEY_CHECK_SUBJECT_NOT_FOUND', `There is no ${kind === 'share' ? 'active keyset' : kind === 'guardian' ? 'current guardian' : 'current backup'} ${id} on this console to check. Refresh the list.`, { kind, id });
    return s;
  }

  /** Writes the result (and its audit entry) in one transaction; `also` runs inside it. */
  record(kind: KeyCheckSubjectKind, id: string, outcome: 'passed' | 'failed', detail: string, via: string, also?: () => void): KeyCheckResultView {
    const s = this.subject(kind, id);
    const now = this.o.clock.now();
    const intervalMs = this.o.settings.get().keyCheckIntervalDays * DAY_MS;
    this.o.db.transaction(() => {
      also?.();
      this.o.db.prepare('INSERT INTO key_check_results (subject_kind, subject_id, checked_at, outcome, detail, next_due_at, via) VALUES (?, ?, ?, ?, ?, ?, ?)').run(kind, id, now, outcome, detail, now + intervalMs, via);
      this.o.audit.append({ type: outcome === 'passed' ? 'KEY_CHECK_PASSED' : 'KEY_CHECK_FAILED', actor: 'operator', subject: id, details: { kind, detail, via, nextDueAt: iso(now + intervalMs) } });
    })();
    return { subject: this.view(s, now, intervalMs), outcome, detail };
  }

  /** This node's share signs a key-check message with the cluster; the signature is verified under the keyset's key. */
  async checkShare(keysetId: string, via = 'key check'): Promise<KeyCheckResultView> {
    this.o.vault.keyRing();
    this.subject('share', keysetId);
    const me = this.o.vault.nodeId();
    let outcome: 'passed' | 'failed';
    let detail: string;
    try {
      const out = await this.o.cluster.keyCheck(keysetId, 'key-check', { prefer: [me] });
      // A signature the other two made says nothing about this node's share.
      if (!out.parties.includes(me)) {
        outcome = 'failed';
        detail = `The key-check signature was made without this node (by ${out.parties.map((p) => this.nodeName(p)).join(' and ')}), so it proves nothing about this node's share. Check again when this node can take part.`;
      } else {
        outcome = 'passed';
        detail = `This node's share signed a key-check message with ${out.parties.filter((p) => p !== me).map((p) => this.nodeName(p)).join(', ')} (session ${out.sessionId.slice(0, 12)}…); the signature verifies under the keyset's public key.`;
      }
    } catch (error) {
      if (!(error instanceof AppFailure)) throw error;
      outcome = 'failed';
      detail = `No key-check signature: ${error.message}`;
    }
    return this.record('share', keysetId, outcome, detail, via);
  }

  private nodeName(nodeId: string): string {
    return this.o.cluster.node(nodeId)?.name ?? `${nodeId.slice(0, 8)}…`;
  }

  /** The backup file passes the verify-only check: signature, format, public data, current epoch. */
  checkBackup(backupId: string, via = 'key check'): KeyCheckResultView {
    this.o.vault.keyRing();
    this.subject('backup', backupId);
    const backup = this.o.backups.list().find((b) => b.backupId === backupId)!;
    let outcome: 'passed' | 'failed';
    let detail: string;
    try {
      const v = this.o.backups.verify(backup.filePath);
      const bad = v.checks.filter((c) => !c.ok);
      if (v.backupId !== backupId) {
        outcome = 'failed';
        detail = `The file at ${backup.filePath} holds backup ${v.backupId}, not ${backupId}: it was replaced.`;
      } else if (v.ok) {
        outcome = 'passed';
        detail = `Verify-only check passed: ${v.checks.map((c) => c.name).join(', ')}.`;
      } else {
        outcome = 'failed';
        detail = `Verify-only check failed: ${bad.map((c) => c.detail).join(' ')}`;
      }
    } catch (error) {
      if (!(error instanceof AppFailure)) throw error;
      outcome = 'failed';
      detail = `The backup file did not pass the verify-only check: ${error.message}`;
    }
    return this.record('backup', backupId, outcome, detail, via);
  }

  /** A fresh challenge for the guardian's registered key. */
  guardianChallenge(guardianId: string): GuardianChallengeView {
    this.o.vault.keyRing();
    const g = this.o.guardians.registry().guardians.find((x) => x.id === guardianId);
    if (!g) fail('KEY_CHECK_SUBJECT_NOT_FOUND', 'That guardian is not in the registry any more. Refresh the list.', { guardianId });
    return this.challenges.issue(g);
  }

  /** The answer to a challenge, checked against the guardian's registered key, recorded once. */
  guardianAnswer(challengeId: string, signature: string, via = 'signature file'): KeyCheckResultView {
    this.o.vault.keyRing();
    const { row } = this.challenges.open(challengeId);
    const g = this.o.guardians.registry().guardians.find((x) => x.id === row.guardian_id);
    if (!g) fail('KEY_CHECK_SUBJECT_NOT_FOUND', 'The guardian this challenge was issued to is no longer in the registry.', { challengeId });
    this.challenges.verify(challengeId, signature, g.address);
    return this.record('guardian', g.id, 'passed', `${g.name}'s key ${g.address} signed a fresh challenge (${via}).`, via, () => this.challenges.consume(challengeId));
  }

  /** The guardian signs the challenge at this console (Ledger, or the key file for this one signature). */
  async guardianSign(challengeId: string, signer: { method: 'ledger' } | { method: 'software'; keyFile: string; passphrase: string }): Promise<KeyCheckResultView> {
    this.o.vault.keyRing();
    const { row, message } = this.challenges.open(challengeId);
    const guardian = this.o.guardians.registryStore.active().find((g) => g.id === row.guardian_id);
    if (!guardian) fail('KEY_CHECK_SUBJECT_NOT_FOUND', 'The guardian this challenge was issued to is no longer in the registry.', { challengeId });
    const signature = await this.o.guardians.signers.signAs(guardian, signer, GUARDIAN_KEY_CHECK_TYPES, { ...message });
    return this.guardianAnswer(challengeId, signature, signer.method === 'ledger' ? 'Ledger at this console' : 'key file at this console');
  }
}
