/**
 * The epoch of a key share: the first 16 bytes of SHA-256 over its public share, in hex. It
 * changes exactly when this node's share changes (a refresh), so presignatures record it (one made
 * with an older share is discarded) and share backups name it (a backup of an older share is dead).
 */
import { createHash } from 'node:crypto';

export function shareEpoch(publicShare: Buffer): string {
  return createHash('sha256').update(publicShare).digest('hex').slice(0, 32);
}
