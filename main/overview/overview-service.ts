/**
 * The Overview: what needs attention on this console, each item with the screen where it is
 * handled, and the first-run checklist. It only reads other domains through their services; a
 * capability that lands later (permits waiting, backups, drills) adds one item builder here.
 */
import type { ChecklistStep, JobKind, OverviewItem, OverviewLink, OverviewView } from '../../preload/contract';
import type { Services } from '../services';
import { refreshOverviewItem } from '../refresh/refresh-overview';

const utcWords = (iso: string) => `${iso.slice(0, 16).replace('T', ' ')} UTC`;

function inWords(ms: number): string {
  const minutes = Math.max(1, Math.ceil(Math.abs(ms) / 60_000));
  const text = minutes < 60 ? `${minutes} min` : `${Math.floor(minutes / 60)} h${minutes % 60 ? ` ${minutes % 60} min` : ''}`;
  return ms >= 0 ? `in ${text}` : `${text} ago`;
}

type Deps = Pick<Services, 'vault' | 'guardians' | 'cluster' | 'audit' | 'policy' | 'ceremony' | 'jobs' | 'clock' | 'db' | 'backup' | 'drills' | 'exit'> & Partial<Pick<Services, 'refresh'>>;

/** Where each kind of job is shown. */
const JOB_SCREEN: Record<JobKind, OverviewLink> = {
  keygen: 'keysets', aux: 'keysets', presign: 'keysets', refresh: 'keysets', repair: 'keysets', drill: 'drills', 'bulk-sign': 'queue', backup: 'backups', restore: 'backups',
};

export class OverviewService {
  constructor(private readonly s: Deps) {}

  get(): OverviewView {
    this.s.vault.keyRing();
    const now = this.s.clock.now();
    const items = [this.vaultItem(), this.guardiansItem(), this.approvalsItem(now), this.clusterItem(), this.keysetsItem(), ...(this.s.refresh ? [refreshOverviewItem(this.s.refresh)] : []), this.backupsItem(), this.keyChecksItem(), this.drillsItem(), this.policyItem(), this.auditItem()];
    return { items, checklist: this.checklist(), now: new Date(now).toISOString() };
  }

  private vaultItem(): OverviewItem {
    const status = this.s.vault.status();
    const running = this.s.jobs.list().filter((j) => j.state === 'running');
    return {
      id: 'vault',
      title: 'Vault',
      tone: running.length ? 'attention' : 'ok',
      headline: `Unlocked; locks itself after ${Math.round(status.idleTimeoutSeconds / 60)} min without activity`,
      lines: [
        ...running.map((j) => `Running: ${j.label} (${j.phase}) — ${j.cancelBlocked ? `locking now lets it finish this step (${j.cancelBlocked})` : j.kind === 'bulk-sign' ? 'locking now stops it after the permit being signed' : 'locking now ends it as failed'}`),
        `Node fingerprint ${status.nodeFingerprint ?? '—'}`,
      ],
      link: running.length ? JOB_SCREEN[running[0]!.kind] : null,
      action: 'Open the running job',
    };
  }

  /** When each guardian last signed anything on this console (an approval or a rejection). */
  private lastSigned(): Map<string, number> {
    const rows = this.s.db.prepare('SELECT guardian_id, MAX(received_at) AS at FROM approvals GROUP BY guardian_id').all() as Array<{ guardian_id: string; at: number }>;
    return new Map(rows.map((r) => [r.guardian_id, r.at]));
  }

  private guardiansItem(): OverviewItem {
    const registry = this.s.guardians.registry();
    const last = this.lastSigned();
    const missing = registry.required - registry.guardians.length;
    return {
      id: 'guardians',
      title: 'Guardians',
      tone: registry.complete ? 'ok' : registry.guardians.length ? 'attention' : 'idle',
      headline: `${registry.guardians.length} of ${registry.required} enrolled${missing > 0 ? ` — enrol ${missing} more before any guarded operation can be approved` : `; ${registry.quorum} must approve each guarded operation`}`,
      lines: registry.guardians.map((g) => {
        const at = last.get(g.id);
        return `${g.slot}. ${g.name} (${g.kind === 'ledger' ? 'Ledger' : 'key file'}) — ${at ? `last signed ${utcWords(new Date(at).toISOString())}` : 'has not signed anything here yet'}`;
      }),
      link: 'guardians',
      action: registry.complete ? 'Open Guardians' : 'Enrol guardians',
    };
  }

  private approvalsItem(now: number): OverviewItem {
    const pending = this.s.guardians.listRequests().pending;
    const byExpiry = [...pending].sort((a, b) => Date.parse(a.expiresAt) - Date.parse(b.expiresAt));
    return {
      id: 'approvals',
      title: 'Pending approvals',
      tone: pending.length ? 'attention' : 'ok',
      headline: pending.length ? `${pending.length} waiting for guardians; the first expires ${inWords(Date.parse(byExpiry[0]!.expiresAt) - now)}` : 'Nothing is waiting for guardians',
      lines: byExpiry.slice(0, 5).map((r) => `${r.operationLabel}: ${r.approvalsCounted} / ${r.quorum} approvals, expires ${inWords(Date.parse(r.expiresAt) - now)} (${utcWords(r.expiresAt)})`),
      link: 'approvals',
      action: pending.length ? 'Review approvals' : 'Open Approvals',
    };
  }

