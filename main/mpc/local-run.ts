// Several parties' sessions run in one process with messages routed in memory: tests and the
// benchmarks. A real node routes through the cluster transport.
import type * as Native from '../../native/index';
import { MpcError } from './addon';
import type { MpcSessionHandle } from './index';

export interface LocalRunOptions {
  /** Lets tests alter or drop a message in flight; return null to drop it. */
  intercept?: (from: number, to: number, bytes: Buffer, round: number) => Buffer | null;
  /** Holds a message back for one routing round, to model a slow link (out-of-order arrival). */
  delay?: (from: number, to: number, round: number) => boolean;
}

export interface LocalRunReport {
  results: Map<number, Native.SessionResult>;
  computeMs: Map<number, number>;
  bytesSent: Map<number, number>;
}

/**
 * Runs sessions of several parties in this process, routing messages in memory.
 * Used by tests and the benchmark; a real node routes through the cluster transport.
 */
export async function runLocal(sessions: MpcSessionHandle[], options: LocalRunOptions = {}): Promise<LocalRunReport> {
  const byParty = new Map(sessions.map((s) => [s.partyIndex, s]));
  const results = new Map<number, Native.SessionResult>();
  const computeMs = new Map<number, number>();
  const bytesSent = new Map<number, number>();
  const finished = new Set<number>();
  let round = 0;
  let held: { from: number; to: number; bytes: Buffer }[] = [];
  const deliver = (from: number, to: number, bytes: Buffer) => {
    try {
      byParty.get(to)?.feed(from, bytes);
    } catch (err) {
      for (const s of sessions) s.cancel();
      throw err;
    }
  };
  while (finished.size < sessions.length) {
    round += 1;
    const late = held;
    held = [];
    const snaps = await Promise.all(sessions.map((s) => (finished.has(s.partyIndex) ? null : s.next())));
    let progressed = false;
    for (const [k, snap] of snaps.entries()) {
      const session = sessions[k];
      if (!snap || !session) continue;
      const party = session.partyIndex;
      computeMs.set(party, snap.computeMs);
      bytesSent.set(party, snap.bytesSent);
      if (snap.phase === 'failed') {
        for (const s of sessions) s.cancel();
        throw MpcError.fromInfo(snap.error ?? { code: 'INTERNAL', message: 'session failed' });
      }
      for (const out of snap.outgoing) {
        progressed = true;
        const targets = out.to === undefined || out.to === null ? [...byParty.keys()].filter((p) => p !== party) : [out.to];
        for (const to of targets) {
          const bytes = options.intercept ? options.intercept(party, to, out.bytes, round) : out.bytes;
          if (!bytes) continue;
          if (options.delay?.(party, to, round)) held.push({ from: party, to, bytes });
          else deliver(party, to, bytes);
        }
      }
      if (snap.phase === 'done') {
        finished.add(party);
        progressed = true;
        if (snap.result) results.set(party, snap.result);
      }
    }
    for (const m of late) {
      progressed = true;
      deliver(m.from, m.to, m.bytes);
    }
    if (!progressed && held.length === 0) {
      for (const s of sessions) s.cancel();
      throw new MpcError('PROTOCOL_ABORT', 'no party can make progress (a message is missing)');
    }
  }
  return { results, computeMs, bytesSent };
}
