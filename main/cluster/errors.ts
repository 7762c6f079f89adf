/**
 * The cluster's error taxonomy (seed 004). Every failure of a session is one of three classes,
 * because each calls for a different reaction:
 * - transient: a peer timed out or disconnected → retry with another quorum when one exists;
 * - permanent: the request itself is wrong → terminal, retrying cannot help;
 * - protocol-violation: a peer's message failed verification → abort, quarantine that peer.
 */
export type ErrorClass = 'transient' | 'permanent' | 'protocol-violation';

export interface SessionFailure {
  errorClass: ErrorClass;
  code: string;
  /** A sentence an operator can act on; never secret material. */
  reason: string;
  /** Node id of the peer to blame, when one is known. */
  blamedNode?: string;
}

export class ClusterError extends Error implements SessionFailure {
  readonly errorClass: ErrorClass;
  readonly code: string;
  readonly reason: string;
  readonly blamedNode: string | undefined;

  constructor(failure: SessionFailure) {
    super(failure.reason);
    this.name = 'ClusterError';
    this.errorClass = failure.errorClass;
    this.code = failure.code;
    this.reason = failure.reason;
    this.blamedNode = failure.blamedNode;
  }

  toFailure(): SessionFailure {
    return { errorClass: this.errorClass, code: this.code, reason: this.reason, ...(this.blamedNode ? { blamedNode: this.blamedNode } : {}) };
  }
}
