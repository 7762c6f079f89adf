/**
 * This node's record of the sessions it took part in: the row written when it joins, the outcome
 * (with the new keyset of a key generation) written with its audit event in one transaction, and
 * the sessions a crash left open closed on start.
 */
import type { ClusterSessionView } from '../../preload/contract';
import type { Participant, PublicResult, SessionInfo } from '../coordinator/protocol';
import type { MpcSigner, SessionResult } from '../mpc/index';
import type { AuxGroups } from './aux-groups';
import type { ClusterDeps } from './deps';
import { isoNow } from './deps';
import { ClusterError, type SessionFailure } from './errors';
import type { LocalIdentity } from './identity';
import type { AdmittedInvite } from './invites';
import { keyRef, SHARE_RECORD, type Keysets, type Scheme } from './keysets';
import { createsKeyset, isSetupProtocol } from './protocols';

/** A session as this node records it: the view the UI shows, plus who asked and who took part. */
export interface SessionRecord extends ClusterSessionView {
  requester: string;
  parties: Participant[];
}

type Row = Record<string, unknown>;

export interface SessionRecordsDeps extends ClusterDeps {
  keysets: Keysets;
  auxGroups: AuxGroups;
  signer: () => MpcSigner;
  /** This node's identity when loaded. */
  me: () => LocalIdentity | null;
  /** True while this console serves the embedded lab cluster: new keysets get the lab mark. */
  labMode: () => boolean;
  /** Told when a key generation ends here (the keygen window forgets it). */
  keygenEnded: (keysetId: string) => void;
}

export class SessionRecords {
  constructor(private readonly d: SessionRecordsDeps) {}

  /** Sessions left running by a crash or kill cannot resume (the engine state is gone): close them. */
  recoverInterrupted(): void {
    const open = this.d.db.prepare(`SELECT session_id, protocol, keyset_id FROM mpc_sessions WHERE state = 'running'`).all() as Row[];
    if (open.length === 0) return;
    this.d.db.transaction(() => {
      for (const r of open) {
        this.d.db
          .prepare(`UPDATE mpc_sessions SET state = 'failed', error_class = 'transient', error_code = 'NODE_RESTARTED', error_reason = 'This node stopped during the session.', finished_at = ? WHERE session_id = ?`)
          .run(isoNow(this.d.clock), r.session_id);
        this.d.audit.append({ type: `${eventPrefix(String(r.protocol))}_FAILED`, actor: 'system', subject: String(r.session_id), details: { keysetId: r.keyset_id, errorClass: 'transient', code: 'NODE_RESTARTED' } });
      }
    })();
  }

  known(sessionId: string): boolean {
    return this.d.db.prepare('SELECT 1 FROM mpc_sessions WHERE session_id = ?').get(sessionId) !== undefined;
  }

  list(limit = 100): SessionRecord[] {
    return (this.d.db.prepare('SELECT * FROM mpc_sessions ORDER BY started_at DESC LIMIT ?').all(limit) as Row[]).map(toSession);
  }

  /** Records that this node joined a session (row and audit event in one transaction). */
  recordStart(info: SessionInfo, decision: AdmittedInvite['decision'], transport: 'coordinator' | 'airgap'): void {
    this.d.db.transaction(() => {
      this.d.db
        .prepare(`INSERT INTO mpc_sessions (session_id, protocol, keyset_id, requester, parties, state, started_at) VALUES (?, ?, ?, ?, ?, 'running', ?)`)
        .run(info.sessionId, info.protocol, info.keysetId, info.requester, JSON.stringify(info.parties), isoNow(this.d.clock));
      this.d.audit.append({
        type: `${eventPrefix(info.protocol)}_STARTED`,
        actor: info.requester,
        subject: info.sessionId,
        details: { keysetId: info.keysetId, protocol: info.protocol, parties: info.parties.map((p) => p.nodeId), ...(transport === 'airgap' ? { transport } : {}), ...(decision ? { authorization: decision.kind, permitId: decision.permitId } : {}) },
      });
    })();
  }

