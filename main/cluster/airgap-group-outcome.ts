/**
 * What a node does with the outcome of a multi-party session carried by file bundles, at the two
 * moments that matter: when its own engine finished (before its completion goes out), and when
 * every party's signed completion arrived and checked out.
 *
 * A refresh seals the new share beside the old one the moment the engine finishes, exactly like
 * the coordinator path (keyset-refresh.ts): the keyset stays on its old share until all
 * completions are here; killed or timed out before, the sealed share waits for "Finish
 * interrupted refresh". Key generations and presignatures stay in memory until kept.
 */
import type { PublicResult, SessionInfo } from '../coordinator/protocol';
import type { SessionResult } from '../mpc/index';
import type { ParticipationDeps } from './participation-setup';
import { isRefreshProtocol } from './session-request';

/** The engine finished here: a refreshed share is sealed as pending (and wiped from memory) before anyone hears of it. */
export function holdOutcome(d: ParticipationDeps, info: SessionInfo, outcome: SessionResult): void {
  if (!isRefreshProtocol(info.protocol)) return;
  try {
    d.refreshes.sealPending(info, outcome);
  } finally {
    outcome.share?.fill(0);
  }
}

/** Every party proved it finished with the same outcome: the node keeps it. */
export function keepOutcome(d: ParticipationDeps, info: SessionInfo, outcome: SessionResult, own: PublicResult, shareEpoch: string | null): void {
  if (info.protocol === 'ecdsa-presign') d.pool.store(info, outcome, shareEpoch);
  d.records.finish(info, 'completed', outcome, undefined, own);
  if (isRefreshProtocol(info.protocol)) d.refreshes.sessionEnded(info, true, null);
}

/** What stays at this node when the session ends without every completion, for the failure sentence. */
export function whatStays(info: SessionInfo, sealed: boolean): string {
  if (isRefreshProtocol(info.protocol) && sealed) return 'This node stays on its current share; the new one stays sealed until "Finish interrupted refresh" proves which share the other nodes hold.';
  return 'Nothing of it was kept; request it again.';
}
