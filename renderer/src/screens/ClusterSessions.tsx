import type { ClusterSessionView } from '../../../preload/contract';
import { Time } from '../components/Time';

/**
 * A session a peer's operator refused across the air gap ends with OPERATOR_REFUSED and the
 * reason main wrote as "Node X's operator refused: <reason>"; shown as who refused and why.
 */
export function operatorRefusal(s: Pick<ClusterSessionView, 'errorCode' | 'errorReason'>): { node: string; reason: string } | null {
  if (s.errorCode !== 'OPERATOR_REFUSED' || !s.errorReason) return null;
  const m = /^Node (.+?)'s operator refused: ([\s\S]*)$/.exec(s.errorReason);
  return m ? { node: m[1]!, reason: m[2]! } : null;
}

/** This node's sessions, newest first: state, result, and why one failed. */
export function ClusterSessions({ sessions }: { sessions: ClusterSessionView[] }) {
  return (
    <section className="card" aria-labelledby="sessions-title">
      <h1 id="sessions-title">Sessions</h1>
      <table className="audit-table">
        <thead>
          <tr><th>Started</th><th>Protocol</th><th>State</th><th>Result</th><th>Error class</th><th>Reason</th></tr>
        </thead>
        <tbody>
          {sessions.map((s) => {
            const refusal = operatorRefusal(s);
            return (
              <tr key={s.sessionId} data-testid="cluster-session" data-session={s.sessionId} data-state={s.state}>
                <td className="small"><Time iso={s.startedAt} seconds /></td>
                <td>{s.protocol}</td>
                <td>{s.state}</td>
                <td className="mono small" data-testid="session-result" title={s.signature ?? s.publicKey ?? ''}>
                  {s.signature ? `signature ${s.signature.slice(0, 16)}…` : s.publicKey ? `public key ${s.publicKey.slice(0, 16)}…` : ''}
                </td>
                <td>{s.errorClass ?? ''}{s.errorCode ? <span className="notice-code"> {s.errorCode}</span> : null}</td>
                <td className="small" data-testid="session-reason">
                  {refusal ? (
                    <>
                      <strong>Refused by node {refusal.node}:</strong> {refusal.reason}
                    </>
                  ) : (
                    <>{s.errorReason ?? ''}{s.blamedNode ? ` (node ${s.blamedNode})` : ''}</>
                  )}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </section>
  );
}
