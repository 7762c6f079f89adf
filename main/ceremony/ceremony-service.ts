/**
 * Master-seed ceremonies (issue 13, seeds 001/002): a guarded start, then either
 *  - console-generated: 24 words from the OS CSPRNG shown once → transcription check → 2-of-3
 *    Shamir shares for the guardians → the words restored onto a Ledger and verified there →
 *    the seed wiped, only public material kept; or
 *  - Ledger-generated: the public material read from the device (the seed never leaves it);
 * then a transcript the guardians sign (a `ceremony.certify` approval) and a certificate.
 *
 * The seed lives only in this process's memory, in a session per ceremony, wiped on finish,
 * abort or vault lock. Nothing secret is written to the database, the audit log or a file.
 */
import { randomUUID } from 'node:crypto';
import QRCode from 'qrcode';
import type { ApprovalRequestView, CeremonyStarted, CeremonyView, CertificateView, RevealedWords, ShareFingerprintView, SharesIssued } from '../../preload/contract';
import type { AuditLog } from '../audit/audit-log';
import { fail, isAppFailure } from '../errors';
import type { LedgerDevice } from '../ledger/ledger-device';
import type { Clock } from '../platform/clock';
import type { RequesterProof } from '../guardians/guardian-service';
import type { Db } from '../store/database';
import { certificateHtml } from './certificate';
import { CeremonyLedgerSteps } from './ceremony-ledger-steps';
import { ceremonyView, type ConsoleSession } from './ceremony-view';
import { CeremonyRecords, type CeremonyRecord } from './ceremony-records';
import { DEFAULT_PLAN, derivePublicMaterial, type PlanSize, type PublicMaterial } from './derivation-plan';
import { solanaAccountsMissing } from './ledger-solana';
import { approvalSignatures, type CeremonyGuardians } from './guardian-capability';
import { readDeviceMaterial } from './ledger-verification';
import { WORDS_CLEAR_AFTER_SECONDS, type RevealRules } from './reveal-rules';
import { entropyToSeed, entropyToWords, generateEntropy, seedFingerprint, wipe, WORD_COUNT } from './seed';
import { recoverEntropy, shareFingerprint, shareIndex, shareToWords, splitEntropy } from './shamir-backup';
import { canonicalTranscript, transcriptHash, type Transcript } from './transcript';
import { checkTranscription, choosePositions } from './transcription-check';
import { shareUr } from '../qr/share-ur';


export interface CeremonyServiceOptions {
  db: Db;
  audit: AuditLog;
  clock: Clock;
  guardians: CeremonyGuardians;
  ledger: LedgerDevice;
  reveal: RevealRules;
  records: CeremonyRecords;
  nodeId(): string;
}

const START_OPERATION = 'ceremony.run';

export class CeremonyService {
  private readonly sessions = new Map<string, ConsoleSession>();

  private readonly ledgerSteps: CeremonyLedgerSteps;

  constructor(private readonly options: CeremonyServiceOptions) {
    this.ledgerSteps = new CeremonyLedgerSteps({
      db: options.db,
      ledger: options.ledger,
      records: options.records,
      session: (id) => this.session(id),
      liveSession: (id) => this.sessions.get(id),
      record: (id, step, detail, event) => this.record(id, step, detail, event),
      view: (id) => this.view(id),
    });
  }

  private get db(): Db {
    return this.options.db;
  }

  private iso(): string {
    return new Date(this.options.clock.now()).toISOString();
  }

  private toView(record: CeremonyRecord): CeremonyView {
    return ceremonyView(record, this.sessions.get(record.row.id), this.iso());
  }

  list(): CeremonyView[] {
    this.options.guardians.currentVaultId();
    return this.options.records.all().map((r) => this.toView(r));
  }

  view(id: string): CeremonyView {
    return this.toView(this.options.records.find(id));
  }

  private session(id: string): ConsoleSession {
    const record = this.options.records.find(id);
    if (record.row.status !== 'in-progress') fail('CEREMONY_STEP_OUT_OF_ORDER', `Ceremony ${id.slice(0, 8)} is ${record.row.status}; this step belongs to a ceremony in progress.`, { ceremonyId: id });
    const s = this.sessions.get(id);
    if (!s) fail('CEREMONY_SECRET_GONE', 'The seed of this ceremony is no longer in memory (the console was locked or restarted). Abort this ceremony and start a new one; no share of it was kept.', { ceremonyId: id });
    return s;
  }

