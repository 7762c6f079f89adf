/**
 * Air-gap transport: signed file bundles carried on removable media between nodes that share no
 * network. One bundle per round per direction. A bundle holds the very same sealed envelopes the
 * WebSocket transport relays (HPKE to the recipient, Ed25519 by the sender) plus a header that
 * the sender signs: cluster, session, protocol, round, sender, recipients, creation time and the
 * SHA-256 of the canonical body. A bundle from another cluster, session or round, or one altered
 * on the stick, is refused with a typed error before any envelope reaches the session.
 *
 * Files are written to a temporary name and renamed, so a reader never sees half a bundle.
 */
import { createHash } from 'node:crypto';
import canonicalize from 'canonicalize';
import { z } from 'zod';
import { sessionAttestation, signedSessionRequest, type SessionInfo } from '../coordinator/protocol';
import { fail, isAppFailure } from '../errors';
import { writeErrorCode, writeFileAtomically } from '../platform/atomic-file';
import { listRegularFiles, readRegularTextFile } from '../platform/safe-file';
import type { ErrorCode } from '../../preload/contract';
import { AIRGAP_REFUSAL_REASON_MAX } from '../../preload/channels/cluster';
import { wireEnvelope, type Peer, type WireEnvelope } from './envelope';
import { ClusterError } from './errors';
import type { LocalIdentity } from './identity';
import { transcript, verifyBytes } from './keys';
import type { RunnerTransport } from './session-runner';

const LABEL = 'vaultkeeper/airgap-bundle/v1';
export const BUNDLE_SUFFIX = '.vkb';
/** ECDSA key-generation rounds are a few hundred KB; nothing legitimate comes near this. */
export const MAX_BUNDLE_BYTES = 16 * 1024 * 1024;
const nodeId = z.string().regex(/^[0-9a-f]{32}$/);

export const bundleHeader = z.strictObject({
  v: z.literal(1),
  /**
   * 'request' opens a session (round 0, carries the session terms); 'round' carries envelopes;
   * 'refusal' is a participant's signed no to a request (round 0, carries who refused and why);
   * 'done' (round 0) carries the sender's signed completion of a key generation or presign.
   */
  kind: z.enum(['request', 'round', 'refusal', 'done']),
  clusterId: z.string().regex(/^[a-z0-9-]{1,64}$/),
  sid: z.string().regex(/^[0-9a-f]{32,128}$/),
  protocol: z.string().regex(/^[a-z-]{1,32}$/),
  round: z.number().int().min(0).max(1_000_000),
  from: nodeId,
  to: z.array(nodeId).min(1).max(15),
  createdAt: z.string().max(40),
  contentHash: z.string().regex(/^[0-9a-f]{64}$/),
});
export type BundleHeader = z.infer<typeof bundleHeader>;

/** Longest reason an operator may give when refusing a request (it is shown on the requester's screen). */
export const MAX_REFUSAL_REASON_CHARS = AIRGAP_REFUSAL_REASON_MAX;

const bundleBody = z.strictObject({
  /** 'request' bundles: the session request its requester signed (checked by each participant). */
  request: signedSessionRequest.optional(),
  /** 'refusal' bundles: the refusing node's operator's reason (its length is checked by verifyBundle, with its own error). */
  refusal: z.strictObject({ sessionId: z.string().max(128), node: nodeId, reason: z.string().max(64 * 1024), refusedAt: z.string().max(40) }).optional(),
  /** 'done' bundles: the sender's signed confirmation that it finished (see session-attestation.ts). */
  attestation: sessionAttestation.optional(),
  envelopes: z.array(z.unknown()).max(256),
});
export type BundleBody = z.infer<typeof bundleBody>;

const bundleFile = z.strictObject({
  format: z.literal('vaultkeeper-bundle'),
  header: bundleHeader,
  signature: z.string().max(128).regex(/^[A-Za-z0-9+/=]*$/),
  body: bundleBody,
});
export type Bundle = z.infer<typeof bundleFile>;

function headerBytes(h: BundleHeader): Buffer {
  return transcript(LABEL, canonicalize(h)!);
}

function bodyHash(body: BundleBody): string {
  return createHash('sha256').update(canonicalize(body)!, 'utf8').digest('hex');
}

function refuse(code: ErrorCode, message: string, header?: Partial<BundleHeader>): never {
  fail(code, message, { ...(header?.from ? { sender: header.from } : {}), ...(header?.sid ? { sessionId: header.sid } : {}), ...(header?.round !== undefined ? { round: header.round } : {}) });
}

export function sealBundle(me: LocalIdentity, fields: Omit<BundleHeader, 'v' | 'from' | 'contentHash' | 'createdAt'> & { createdAt?: string }, body: BundleBody): Bundle {
  const header: BundleHeader = { v: 1, ...fields, from: me.nodeId, createdAt: fields.createdAt ?? new Date().toISOString(), contentHash: bodyHash(body) };
  return { format: 'vaultkeeper-bundle', header, signature: me.sign(headerBytes(header)).toString('base64'), body };
}

