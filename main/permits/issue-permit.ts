/**
 * Issuing a permit (the online side's job; here for the issuer tool and tests): the tx hash is
 * computed by the same decoder every node uses to verify it.
 */
import { randomUUID } from 'node:crypto';
import { decodePayload } from '../chains/payload';
import type { ChainRef } from '../chains/transaction';
import { signPermit } from './issuer-keys';
import { PERMIT_VERSION, permitSchema, type Permit, type SignedPermit } from './permit-format';

export interface IssueInput {
  keysetId: string;
  chain: ChainRef;
  payload: string;
  walletId?: string;
  txRequestId?: string;
  permitId?: string;
  controls?: Permit['controls'];
  auditAnchorHash?: string;
  issuedAt: number;
  ttlSeconds?: number;
}

export const PASSING_CONTROLS: Permit['controls'] = { kyt: 'pass', policy: 'pass', approvals: { who: ['approver-1', 'approver-2'], count: 2, required: 2 } };

export function issuePermit(input: IssueInput, issuerSecretKey: Uint8Array): SignedPermit {
  const tx = decodePayload(input.chain, input.payload);
  const permit: Permit = permitSchema.parse({
    version: PERMIT_VERSION,
    permitId: input.permitId ?? `permit-${randomUUID()}`,
    txRequestId: input.txRequestId ?? `txr-${randomUUID()}`,
    walletId: input.walletId ?? `wallet-${input.keysetId}`,
    keysetId: input.keysetId,
    chain: input.chain,
    payload: input.payload,
    txHash: tx.txHash,
    controls: input.controls ?? PASSING_CONTROLS,
    auditAnchorHash: input.auditAnchorHash ?? '0'.repeat(64),
    issuedAt: input.issuedAt,
    expiresAt: input.issuedAt + (input.ttlSeconds ?? 60) * 1000,
  });
  return signPermit(permit, issuerSecretKey);
}
