/**
 * The requester's check of a combined signature relayed by the coordinator: it must verify under
 * the keyset's public key over exactly what was asked (EdDSA: the message; ECDSA: keccak256 of
 * the preimage, recovering to the keyset's public key and address).
 */
import { ed25519 } from '@noble/curves/ed25519.js';
import { keccak256, recoverAddress, Signature, SigningKey } from 'ethers';

export interface SignedResult {
  signature: string;
  recoveryId: number | null;
}

export function signatureMatchesKeyset(keyset: { scheme: 'ecdsa' | 'eddsa'; publicKey: string | null; address: string | null }, message: Buffer, result: SignedResult): boolean {
  if (!keyset.publicKey || !/^[0-9a-f]*$/.test(result.signature)) return false;
  const sig = Buffer.from(result.signature, 'hex');
  if (sig.length !== 64) return false;
  try {
    if (keyset.scheme === 'eddsa') return ed25519.verify(sig, message, Buffer.from(keyset.publicKey, 'hex'));
    if (result.recoveryId === null || result.recoveryId < 0 || result.recoveryId > 1) return false;
    const digest = keccak256(message);
    const signature = Signature.from({ r: `0x${sig.subarray(0, 32).toString('hex')}`, s: `0x${sig.subarray(32).toString('hex')}`, v: 27 + result.recoveryId });
    const recovered = SigningKey.recoverPublicKey(digest, signature);
    if (SigningKey.computePublicKey(recovered, true) !== SigningKey.computePublicKey(`0x${keyset.publicKey}`, true)) return false;
    return keyset.address === null || recoverAddress(digest, signature).toLowerCase() === keyset.address.toLowerCase();
  } catch {
    return false;
  }
}