export function bundleFileName(h: Pick<BundleHeader, 'sid' | 'round' | 'from' | 'to'> & { kind?: BundleHeader['kind'] }): string {
  if (h.kind === 'refusal') return `vk-${h.sid.slice(0, 16)}-refusal-${h.from.slice(0, 8)}-to-${h.to.map((t) => t.slice(0, 8)).join('+')}${BUNDLE_SUFFIX}`;
  const step = h.kind === 'done' ? 'done' : `r${String(h.round).padStart(3, '0')}`;
  return `vk-${h.sid.slice(0, 16)}-${step}-${h.from.slice(0, 8)}-to-${h.to.map((t) => t.slice(0, 8)).join('+')}${BUNDLE_SUFFIX}`;
}

/** Writes a bundle into `dir` atomically (a reader never sees half a bundle); a resumed round writes it again. */
export function writeBundle(dir: string, bundle: Bundle): string {
  try {
    return writeFileAtomically(dir, bundleFileName(bundle.header), JSON.stringify(bundle), { replace: true });
  } catch (error) {
    throw new ClusterError({ errorClass: 'transient', code: 'BUNDLE_WRITE_FAILED', reason: `Cannot write the bundle to ${dir} (${writeErrorCode(error)}). Check that the folder is writable and the medium is not full, then run the session again.` });
  }
}

/**
 * Reads and structurally checks one bundle file; the signature is checked by `verifyBundle`.
 * Only a regular file of at most MAX_BUNDLE_BYTES is read: a FIFO, a device or a symlink on the
 * medium is refused with its FILE_* code instead of blocking or exhausting the process.
 */
export function readBundle(path: string): Bundle {
  let text: string;
  try {
    text = readRegularTextFile(path, { maxBytes: MAX_BUNDLE_BYTES, what: 'bundle file' });
  } catch (error) {
    if (isAppFailure(error) && error.code === 'FILE_TOO_LARGE') {
      fail('BUNDLE_TOO_LARGE', `${error.message} Bundles are at most ${MAX_BUNDLE_BYTES} bytes.`, error.details);
    }
    throw error;
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    fail('BUNDLE_MALFORMED', `The file ${path} is not a readable bundle (truncated or not JSON). Copy it again from the other node.`);
  }
  const parsed = bundleFile.safeParse(raw);
  if (!parsed.success) fail('BUNDLE_MALFORMED', `The file ${path} is not a well-formed Vaultkeeper bundle.`);
  return parsed.data;
}

/** Bundle files (complete regular files only: temporaries start with a dot) in a folder, oldest round first. */
export function listBundles(dir: string): string[] {
  return listRegularFiles(dir, { accept: (n) => n.startsWith('vk-') && n.endsWith(BUNDLE_SUFFIX), what: 'bundle folder' });
}

export interface BundleExpectation {
  me: string;
  clusterId: string;
  /** When set, the bundle must belong to this session and protocol. */
  session?: Pick<SessionInfo, 'sessionId' | 'protocol'>;
  /** Signing keys of the senders this node accepts bundles from. */
  senderKey: (nodeId: string) => Peer['signingKey'] | null;
}

/**
 * Checks a bundle end to end: addressed to this node, this cluster and session, from a known
 * sender whose signature covers the header, a body matching the signed hash, and envelopes that
 * agree with the header (session, round, sender, recipient).
 */