  /** Records the outcome of a session this node took part in, in one transaction with its audit event. */
  finish(info: SessionInfo, state: 'completed' | 'failed', pending: SessionResult | undefined, failure: SessionFailure | undefined, result: PublicResult | undefined): void {
    const keygen = createsKeyset(info.protocol);
    const auxSession = info.protocol === 'ecdsa-aux';
    const me = this.d.me();
    const lab = keygen ? this.d.labMode() : this.d.keysets.get(info.keysetId)?.lab === true;
    if (isSetupProtocol(info.protocol)) this.d.keygenEnded(info.keysetId);
    const now = isoNow(this.d.clock);
    const mine = me ? info.parties.find((p) => p.nodeId === me.nodeId) : undefined;
    // What this node's engine produced is checked before anything is written: auxiliary data for
    // this node's index and group, a new share that carries exactly the auxiliary data named.
    let auxGroupId: string | null = null;
    if (state === 'completed' && pending && mine) {
      try {
        if (auxSession) {
          if (!pending.aux || !pending.auxId) throw new ClusterError({ errorClass: 'permanent', code: 'AUX_MISMATCH', reason: 'The auxiliary-data session ended without auxiliary data at this node.' });
          this.d.auxGroups.check({ participants: info.parties, myPartyIndex: mine.partyIndex, aux: pending.aux, auxId: pending.auxId.toString('hex') });
        }
        if (info.protocol === 'ecdsa-dkg') {
          const attached = pending.share ? this.d.signer().ecdsaAuxInfo(pending.share).auxId.toString('hex') : null;
          if (attached !== info.auxId) throw new ClusterError({ errorClass: 'permanent', code: 'AUX_MISMATCH', reason: 'The new key share does not carry the auxiliary data the key generation named; it was not stored.' });
          auxGroupId = this.d.auxGroups.byAuxId(info.auxId!)?.auxGroupId ?? null;
        }
      } catch (error) {
        state = 'failed';
        failure = error instanceof ClusterError ? error.toFailure() : { errorClass: 'permanent', code: 'AUX_MISMATCH', reason: 'The auxiliary data could not be checked.' };
      }
    }
    this.d.db.transaction(() => {
      const ok = state === 'completed' && (!isSetupProtocol(info.protocol) || ((keygen ? pending?.share : pending?.aux) && me));
      if (ok && auxSession && pending?.aux && pending.auxId && mine) {
        this.d.auxGroups.store({ auxGroupId: info.keysetId, clusterId: info.clusterId, participants: info.parties, myPartyIndex: mine.partyIndex, sessionId: info.sessionId, aux: pending.aux, auxId: pending.auxId.toString('hex') });
      }
      if (ok && keygen && pending?.share && me) {
        const scheme: Scheme = info.protocol.startsWith('ecdsa') ? 'ecdsa' : 'eddsa';
        const mine = info.parties.find((p) => p.nodeId === me.nodeId)!;
        this.d.vault.records.put(SHARE_RECORD.type, info.keysetId, SHARE_RECORD.schemaVersion, pending.share);
        this.d.db
          .prepare(`INSERT INTO mpc_keysets (keyset_id, cluster_id, scheme, key_ref, threshold, participants, my_party_index, public_key, address, status, session_id, created_at, lab, aux_group_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'active', ?, ?, ?, ?)`)
          .run(info.keysetId, info.clusterId, scheme, keyRef(scheme, info.clusterId, info.keysetId), info.threshold, JSON.stringify(info.parties), mine.partyIndex, pending.publicKey?.toString('hex') ?? null, pending.address ?? null, info.sessionId, now, lab ? 1 : 0, auxGroupId);
      }
      this.d.db
        .prepare(`UPDATE mpc_sessions SET state = ?, error_class = ?, error_code = ?, error_reason = ?, blamed_node = ?, result = ?, finished_at = ? WHERE session_id = ?`)
        .run(ok ? 'completed' : 'failed', failure?.errorClass ?? null, failure?.code ?? null, failure?.reason ?? null, failure?.blamedNode ?? null, result ? JSON.stringify(result) : null, now, info.sessionId);
      const type = `${eventPrefix(info.protocol)}_${ok ? 'COMPLETED' : 'FAILED'}`;
      this.d.audit.append({
        type,
        actor: 'system',
        subject: info.sessionId,
        details: {
          ...(ok
            ? { keysetId: info.keysetId, parties: info.parties.map((p) => p.nodeId), ...(result?.address ? { address: result.address } : {}) }
            : { keysetId: info.keysetId, errorClass: failure?.errorClass ?? 'transient', code: failure?.code ?? 'FAILED', reason: failure?.reason ?? '', ...(failure?.blamedNode ? { blamedNode: failure.blamedNode } : {}) }),
          ...(lab ? { lab: true } : {}),
        },
      });
    })();
  }
}

/** Audit event family of a protocol: MPC_KEYGEN, MPC_AUX, MPC_REFRESH, MPC_PRESIGN or MPC_SIGN. */
function eventPrefix(protocol: string): string {
  if (protocol.endsWith('-keygen') || protocol === 'ecdsa-dkg') return 'MPC_KEYGEN';
  if (protocol === 'ecdsa-aux') return 'MPC_AUX';
  if (protocol === 'eddsa-refresh' || protocol === 'ecdsa-refresh-shares') return 'MPC_REFRESH';
  return protocol === 'ecdsa-presign' ? 'MPC_PRESIGN' : 'MPC_SIGN';
}

function toSession(r: Row): SessionRecord {
  return {
    sessionId: String(r.session_id),
    protocol: String(r.protocol),
    keysetId: String(r.keyset_id),
    requester: String(r.requester),
    parties: JSON.parse(String(r.parties)) as Participant[],
    state: r.state as SessionRecord['state'],
    errorClass: (r.error_class as string | null) ?? null,
    errorCode: (r.error_code as string | null) ?? null,
    errorReason: (r.error_reason as string | null) ?? null,
    blamedNode: (r.blamed_node as string | null) ?? null,
    startedAt: String(r.started_at),
    finishedAt: (r.finished_at as string | null) ?? null,
    ...publicOutcome(r.result),
  };
}

/** The signature or public key a finished session recorded (nothing secret is ever in `result`). */
function publicOutcome(raw: unknown): { signature: string | null; publicKey: string | null } {
  if (typeof raw !== 'string') return { signature: null, publicKey: null };
  try {
    const result = JSON.parse(raw) as { signature?: unknown; publicKey?: unknown };
    return { signature: typeof result.signature === 'string' ? result.signature : null, publicKey: typeof result.publicKey === 'string' ? result.publicKey : null };
  } catch {
    return { signature: null, publicKey: null };
  }
}
