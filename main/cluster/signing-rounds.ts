/**
 * "Round k of n" for a signing session running at this node, read from the engine's progress.
 * The engine counts messages received: ECDSA signing expects one per other party in each of its
 * four rounds (native/src/ecdsa.rs), FROST (EdDSA) reports its two rounds directly, and the
 * presigned ECDSA step is a single round.
 */
export interface RunningSession {
  sessionId: string;
  protocol: string;
  step: number;
  total: number;
  parties: number;
  started: boolean;
}

export interface SigningRound {
  round: number;
  rounds: number;
}

export function signingRound(session: RunningSession): SigningRound | null {
  if (!session.started) return null;
  if (session.protocol === 'ecdsa-sign-presigned') return { round: 1, rounds: 1 };
  if (session.total <= 0) return null;
  // Messages expected per round: one from each other party (ECDSA); FROST reports rounds as steps.
  const perRound = session.protocol === 'ecdsa-sign' ? Math.max(1, session.parties - 1) : session.protocol === 'eddsa-sign' ? 1 : 0;
  if (perRound === 0 || session.total % perRound !== 0) return null;
  const rounds = session.total / perRound;
  // The round in progress: the rounds completed so far, plus one, until the last.
  return { round: Math.min(rounds, Math.floor(session.step / perRound) + 1), rounds };
}