  private record(id: string, step: string, detail: string, event?: { type: string; details: Record<string, unknown> }): void {
    this.db.transaction(() => {
      const { steps } = this.options.records.find(id);
      this.options.records.appendStep(id, steps, { step, at: this.iso(), detail });
      if (event) this.options.audit.append({ type: event.type, actor: 'operator', subject: id, details: event.details });
    })();
  }

  // --- start (guarded) ------------------------------------------------------------------------

  async requestStart(input: { mode: 'console' | 'ledger'; label: string; userWallets: number; requester: RequesterProof; ttlMinutes: number }): Promise<ApprovalRequestView> {
    const parameters = { mode: input.mode, label: input.label, userWallets: input.userWallets, solanaAccounts: DEFAULT_PLAN.solanaAccounts };
    return this.options.guardians.createRequest({
      operation: START_OPERATION,
      subject: this.options.guardians.currentVaultId(),
      parameters,
      context: { purpose: input.mode === 'console' ? 'Generate the master seed on this air-gapped console, back it up 2-of-3 to the guardians, restore it onto a Ledger' : 'Use a seed generated on a Ledger; record its public keys' },
      requester: input.requester,
      ttlMinutes: input.ttlMinutes,
    });
  }

  async start(requestId: string): Promise<CeremonyStarted> {
    const { guardians } = this.options;
    const request = guardians.view(requestId);
    if (request.operation !== START_OPERATION) fail('GUARD_PAYLOAD_MISMATCH', `Request ${requestId.slice(0, 8)} approves "${request.operationLabel}", not a master-seed ceremony.`, { requestId });
    const parameters = request.parameters;
    const mode = parameters.mode === 'ledger' ? 'ledger' : 'console';
    const plan: PlanSize = { userWallets: Number(parameters.userWallets), solanaAccounts: Number(parameters.solanaAccounts) };
    const subject = guardians.currentVaultId();
    guardians.checkApproval(START_OPERATION, subject, parameters, requestId);

    let entropy: Buffer | null = null;
    let material: PublicMaterial;
    if (mode === 'ledger') {
      material = await readDeviceMaterial(this.options.ledger, plan);
    } else {
      entropy = generateEntropy();
      const seed = entropyToSeed(entropy);
      material = derivePublicMaterial(seed, plan);
      wipe(seed);
    }
    const id = randomUUID();
    const at = this.iso();
    try {
      this.db.transaction(() => {
        const { approvers } = guardians.requireApproval(START_OPERATION, subject, parameters, requestId);
        const steps = [{ step: 'started', at, detail: `${mode === 'console' ? 'Console-generated seed' : 'Ledger-generated seed'}; approved by ${approvers.join(' and ')}` }];
        if (mode === 'console') steps.push({ step: 'words-generated', at, detail: `${WORD_COUNT} BIP39 words from the OS CSPRNG, shown once` });
        else steps.push({ step: 'ledger-read', at, detail: `Public keys of ${material.addresses.length} addresses and the account xpub read from the Ledger` });
        this.db
          .prepare(`INSERT INTO ceremonies (id, mode, label, status, start_request_id, started_at, plan, steps, public_material)
                    VALUES (?, ?, ?, 'in-progress', ?, ?, ?, ?, ?)`)
          .run(id, mode, String(parameters.label), requestId, at, JSON.stringify(plan), JSON.stringify(steps), mode === 'ledger' ? JSON.stringify(material) : null);
        this.options.audit.append({ type: 'CEREMONY_STARTED', actor: 'operator', subject: id, details: { mode, requestId, approvers, label: String(parameters.label) } });
      })();
    } catch (error) {
      wipe(entropy);
      throw error;
    }
    if (entropy) this.sessions.set(id, { entropy, material, checkPositions: null, transcriptionPassed: false, shares: null, shareFingerprints: [], ledgerVerified: false, solanaVerified: plan.solanaAccounts === 0 });
    return { ceremony: this.view(id), words: entropy ? entropyToWords(entropy) : null, clearAfterSeconds: 0 };
  }

  // --- console ceremony steps -----------------------------------------------------------------

