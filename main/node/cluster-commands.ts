/**
 * What the signer node's command line does about cluster membership and the air gap: write this
 * node's card, enrol a peer's card once the operator typed the words the peer read out, enrol the
 * peers file, pick the coordinator (pinned) or the air gap, and serve air-gap bundle folders.
 */
import { writeFileSync } from 'node:fs';
import { nodeCardText, parseNodeCardFile, MAX_CARD_FILE_BYTES } from '../cluster/card-file';
import { validClusterName, validCoordinator } from '../cluster/cluster-config';
import type { NodeCard } from '../cluster/identity';
import { fail } from '../errors';
import { readRegularTextFile } from '../platform/safe-file';
import type { Services } from '../services';

/** Writes this node's card file (owner-only); returns its words. */
export async function exportCard(services: Services, file: string): Promise<string> {
  const me = await services.cluster.identity();
  writeFileSync(file, nodeCardText(me), { mode: 0o600 });
  return me.fingerprint;
}

/** Enrols the peer whose card file is `file`, once `words` (typed by the operator) are its words. */
export async function enrolCardFile(services: Services, file: string, words: string | undefined): Promise<{ nodeId: string; name: string }> {
  const text = readRegularTextFile(file, { maxBytes: MAX_CARD_FILE_BYTES, what: 'node card' });
  if (!words || !words.trim()) {
    const { card, fingerprint } = parseNodeCardFile(text);
    fail('FINGERPRINT_MISMATCH', `Not enrolled: confirm the fingerprint of ${card.name} (${card.nodeId}) first. Have its operator read the six words from their screen and pass them with --words (the card says "${fingerprint}"; never copy them from the file itself).`);
  }
  const node = await services.cluster.roster.enrol(text, words);
  return { nodeId: node.nodeId, name: node.name };
}

/**
 * The peers file: a JSON array of the peers' node-card.json contents (the operator listed only
 * cards whose words they confirmed with each peer), or of { card, fingerprint } pairs. Peers
 * already enrolled are left as they are; a removed peer's card is refused.
 */
export function enrolPeersFile(services: Services, text: string, myNodeId: string): number {
  let entries: unknown;
  try {
    entries = JSON.parse(text);
  } catch {
    fail('PEER_CARD_INVALID', 'The peers file is not JSON: it must be an array of node cards.');
  }
  if (!Array.isArray(entries) || entries.length > 16) fail('PEER_CARD_INVALID', 'The peers file must be a JSON array of at most 16 node cards.');
  let enrolled = 0;
  for (const entry of entries as Array<Record<string, unknown>>) {
    const signedFile = typeof entry === 'object' && entry !== null && 'format' in entry;
    const { card, fingerprint } = signedFile ? parseNodeCardFile(JSON.stringify(entry)) : (entry as { card: NodeCard; fingerprint: string });
    if (!card || typeof card !== 'object' || typeof fingerprint !== 'string') fail('PEER_CARD_INVALID', 'Each entry of the peers file is a node card ({ "card": …, "fingerprint": "six-words" }).');
    if (card.nodeId === myNodeId || services.cluster.node(card.nodeId)) continue;
    services.cluster.enrolPeer(card, fingerprint);
    enrolled += 1;
  }
  return enrolled;
}

/** The transport the command line asked for, checked like the console checks it. */
export function chosenTransport(values: { coordinator?: string | undefined; 'coordinator-cert-sha256'?: string | undefined; 'air-gapped'?: boolean | undefined; cluster?: string | undefined }):
  | { kind: 'coordinator'; url: string; certSha256: string | null; clusterId: string | null }
  | { kind: 'airgap' }
  | { kind: 'none' } {
  if (values['air-gapped'] && values.coordinator) fail('COORDINATOR_ADDRESS_INVALID', '--air-gapped and --coordinator exclude each other: an air-gapped node has no coordinator.');
  if (values['air-gapped']) return { kind: 'airgap' };
  if (!values.coordinator) {
    if (values['coordinator-cert-sha256']) fail('COORDINATOR_ADDRESS_INVALID', '--coordinator-cert-sha256 needs --coordinator.');
    return { kind: 'none' };
  }
  const { url, certSha256 } = validCoordinator(values.coordinator, values['coordinator-cert-sha256']);
  return { kind: 'coordinator', url, certSha256, clusterId: values.cluster ? validClusterName(values.cluster) : null };
}

/**
 * The other side of the air gap, headless: every few seconds, takes in the complete bundles in
 * `inbox` (joins requests addressed to this node, feeds rounds) and writes replies to `outbox`.
 * This node's own checks decide (permits, policy, key checks); each decision is a status line.
 */
export function serveAirgap(services: Services, inbox: string, outbox: string, say: (line: string) => void, everyMs = 2_000): () => void {
  let busy = false;
  /** The last status line said per multi-party session, so a line is printed only when it changes. */
  const said = new Map<string, string>();
  const tick = async () => {
    if (busy || !services.vault.unlocked) return;
    busy = true;
    try {
      const report = await services.cluster.airgapImport(inbox, outbox);
      for (const j of report.joined) {
        say(`AIRGAP-JOINED ${j.sessionId.slice(0, 16)} ${j.info.protocol} keyset ${j.info.keysetId}`);
        void j.result.then(
          (outcome) => say(`AIRGAP-DONE ${j.sessionId.slice(0, 16)} signature ${outcome.signature}`),
          (error: unknown) => say(`AIRGAP-FAILED ${j.sessionId.slice(0, 16)} ${error instanceof Error ? error.message : 'failed'}`),
        );
      }
      for (const j of report.joinedGroup) {
        say(`AIRGAP-JOINED ${j.sessionId.slice(0, 16)} ${j.info.protocol} keyset ${j.info.keysetId}`);
        void j.result.then(
          (outcome) => say(`AIRGAP-DONE ${j.sessionId.slice(0, 16)} ${outcome.signature ? `signature ${outcome.signature}` : outcome.presignatureId ? `presignature ${outcome.presignatureId}` : `public key ${outcome.publicKey ?? ''}${outcome.address ? ` address ${outcome.address}` : ''}`}`),
          (error: unknown) => say(`AIRGAP-FAILED ${j.sessionId.slice(0, 16)} ${error instanceof Error ? error.message : 'failed'}`),
        );
      }
      for (const r of report.refused) say(`AIRGAP-REFUSED ${r.file} ${r.code}: ${r.message}`);
      const statuses = services.cluster.airgapGroup.status();
      for (const sid of [...said.keys()]) if (!statuses.some((s) => s.sessionId === sid)) said.delete(sid);
      for (const s of statuses) {
        const names = s.waitingFor.map((id) => services.cluster.node(id)?.name ?? id.slice(0, 8)).join(', ');
        const line = `AIRGAP-WAITING ${s.sessionId.slice(0, 16)} ${s.phase === 'completion' ? 'completion' : `round ${s.round}`} ${names ? `waiting for ${names}` : 'working (nothing to carry in yet)'}`;
        if (said.get(s.sessionId) !== line) say(line);
        said.set(s.sessionId, line);
      }
    } catch (error) {
      say(`AIRGAP-REFUSED ${inbox} ${error instanceof Error ? error.message : 'cannot read the folder'}`);
    } finally {
      busy = false;
    }
  };
  const timer = setInterval(() => void tick(), everyMs);
  void tick();
  return () => clearInterval(timer);
}