  private clusterItem(): OverviewItem {
    const { cluster } = this.s;
    const quarantined = cluster.nodes().filter((n) => n.status === 'quarantined');
    const mode = cluster.mode === 'lab' ? 'Lab cluster on this machine (not for real funds)' : cluster.mode === 'configured' ? 'Configured cluster' : 'No cluster configured';
    return {
      id: 'cluster',
      title: 'Signer cluster',
      tone: quarantined.length ? 'attention' : cluster.connected ? 'ok' : 'idle',
      headline: `${mode}; ${cluster.connected ? `connected to ${cluster.coordinatorUrl ?? ''}` : 'not connected'}`,
      lines: [
        `${cluster.nodes().length} node(s) enrolled${quarantined.length ? `, ${quarantined.length} quarantined: ${quarantined.map((n) => n.name).join(', ')}` : ''}`,
      ],
      link: 'keysets',
      action: cluster.connected ? 'Open Keysets' : 'Set up or join a cluster',
    };
  }

  private keysetsItem(): OverviewItem {
    const { cluster } = this.s;
    const keysets = cluster.keysets();
    const now = this.s.clock.now();
    const exported = this.s.exit.records.exportedKeysets();
    const lines = keysets.map((k) => {
      const chain = k.scheme === 'ecdsa' ? 'Ethereum' : 'Solana';
      const mode = k.lab ? 'lab' : 'cluster';
      const pool = k.scheme === 'ecdsa'
        ? `, ${cluster.presignatures(k.keysetId).filter((p) => p.state === 'ready' && p.holdsSecret && Date.parse(p.expiresAt) > now).length} presignature(s) ready`
        : '';
      const exportedAt = exported.get(k.keysetId);
      const mark = exportedAt ? `EXPORTED ${utcWords(exportedAt)} — full key outside the cluster, single point of failure: ` : '';
      return `${mark}${chain} ${k.address ?? k.keysetId} — ${k.threshold}-of-${k.participants.length}, ${mode}, ${k.status}${pool}`;
    });
    const failed = keysets.filter((k) => k.status !== 'active').length;
    const exportedCount = keysets.filter((k) => exported.has(k.keysetId)).length;
    return {
      id: 'keysets',
      title: 'Keysets',
      tone: failed || exportedCount ? 'attention' : keysets.length ? 'ok' : 'idle',
      headline: keysets.length ? `${keysets.length} keyset(s)${failed ? `, ${failed} failed` : ''}${exportedCount ? `, ${exportedCount} EXPORTED (single point of failure: move the funds)` : ''}` : 'No keyset yet',
      lines,
      link: 'keysets',
      action: keysets.length ? 'Open Keysets' : 'Create a keyset',
    };
  }

  /** Every keyset this node holds a share of should have a backup of its current share. */
  private backupsItem(): OverviewItem {
    const { keysets, backups } = this.s.backup.backups.overview();
    const missing = keysets.filter((k) => !k.hasCurrentBackup);
    const dead = backups.filter((b) => b.status === 'dead').length;
    const label = (k: { scheme: 'ecdsa' | 'eddsa'; address: string | null; keysetId: string }) => `${k.scheme === 'ecdsa' ? 'Ethereum' : 'Solana'} ${k.address ?? k.keysetId}`;
    return {
      id: 'backups',
      title: 'Share backups',
      tone: missing.length ? 'attention' : keysets.length ? 'ok' : 'idle',
      headline: !keysets.length
        ? 'No share to back up yet'
        : missing.length ? `${missing.length} of ${keysets.length} keyset share(s) without a current backup` : `Every share (${keysets.length}) has a current backup`,
      lines: [
        ...missing.map((k) => `No current backup: ${label(k)}`),
        ...(dead ? [`${dead} backup(s) made dead by a refresh: they cannot restore the share any more`] : []),
      ],
      link: keysets.length ? 'backups' : null,
      action: missing.length ? 'Make a backup' : 'Open Backups',
    };
  }

  /** Every share, backup and guardian key with its last check and next due date; overdue ones first. */
  private keyChecksItem(): OverviewItem {
    const { subjects, intervalDays, overdueCount } = this.s.drills.keyChecks.overview();
    return {
      id: 'key-checks',
      title: 'Key checks',
      tone: overdueCount ? 'attention' : subjects.length ? 'ok' : 'idle',
      headline: subjects.length
        ? overdueCount ? `${overdueCount} of ${subjects.length} key check(s) OVERDUE (every ${intervalDays} days)` : `All ${subjects.length} key check(s) up to date (every ${intervalDays} days)`
        : 'Nothing to check yet: no share, guardian or backup',
      lines: subjects.map((k) => `${k.overdue ? 'OVERDUE' : 'ok'} — ${k.label}: last check ${k.lastCheckedAt ? `${utcWords(k.lastCheckedAt)} (${k.lastOutcome})` : 'never'}, ${k.overdue ? `due since ${utcWords(k.nextDueAt)} (${k.days} day(s) late)` : `next due ${utcWords(k.nextDueAt)}`}`),
      link: 'drills',
      action: overdueCount ? 'Run the overdue key checks' : 'Open Drills and key checks',
    };
  }