  /** The words again before the transcription check passes, under the reveal rules. */
  showWords(id: string, revealToken: string): RevealedWords {
    const s = this.session(id);
    if (s.transcriptionPassed) fail('CEREMONY_STEP_OUT_OF_ORDER', 'The transcription check has passed; the words are no longer shown in this ceremony. Use a recovery ceremony with two guardian shares to see them again.');
    const left = this.options.reveal.consume(revealToken, id, 'ceremony-words-again');
    return { words: entropyToWords(s.entropy), clearAfterSeconds: WORDS_CLEAR_AFTER_SECONDS, revealsLeftThisHour: left };
  }

  transcriptionChallenge(id: string): CeremonyView {
    const s = this.session(id);
    if (s.transcriptionPassed) fail('CEREMONY_STEP_OUT_OF_ORDER', 'The transcription check has already passed.');
    s.checkPositions ??= choosePositions(WORD_COUNT);
    return this.view(id);
  }

  checkTranscription(id: string, answers: Record<string, string>): CeremonyView {
    const s = this.session(id);
    if (!s.checkPositions || s.transcriptionPassed) fail('CEREMONY_STEP_OUT_OF_ORDER', 'Ask for the words to check first (the console picks them at random).');
    try {
      checkTranscription(entropyToWords(s.entropy), s.checkPositions, answers);
    } catch (error) {
      if (isAppFailure(error)) this.record(id, 'transcription-mismatch', `Words ${String(error.details?.wrong ?? '?')} did not match`, { type: 'CEREMONY_TRANSCRIPTION_CHECKED', details: { result: 'mismatch', wrong: error.details?.wrong ?? null } });
      throw error;
    }
    s.transcriptionPassed = true;
    this.record(id, 'transcription-checked', `Words ${s.checkPositions.join(', ')} re-entered correctly`, { type: 'CEREMONY_TRANSCRIPTION_CHECKED', details: { result: 'match', positions: s.checkPositions } });
    return this.view(id);
  }

  /** Splits the entropy 2-of-3, one share per guardian by slot. The sheets cross the bridge once. */
  async issueShares(id: string): Promise<SharesIssued> {
    const s = this.session(id);
    if (!s.transcriptionPassed) fail('CEREMONY_STEP_OUT_OF_ORDER', 'Pass the transcription check before the guardian shares are made.');
    if (s.shares) fail('CEREMONY_STEP_OUT_OF_ORDER', 'The guardian shares were already issued and are not shown again. If a sheet was lost, abort this ceremony and run a new one.');
    const registry = this.options.guardians.registry();
    if (!registry.complete) fail('GUARDIAN_REGISTRY_INCOMPLETE', 'All three guardians must be enrolled to receive a share.');
    const guardians = [...registry.guardians].sort((a, b) => a.slot - b.slot);
    const fingerprint = seedFingerprint(s.entropy);
    const shares = await splitEntropy(s.entropy);
    // The split is proven before any sheet is printed: every pair must rebuild this seed.
    for (const [a, b] of [[0, 1], [0, 2], [1, 2]] as const) wipe(await recoverEntropy([shares[a]!, shares[b]!], fingerprint));
    const sheets = await Promise.all(
      shares.map(async (share, k) => {
        const words = shareToWords(share);
        return {
          index: shareIndex(share),
          guardianId: guardians[k]!.id,
          guardianName: guardians[k]!.name,
          words,
          fingerprint: shareFingerprint(share),
          qrDataUrl: await QRCode.toDataURL(words.join(' '), { errorCorrectionLevel: 'M', margin: 2, width: 280 }),
          ur: shareUr(share),
        };
      }),
    );
    s.shares = shares;
    s.shareFingerprints = sheets.map(({ index, guardianId, guardianName, fingerprint: f }) => ({ index, guardianId, guardianName, fingerprint: f }));
    this.record(id, 'shares-issued', `2-of-3 shares for ${sheets.map((x) => x.guardianName).join(', ')}`, { type: 'CEREMONY_SHARES_ISSUED', details: { threshold: 2, shares: s.shareFingerprints.map((f) => ({ index: f.index, guardian: f.guardianName, fingerprint: f.fingerprint })) } });
    return { ceremony: this.view(id), sheets };
  }

  /** Checks on the Ledger that the restored words derive the ceremony's addresses and xpub. */
  verifyLedger(id: string): Promise<CeremonyView> {
    return this.ledgerSteps.verifyLedger(id);
  }

