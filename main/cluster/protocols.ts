/** Which cluster protocols make new records, and so need the operator's consent (keygen window). */
import type { ClusterProtocol } from '../coordinator/protocol';

/** Key generation proper: the session ends with a new keyset. */
export function createsKeyset(protocol: ClusterProtocol): boolean {
  return protocol.endsWith('-keygen') || protocol === 'ecdsa-dkg';
}

/**
 * Sessions that set something up (a keyset, or a group's auxiliary data) rather than use a
 * keyset: they run only when this node's operator started them or opened a key-generation
 * window, and get the longer key-generation bound.
 */
export function isSetupProtocol(protocol: ClusterProtocol): boolean {
  return createsKeyset(protocol) || protocol === 'ecdsa-aux';
}
