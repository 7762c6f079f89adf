/**
 * Key generation ceremonies: the window in which this node accepts key generation requested by
 * peers, and a 2-of-3 key generation started here with this node and two enrolled peers.
 */
import { randomUUID } from 'node:crypto';
import type { AuditLog } from '../audit/audit-log';
import type { Participant } from '../coordinator/protocol';
import { fail } from '../errors';
import type { VaultService } from '../vault/vault-service';
import type { AuxGroupRecord, AuxGroups } from './aux-groups';
import type { Keysets, KeysetRecord, Scheme } from './keysets';
import type { Membership } from './membership';
import type { KeygenWindow } from './session-limits';
import { newSessionId } from './session-request';
import { sessionFailure, type SessionRequests } from './session-requests';

export interface KeygenDeps {
  vault: VaultService;
  audit: AuditLog;
  membership: Membership;
  keysets: Keysets;
  auxGroups: AuxGroups;
  requests: SessionRequests;
  window: KeygenWindow;
}

export interface CreateKeysetOptions {
  timeoutMs?: number;
  idempotencyKey?: string;
  /**
   * ECDSA: 'reuse' runs only the distributed key generation and attaches the group's stored
   * auxiliary data (default when the group has some); 'own' generates auxiliary data for this
   * keyset alone, in the same session (slow: prime search and proofs).
   */
  aux?: 'reuse' | 'own';
}

export class KeygenCeremonies {
  constructor(private readonly d: KeygenDeps) {}

  /**
   * The operator accepts key generation requested by peers for `minutes` (1 minute to 24 h).
   * Outside such a window only a key generation started on this node runs here.
   */
  openWindow(minutes: number, actor: 'operator' = 'operator'): { openUntil: string } {
    this.d.vault.keyRing();
    let until: number;
    try {
      until = this.d.window.openFor(minutes);
    } catch {
      fail('KEYGEN_WINDOW_INVALID', 'A key-generation window lasts 1 minute to 24 hours. Choose a number of minutes in that range.', { minutes });
    }
    const openUntil = new Date(until).toISOString();
    this.d.audit.append({ type: 'KEYGEN_WINDOW_OPENED', actor, subject: this.d.membership.current?.nodeId ?? this.d.vault.nodeId(), details: { minutes, openUntil } });
    return { openUntil };
  }

  closeWindow(): void {
    this.d.vault.keyRing();
    if (this.d.window.openUntil() === null) return;
    this.d.window.close();
    this.d.audit.append({ type: 'KEYGEN_WINDOW_CLOSED', actor: 'operator', subject: this.d.membership.current?.nodeId ?? this.d.vault.nodeId(), details: {} });
  }

  /** This node and its two peers, all connected; the cluster id. */
  private async group(what: string): Promise<{ members: Participant[]; clusterId: string }> {
    await this.d.membership.identity();
    const members = this.d.membership.members();
    if (members.length !== 3) fail('CLUSTER_NOT_READY', `A 2-of-3 ${what} needs this node and two enrolled, non-quarantined peers; ${members.length - 1} peer(s) are available.`);
    const requests = this.d.requests;
    const clusterId = requests.requireClusterId();
    const connected = new Set(await requests.requireClient().presence(members.map((m) => m.nodeId)));
    const online = members.filter((m) => connected.has(m.nodeId)).length;
    if (online < members.length) fail('QUORUM_UNAVAILABLE', `Quorum unavailable: ${online} of the ${members.length} members can take part, ${members.length} are needed for ${what}.`);
    return { members, clusterId };
  }

  /**
   * Generates the ECDSA auxiliary data (Paillier keys and proofs) of this node's group of three,
   * once: every node seals its part, and later ECDSA keysets of the group attach it. Running it
   * again (after a suspected compromise) retires the group's earlier data for new keysets.
   */
  async prepareAux(options: { timeoutMs?: number; idempotencyKey?: string } = {}): Promise<AuxGroupRecord> {
    const { members, clusterId } = await this.group('auxiliary-data generation');
    const auxGroupId = `aux-${randomUUID()}`;
    this.d.window.startedHere(auxGroupId);
    const end = await this.d.requests.run(options.idempotencyKey ?? `aux-${auxGroupId}`, {
      clusterId,
      sessionId: newSessionId(),
      protocol: 'ecdsa-aux',
      keysetId: auxGroupId,
      parties: members,
      threshold: 2,
      permitId: null,
      deadlineAt: Date.now() + (options.timeoutMs ?? 600_000),
    });
    if (end.state !== 'completed') sessionFailure(end);
    const group = this.d.auxGroups.get(auxGroupId);
    if (!group) fail('MPC_SESSION_FAILED', 'The auxiliary-data session finished but this node did not store its part.');
    return group;
  }

  /** Runs a 2-of-3 key generation with this node and two enrolled peers. */
  async createKeyset(scheme: Scheme, options: CreateKeysetOptions = {}): Promise<KeysetRecord> {
    const { members, clusterId } = await this.group('keyset');
    const requests = this.d.requests;
    const aux = scheme === 'ecdsa' && options.aux !== 'own' ? this.d.auxGroups.activeFor(clusterId, members) : null;
    if (options.aux === 'reuse' && !aux) fail('AUX_NOT_READY', "This group of nodes has no auxiliary data yet. Generate it first (Keysets → Prepare ECDSA auxiliary data), or create the keyset with its own.");
    const keysetId = `ks-${randomUUID()}`;
    // The operator started this key generation here: this node accepts its own invite for it.
    this.d.window.startedHere(keysetId);
    const end = await requests.run(options.idempotencyKey ?? `keygen-${keysetId}`, {
      clusterId,
      sessionId: newSessionId(),
      protocol: aux ? 'ecdsa-dkg' : `${scheme}-keygen`,
      keysetId,
      // Reused aux data fixes the party indices: those it was made with, whoever requests.
      parties: aux ? [...aux.participants].sort((x, y) => x.partyIndex - y.partyIndex) : members,
      threshold: 2,
      ...(aux ? { auxId: aux.auxId } : {}),
      permitId: null,
      deadlineAt: Date.now() + (options.timeoutMs ?? (scheme === 'ecdsa' ? 240_000 : 30_000)),
    });
    if (end.state !== 'completed') sessionFailure(end);
    const keyset = this.d.keysets.get(keysetId);
    if (!keyset) fail('MPC_SESSION_FAILED', 'The key generation finished but this node did not store its share.');
    return keyset;
  }
}
