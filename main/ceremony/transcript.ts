/**
 * The ceremony transcript: who took part, each step with its time, and the public outputs. Its
 * canonical JSON (RFC 8785) is hashed; the guardians sign that hash through the guardian quorum
 * (an EIP-712 approval of a `ceremony.certify` request whose parameters carry it).
 */
import { createHash } from 'node:crypto';
import canonicalize from 'canonicalize';
import type { CeremonyStepRecord, LedgerCheckView, PlannedAddressView, ShareFingerprintView } from '../../preload/contract';

export interface Transcript {
  format: 'vaultkeeper.ceremony-transcript/1';
  ceremonyId: string;
  vaultId: string;
  nodeId: string;
  mode: 'console' | 'ledger';
  label: string;
  startedAt: string;
  finishedAt: string;
  startApproval: { requestId: string; approvers: string[] };
  guardians: Array<{ slot: number; name: string; address: string; kind: string }>;
  steps: CeremonyStepRecord[];
  outputs: {
    seedFingerprint: string | null;
    shareFingerprints: ShareFingerprintView[];
    evmAccountXpub: string | null;
    addresses: PlannedAddressView[];
  };
  ledgerChecks: LedgerCheckView[];
}

export function canonicalTranscript(transcript: Transcript): string {
  const text = canonicalize(transcript);
  if (text === undefined) throw new TypeError('transcript must be JSON');
  return text;
}

export function transcriptHash(canonical: string): string {
  return createHash('sha256').update(canonical, 'utf8').digest('hex');
}