export function verifyBundle(bundle: Bundle, expect: BundleExpectation): void {
  const h = bundle.header;
  if (!h.to.includes(expect.me)) refuse('BUNDLE_NOT_FOR_THIS_NODE', `This bundle is addressed to node(s) ${h.to.join(', ')}, not to this node.`, h);
  if (h.clusterId !== expect.clusterId) refuse('BUNDLE_WRONG_CLUSTER', `This bundle belongs to cluster "${h.clusterId}", not "${expect.clusterId}".`, h);
  if (expect.session && (h.sid !== expect.session.sessionId || h.protocol !== expect.session.protocol)) {
    refuse('BUNDLE_WRONG_SESSION', `This bundle belongs to session ${h.sid.slice(0, 16)}…, not to session ${expect.session.sessionId.slice(0, 16)}…. Import it into its own session.`, h);
  }
  const key = expect.senderKey(h.from);
  if (!key) refuse('BUNDLE_UNKNOWN_SENDER', `This bundle comes from node ${h.from}, which is not an enrolled, non-quarantined participant on this node.`, h);
  if (!verifyBytes(key, headerBytes(h), Buffer.from(bundle.signature, 'base64'))) {
    refuse('BUNDLE_BAD_SIGNATURE', `The header of the bundle from node ${h.from} does not verify: it was altered or damaged after it was written. Ask for it again.`, h);
  }
  if (bodyHash(bundle.body) !== h.contentHash) refuse('BUNDLE_TAMPERED', `The content of the bundle from node ${h.from} does not match its signed hash: it was altered or damaged on the medium. Ask for it again.`, h);
  if (h.kind === 'request') {
    const s = bundle.body.request?.body;
    if (h.round !== 0 || !s || s.sessionId !== h.sid || s.requester !== h.from || s.clusterId !== h.clusterId || s.protocol !== h.protocol || bundle.body.envelopes.length > 0 || bundle.body.refusal || bundle.body.attestation) {
      refuse('BUNDLE_MALFORMED', 'This session request does not agree with its own header.', h);
    }
  } else if (h.kind === 'refusal') {
    const r = bundle.body.refusal;
    if (h.round !== 0 || !r || r.sessionId !== h.sid || r.node !== h.from || bundle.body.request || bundle.body.attestation || bundle.body.envelopes.length > 0) {
      refuse('BUNDLE_MALFORMED', 'This refusal does not agree with its own header (session or refusing node).', h);
    }
    if (r.reason.trim().length === 0 || r.reason.length > MAX_REFUSAL_REASON_CHARS) {
      refuse('AIRGAP_REFUSAL_REASON_INVALID', `The refusal from node ${h.from} gives a reason of ${r.reason.length} characters; a reason is 1 to ${MAX_REFUSAL_REASON_CHARS} characters. It was not taken in.`, h);
    }
  } else if (h.kind === 'done') {
    const a = bundle.body.attestation;
    if (h.round !== 0 || !a || a.nodeId !== h.from || bundle.body.request || bundle.body.refusal || bundle.body.envelopes.length > 0) {
      refuse('BUNDLE_MALFORMED', `The completion bundle from node ${h.from} does not agree with its own header.`, h);
    }
  } else {
    if (h.round < 1 || bundle.body.request || bundle.body.refusal || bundle.body.attestation) refuse('BUNDLE_MALFORMED', 'This round bundle does not agree with its own header.', h);
    for (const raw of bundle.body.envelopes) {
      const env = wireEnvelope.safeParse(raw);
      if (!env.success) refuse('BUNDLE_MALFORMED', `The bundle from node ${h.from} holds a malformed envelope.`, h);
      if (env.data.sid !== h.sid || env.data.from !== h.from || !h.to.includes(env.data.to)) refuse('BUNDLE_WRONG_SESSION', `The bundle from node ${h.from} holds an envelope of another session, sender or recipient.`, h);
      if (env.data.round !== h.round) refuse('BUNDLE_WRONG_ROUND', `The bundle from node ${h.from} is labelled round ${h.round} but holds an envelope of round ${env.data.round}.`, h);
    }
  }
}

/**
 * The session runner's transport for the air gap: envelopes of one round are gathered per
 * recipient and written as one bundle per recipient when the runner flushes the round.
 */
export class BundleTransport implements RunnerTransport {
  private readonly pending = new Map<string, WireEnvelope[]>();
  readonly written: string[] = [];
  /** The last round this node wrote (0 before its first). */
  round = 0;

  constructor(
    private readonly me: LocalIdentity,
    private readonly info: SessionInfo,
    private readonly outDir: string,
  ) {}

  send(to: string, envelope: WireEnvelope): void {
    const list = this.pending.get(to) ?? [];
    list.push(envelope);
    this.pending.set(to, list);
  }

  flush(round: number): void {
    this.round = Math.max(this.round, round);
    for (const [to, envelopes] of this.pending) {
      const bundle = sealBundle(this.me, { kind: 'round', clusterId: this.info.clusterId, sid: this.info.sessionId, protocol: this.info.protocol, round, to: [to] }, { envelopes });
      this.written.push(writeBundle(this.outDir, bundle));
    }
    this.pending.clear();
  }
}

/** Which rounds of which sender a session has taken in, so a re-import of a stick is harmless. */
export class BundleInbox {
  private readonly taken = new Map<string, Map<number, string>>();

  /** True when the bundle is new; false for an identical re-import; refuses a conflicting one. */
  admit(bundle: Bundle): boolean {
    const h = bundle.header;
    const rounds = this.taken.get(h.from) ?? new Map<number, string>();
    const previous = rounds.get(h.round);
    if (previous !== undefined) {
      if (previous === h.contentHash) return false;
      refuse('BUNDLE_WRONG_ROUND', `Node ${h.from} already delivered a different bundle for round ${h.round} of this session.`, h);
    }
    rounds.set(h.round, h.contentHash);
    this.taken.set(h.from, rounds);
    return true;
  }
}