  private drillsItem(): OverviewItem {
    const { runbooks, settings } = this.s.drills.history.history();
    const overdue = runbooks.filter((r) => r.overdue);
    return {
      id: 'drills',
      title: 'Recovery drills',
      tone: overdue.length ? 'attention' : 'ok',
      headline: overdue.length ? `${overdue.length} of ${runbooks.length} runbook(s) not drilled in the last ${settings.drillIntervalDays} days` : `Every runbook drilled in the last ${settings.drillIntervalDays} days`,
      lines: runbooks.map((r) => `${r.overdue ? 'OVERDUE' : 'ok'} — ${r.title}: ${r.lastPassedAt ? `last passed ${utcWords(r.lastPassedAt)}` : 'never passed'}`),
      link: 'drills',
      action: 'Open Drills',
    };
  }

  private policyItem(): OverviewItem {
    const { killSwitch } = this.s.policy.overview();
    return {
      id: 'policy',
      title: 'Signing policy',
      tone: killSwitch.engaged ? 'attention' : 'ok',
      headline: killSwitch.engaged ? `Kill switch engaged: nothing is signed${killSwitch.reason ? ` (${killSwitch.reason})` : ''}` : 'Signing allowed within each keyset\'s policy',
      lines: killSwitch.changedAt ? [`Kill switch last changed ${utcWords(killSwitch.changedAt)}${killSwitch.changedBy ? ` by ${killSwitch.changedBy}` : ''}`] : [],
      link: 'policy',
      action: 'Open Policy',
    };
  }

  private auditItem(): OverviewItem {
    const { audit } = this.s;
    const verified = audit.list({ type: 'AUDIT_VERIFIED', limit: 1 }).entries[0];
    const exported = audit.list({ type: 'AUDIT_EXPORTED', limit: 1 }).entries[0];
    const broken = verified && verified.details.intact === false;
    return {
      id: 'audit',
      title: 'Audit log',
      tone: broken ? 'attention' : verified ? 'ok' : 'idle',
      headline: verified
        ? broken ? `Chain BROKEN at row ${String(verified.details.firstBrokenSeq)} (checked ${utcWords(verified.at)})` : `Chain verified ${utcWords(verified.at)}: ${String(verified.details.rows)} rows intact`
        : 'The chain has not been verified on this console yet',
      lines: [exported ? `Last export ${utcWords(exported.at)}, head hash ${String(exported.details.headHash)}` : 'Never exported'],
      link: 'audit',
      action: verified ? 'Open the audit log' : 'Verify the chain',
    };
  }

  private backupsStep(): ChecklistStep {
    const { keysets } = this.s.backup.backups.overview();
    const backedUp = keysets.filter((k) => k.hasCurrentBackup).length;
    const done = keysets.length > 0 && backedUp === keysets.length;
    const note = !keysets.length ? 'Create a keyset first' : `${backedUp} of ${keysets.length} keyset share(s) backed up`;
    return { id: 'backups', label: "Make backups of this node's shares", done, note, link: 'backups', available: true };
  }

  private checklist(): ChecklistStep[] {
    const registry = this.s.guardians.registry();
    const { cluster } = this.s;
    const keysets = cluster.keysets().filter((k) => k.status === 'active');
    const ceremonies = this.s.ceremony.ceremonies.list();
    const certified = ceremonies.filter((c) => c.status === 'certified').length;
    return [
      { id: 'guardians', label: 'Enrol the three guardians', done: registry.complete, note: `${registry.guardians.length} of ${registry.required} enrolled`, link: 'guardians', available: true },
      { id: 'cluster', label: 'Set up or join a signer cluster', done: cluster.connected || cluster.nodes().length >= 3, note: cluster.connected ? `Connected (${cluster.mode === 'lab' ? 'lab cluster' : 'cluster'})` : `${cluster.nodes().length} node(s) enrolled, not connected`, link: 'keysets', available: true },
      { id: 'keyset', label: 'Create a keyset', done: keysets.length > 0, note: keysets.length ? `${keysets.length} active keyset(s)` : 'None yet', link: 'keysets', available: true },
      { id: 'ceremony', label: 'Run the master-seed ceremony', done: certified > 0, note: certified ? `${certified} certified ceremony(ies)` : ceremonies.length ? 'Started, not certified yet' : 'Not run yet', link: 'ceremony', available: true },
      this.backupsStep(),
      this.drillStep(),
    ];
  }

  private drillStep(): ChecklistStep {
    const passed = this.s.drills.history.history().runbooks.filter((r) => r.lastPassedAt).length;
    return { id: 'drill', label: 'Run a first recovery drill', done: passed > 0, note: passed ? `${passed} runbook(s) drilled with a pass` : 'No drill has passed yet', link: 'drills', available: true };
  }
}