  /** The Solana step, with the Solana app open on the Ledger (see ceremony-ledger-steps.ts). */
  ledgerSolana(id: string): Promise<CeremonyView> {
    return this.ledgerSteps.ledgerSolana(id);
  }

  /** Shows one recorded address on the Ledger (Ethereum or Solana app) for the person to compare, and checks it. */
  showOnDevice(id: string, index: number, chain: 'evm' | 'solana' = 'evm'): Promise<{ address: string; path: string }> {
    return this.ledgerSteps.showOnDevice(id, index, chain);
  }

  // --- finish, certify ------------------------------------------------------------------------

  /** Records the public outputs and the transcript, wipes the seed, and asks the guardians to sign. */
  finish(id: string, ttlMinutes: number): CeremonyView {
    const record = this.options.records.find(id);
    const { row } = record;
    if (row.status !== 'in-progress') fail('CEREMONY_STEP_OUT_OF_ORDER', `Ceremony ${id.slice(0, 8)} is ${row.status}.`);
    let material: PublicMaterial;
    let fingerprint: string | null = null;
    let shares: ShareFingerprintView[] = [];
    const s = row.mode === 'console' ? this.session(id) : null;
    if (s) {
      if (!s.ledgerVerified) fail('CEREMONY_STEP_OUT_OF_ORDER', 'Verify the restored Ledger before finishing: the seed is wiped at this step.');
      if (!s.solanaVerified) fail('CEREMONY_STEP_OUT_OF_ORDER', "Verify the Solana accounts with the Ledger's Solana app before finishing: the seed is wiped at this step.");
      material = s.material;
      fingerprint = seedFingerprint(s.entropy);
      shares = s.shareFingerprints;
    } else {
      if (solanaAccountsMissing(record.plan, record.material) > 0) fail('CEREMONY_STEP_OUT_OF_ORDER', "Read the Solana accounts with the Ledger's Solana app before finishing.");
      material = record.material!;
    }
    const finishedAt = this.iso();
    const guardians = this.options.guardians;
    const start = guardians.view(row.start_request_id);
    const steps = [...record.steps, { step: row.mode === 'console' ? 'seed-wiped' : 'finished', at: finishedAt, detail: row.mode === 'console' ? 'Seed and shares wiped from memory; only public material kept' : 'Public material recorded' }];
    const transcript: Transcript = {
      format: 'vaultkeeper.ceremony-transcript/1',
      ceremonyId: id,
      vaultId: guardians.currentVaultId(),
      nodeId: this.options.nodeId(),
      mode: row.mode,
      label: row.label,
      startedAt: row.started_at,
      finishedAt,
      startApproval: { requestId: row.start_request_id, approvers: start.approvals.filter((a) => a.decision === 'approve' && a.counts).map((a) => a.guardianName) },
      guardians: guardians.registry().guardians.map((g) => ({ slot: g.slot, name: g.name, address: g.address, kind: g.kind })),
      steps,
      outputs: { seedFingerprint: fingerprint, shareFingerprints: shares, evmAccountXpub: material.evmAccountXpub, addresses: material.addresses },
      ledgerChecks: record.ledgerChecks,
    };
    const canonical = canonicalTranscript(transcript);
    const hash = transcriptHash(canonical);
    this.db.transaction(() => {
      const sealed = { id, mode: row.mode, public_material: JSON.stringify(material), seed_fingerprint: fingerprint, share_fingerprints: JSON.stringify(shares), transcript_hash: hash };
      const certify = guardians.createFollowUpRequest({
        operation: 'ceremony.certify',
        subject: id,
        parameters: { ceremonyId: id, transcriptHash: hash, seedFingerprint: fingerprint, masterWallet: material.addresses.find((a) => a.chain === 'evm' && a.index === 0)?.address ?? null },
        context: { label: row.label },
        ttlMinutes,
      });
      this.db
        .prepare(`UPDATE ceremonies SET status = 'awaiting-signatures', finished_at = ?, steps = ?, public_material = ?, seed_fingerprint = ?, share_fingerprints = ?,
                  transcript = ?, transcript_hash = ?, certify_request_id = ?, mac = ? WHERE id = ? AND status = 'in-progress'`)
        .run(finishedAt, JSON.stringify(steps), sealed.public_material, fingerprint, sealed.share_fingerprints, canonical, hash, certify.id, this.options.records.mac(sealed), id);
      this.options.audit.append({ type: 'CEREMONY_SEED_WIPED', actor: 'operator', subject: id, details: { mode: row.mode, transcriptHash: hash, seedFingerprint: fingerprint, certifyRequestId: certify.id } });
    })();
    this.drop(id);
    return this.view(id);
  }

