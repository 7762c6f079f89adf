/**
 * The EIP-712 structures guardians sign, and the canonical payload hash of a request.
 *
 * Domain: name "Vaultkeeper", version "1", chainId 1, no verifyingContract. Approvals are not
 * on-chain objects; chainId 1 is chosen over 0 because standard wallets (a remote guardian may
 * use one) refuse typed data whose chainId is not a network they know, while the Ledger's hashed
 * EIP-712 mode does not look at it. Cross-vault and cross-request replay is prevented by the
 * message itself: the request id is random, the payload hash commits to the vault id, and each
 * nonce is issued by this console for one request and consumed once.
 */
import canonicalize from 'canonicalize';
import { keccak256, toUtf8Bytes, TypedDataEncoder, verifyTypedData, type TypedDataDomain, type TypedDataField } from 'ethers';

export const APPROVAL_DOMAIN: TypedDataDomain = { name: 'Vaultkeeper', version: '1', chainId: 1 };

export const APPROVAL_TYPES: Record<string, TypedDataField[]> = {
  Approval: [
    { name: 'requestId', type: 'string' },
    { name: 'payloadHash', type: 'bytes32' },
    { name: 'operation', type: 'string' },
    { name: 'nonce', type: 'bytes32' },
    { name: 'expiry', type: 'uint64' },
    { name: 'decision', type: 'string' },
  ],
};

export const ENROLMENT_TYPES: Record<string, TypedDataField[]> = {
  Enrolment: [
    { name: 'vaultId', type: 'string' },
    { name: 'guardianName', type: 'string' },
    { name: 'challenge', type: 'bytes32' },
  ],
};

/**
 * A guardian who requests a guarded operation signs this, so the requester is a key, not a name
 * typed at the console; an approval from that key never counts towards the request.
 */
export const REQUEST_TYPES: Record<string, TypedDataField[]> = {
  GuardedRequest: [
    { name: 'vaultId', type: 'string' },
    { name: 'requestId', type: 'string' },
    { name: 'operation', type: 'string' },
    { name: 'subject', type: 'string' },
    { name: 'payloadHash', type: 'bytes32' },
    { name: 'expiry', type: 'uint64' },
  ],
};

export interface RequestMessage {
  vaultId: string;
  requestId: string;
  operation: string;
  subject: string;
  payloadHash: string;
  /** Unix seconds: the request's expiry. */
  expiry: number;
}

export interface ApprovalMessage {
  requestId: string;
  payloadHash: string;
  operation: string;
  nonce: string;
  /** Unix seconds: the request's expiry. */
  expiry: number;
  decision: 'approve' | 'reject';
}

export interface EnrolmentMessage {
  vaultId: string;
  guardianName: string;
  challenge: string;
}

/**
 * What a guarded operation will do (parameters, recomputed by the operation when it runs) and the
 * facts around it (context: reason, requester), exactly; its keccak-256 is what guardians sign.
 */
export function canonicalPayload(vaultId: string, operation: string, subject: string, parameters: Record<string, unknown>, context: Record<string, unknown>): string {
  const text = canonicalize({ kind: 'vaultkeeper.guarded-operation', version: 1, vaultId, operation, subject, parameters, context });
  if (text === undefined) throw new TypeError('guarded operation parameters must be JSON data');
  return text;
}

export function payloadHash(vaultId: string, operation: string, subject: string, parameters: Record<string, unknown>, context: Record<string, unknown>): string {
  return keccak256(toUtf8Bytes(canonicalPayload(vaultId, operation, subject, parameters, context)));
}

/** The two 32-byte hashes a Ledger signs in hashed EIP-712 mode. */
export function hashedParts(types: Record<string, TypedDataField[]>, message: object): { domainSeparator: string; hashStruct: string } {
  return {
    domainSeparator: TypedDataEncoder.hashDomain(APPROVAL_DOMAIN),
    hashStruct: TypedDataEncoder.from(types).hash(message as Record<string, unknown>),
  };
}

/**
 * A 32-byte hash as the Ledger Ethereum app prints it on its "Domain hash" / "Message hash"
 * screens: 0x followed by upper-case hex digits.
 */
export function ledgerDisplayHex(hash: string): string {
  return `0x${hash.replace(/^0x/i, '').toUpperCase()}`;
}

/** The signer's address, or null when the signature is malformed. */
export function recoverSigner(types: Record<string, TypedDataField[]>, message: object, signature: string): string | null {
  try {
    return verifyTypedData(APPROVAL_DOMAIN, types, message as Record<string, unknown>, signature);
  } catch {
    return null;
  }
}

/** The typed data as eth_signTypedData_v4 expects it, for request files and remote wallets. */
export function approvalTypedData(message: ApprovalMessage) {
  return {
    domain: APPROVAL_DOMAIN,
    types: {
      EIP712Domain: [
        { name: 'name', type: 'string' },
        { name: 'version', type: 'string' },
        { name: 'chainId', type: 'uint256' },
      ],
      ...APPROVAL_TYPES,
    },
    primaryType: 'Approval' as const,
    message,
  };
}
