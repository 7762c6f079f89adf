import type { ApprovalRequestView } from '../../../preload/contract';

/** "in 42 min", "3 h 5 min ago": time left or past, in words. */
export function timeInWords(ms: number): string {
  const abs = Math.abs(ms);
  const minutes = Math.ceil(abs / 60_000);
  const hours = `${Math.floor(minutes / 60)} h${minutes % 60 ? ` ${minutes % 60} min` : ''}`;
  const text = abs < 60_000 ? `${Math.max(1, Math.ceil(abs / 1000))} s` : minutes < 60 ? `${minutes} min` : hours;
  return ms >= 0 ? `in ${text}` : `${text} ago`;
}

const utc = (iso: string) => `${iso.slice(0, 16).replace('T', ' ')} UTC`;

const STATUS_WORDS: Record<ApprovalRequestView['status'], string> = {
  pending: 'Waiting for guardians',
  executed: 'Done: the operation ran',
  rejected: 'Rejected by the guardians',
  expired: 'Expired without running',
};

/** A request as a guardian must read it before signing: what, on what, why, by whom, until when. */
export function RequestSummary({ request }: { request: ApprovalRequestView }) {
  const left = Date.parse(request.expiresAt) - Date.parse(request.now);
  return (
    <div className="request-summary" data-testid="request-summary">
      <h2>{request.operationLabel}</h2>
      <dl className="facts">
        <dt>Status</dt>
        <dd data-testid="request-status" data-status={request.status}>{STATUS_WORDS[request.status]}</dd>
        <dt>What will happen</dt>
        <dd>
          {request.summary.map((line) => (
            <div key={line}>{line}</div>
          ))}
        </dd>
        <dt>Approvals</dt>
        <dd data-testid="request-approvals">
          {request.approvalsCounted} of {request.quorum} required
          {request.waitingFor.length ? ` — waiting for ${request.waitingFor.join(' or ')}` : ''}
        </dd>
        <dt>Expires</dt>
        <dd>
          {request.status === 'pending' || request.status === 'expired' ? `${left >= 0 ? 'Expires' : 'Expired'} ${timeInWords(left)} (${utc(request.expiresAt)})` : utc(request.expiresAt)}
        </dd>
        <dt>Requested</dt>
        <dd>by {request.requester.name}, {utc(request.createdAt)}</dd>
        <dt>Payload hash</dt>
        <dd className="mono small">{request.payloadHash}</dd>
      </dl>
      {request.approvals.length ? (
        <table className="audit-table">
          <thead>
            <tr><th>Guardian</th><th>Decision</th><th>How</th><th>When (UTC)</th><th>Counts</th></tr>
          </thead>
          <tbody>
            {request.approvals.map((a) => (
              <tr key={a.guardianId} data-testid="approval-row">
                <td>{a.guardianName} <span className="mono small">{a.address.slice(0, 10)}…</span></td>
                <td>{a.decision === 'approve' ? 'Approved' : 'Rejected'}</td>
                <td>{a.via === 'ledger' ? 'Ledger' : a.via === 'software' ? 'Key file' : 'Approval file'}</td>
                <td className="mono">{utc(a.at)}</td>
                <td>{a.counts ? 'yes' : 'no'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
    </div>
  );
}
