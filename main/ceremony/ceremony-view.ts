/**
 * A ceremony as the operator sees it: its record plus, for a console ceremony in progress, what
 * the in-memory session knows (which step, the positions to check). Never any secret.
 */
import type { CeremonyStep, CeremonyView, ShareFingerprintView } from '../../preload/contract';
import type { CeremonyRecord } from './ceremony-records';
import type { PublicMaterial } from './derivation-plan';
import { solanaAccountsMissing } from './ledger-solana';
import { seedFingerprint, shortFingerprint } from './seed';

/** What a console ceremony holds in memory between its steps; wiped on finish, abort or lock. */
export interface ConsoleSession {
  entropy: Buffer;
  material: PublicMaterial;
  checkPositions: number[] | null;
  transcriptionPassed: boolean;
  shares: Uint8Array[] | null;
  shareFingerprints: ShareFingerprintView[];
  ledgerVerified: boolean;
  /** The Solana accounts were checked with the Ledger's Solana app (or the plan has none). */
  solanaVerified: boolean;
}

export function ceremonyStep(record: CeremonyRecord, s: ConsoleSession | undefined): CeremonyStep {
  const { row } = record;
  if (row.status === 'aborted') return 'aborted';
  if (row.status === 'certified') return 'certified';
  if (row.status === 'awaiting-signatures') return 'signatures';
  if (row.mode === 'ledger') return solanaAccountsMissing(record.plan, record.material) > 0 ? 'ledger-solana' : 'finish';
  if (!s) return 'aborted';
  if (!s.transcriptionPassed) return s.checkPositions ? 'transcription' : 'words';
  if (!s.shares) return 'shares';
  if (!s.ledgerVerified) return 'ledger';
  if (!s.solanaVerified) return 'ledger-solana';
  return 'finish';
}

export function ceremonyView(record: CeremonyRecord, session: ConsoleSession | undefined, now: string): CeremonyView {
  const { row } = record;
  const material = record.material ?? session?.material ?? null;
  const fingerprint = row.seed_fingerprint ?? (session ? seedFingerprint(session.entropy) : null);
  return {
    id: row.id,
    mode: row.mode,
    label: row.label,
    status: row.status,
    step: ceremonyStep(record, session),
    startedAt: row.started_at,
    finishedAt: row.finished_at,
    certifiedAt: row.certified_at,
    seedFingerprint: fingerprint,
    seedFingerprintShort: fingerprint ? shortFingerprint(fingerprint) : null,
    shareFingerprints: record.shareFingerprints.length ? record.shareFingerprints : (session?.shareFingerprints ?? []),
    evmAccountXpub: material?.evmAccountXpub ?? null,
    addresses: material?.addresses ?? [],
    ledgerChecks: record.ledgerChecks,
    checkPositions: session?.transcriptionPassed ? [] : (session?.checkPositions ?? []),
    steps: record.steps,
    transcriptHash: row.transcript_hash,
    certifyRequestId: row.certify_request_id,
    now,
  };
}