  certify(id: string): CeremonyView {
    const record = this.options.records.sealed(id);
    const { row } = record;
    if (row.status !== 'awaiting-signatures' || !row.certify_request_id || !row.transcript_hash) fail('CEREMONY_STEP_OUT_OF_ORDER', `Ceremony ${id.slice(0, 8)} is ${row.status}; only a finished ceremony awaiting signatures can be certified.`);
    const parameters = JSON.parse(JSON.stringify(this.options.guardians.view(row.certify_request_id).parameters)) as Record<string, unknown>;
    if (parameters.transcriptHash !== row.transcript_hash) fail('GUARD_PAYLOAD_MISMATCH', 'The guardians signed another transcript than the one recorded. Nothing was certified.');
    this.options.guardians.checkApproval('ceremony.certify', id, parameters, row.certify_request_id);
    this.db.transaction(() => {
      const { approvers } = this.options.guardians.requireApproval('ceremony.certify', id, parameters, row.certify_request_id!);
      const signatures = approvalSignatures(this.db, this.options.guardians.view(row.certify_request_id!));
      const at = this.iso();
      this.db.prepare("UPDATE ceremonies SET status = 'certified', certified_at = ?, signatures = ? WHERE id = ? AND status = 'awaiting-signatures'").run(at, JSON.stringify(signatures), id);
      this.options.audit.append({ type: 'CEREMONY_CERTIFIED', actor: 'operator', subject: id, details: { transcriptHash: row.transcript_hash, approvers, requestId: row.certify_request_id } });
    })();
    return this.view(id);
  }

  async certificate(id: string): Promise<CertificateView> {
    const record = this.options.records.sealed(id);
    const { row } = record;
    if (row.status !== 'certified' || !row.transcript || !row.transcript_hash) fail('CEREMONY_STEP_OUT_OF_ORDER', 'The certificate exists once the guardians have signed the transcript.');
    const signatures = JSON.parse(row.signatures ?? '[]') as CertificateView['signatures'];
    const qrDataUrl = await QRCode.toDataURL(`vaultkeeper-ceremony:${row.id}:sha256:${row.transcript_hash}`, { errorCorrectionLevel: 'M', margin: 1, width: 240 });
    const html = certificateHtml({ transcript: JSON.parse(row.transcript) as Transcript, transcriptHash: row.transcript_hash, signatures, qrDataUrl, certifiedAt: row.certified_at ?? '' });
    return { ceremony: this.toView(record), transcript: row.transcript, transcriptHash: row.transcript_hash, signatures, qrDataUrl, html };
  }

  abort(id: string, reason = 'operator'): CeremonyView {
    const record = this.options.records.find(id);
    if (record.row.status !== 'in-progress') fail('CEREMONY_STEP_OUT_OF_ORDER', `Ceremony ${id.slice(0, 8)} is ${record.row.status}; only a ceremony in progress can be aborted.`);
    this.drop(id);
    this.db.transaction(() => {
      this.db.prepare("UPDATE ceremonies SET status = 'aborted', finished_at = ? WHERE id = ?").run(this.iso(), id);
      this.options.audit.append({ type: 'CEREMONY_ABORTED', actor: 'operator', subject: id, details: { reason } });
    })();
    return this.view(id);
  }

  private drop(id: string): void {
    const s = this.sessions.get(id);
    if (!s) return;
    wipe(s.entropy, ...(s.shares ?? []));
    this.sessions.delete(id);
  }

  /** The vault locked or the console stops: every seed in memory is wiped, its ceremony aborted. */
  wipeAll(reason: string): void {
    for (const id of [...this.sessions.keys()]) {
      try {
        this.abort(id, reason);
      } catch {
        this.drop(id);
      }
    }
    // Console ceremonies left in progress by a crash have lost their seed: close them.
    for (const row of this.db.prepare("SELECT id FROM ceremonies WHERE status = 'in-progress' AND mode = 'console'").all() as Array<{ id: string }>) {
      if (!this.sessions.has(row.id)) this.abort(row.id, `${reason}: the seed existed only in memory`);
    }
  }
}
