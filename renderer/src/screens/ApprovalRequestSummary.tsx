import type { ApprovalRequestView } from '../../../preload/contract';
import { utcText } from '../components/Time';

/** "in 42 min", "3 h 5 min ago": time left or past, in words. */
export function timeInWords(ms: number): string {
  const abs = Math.abs(ms);
  const minutes = Math.ceil(abs / 60_000);
  const hours = `${Math.floor(minutes / 60)} h${minutes % 60 ? ` ${minutes % 60} min` : ''}`;
  const text = abs < 60_000 ? `${Math.max(1, Math.ceil(abs / 1000))} s` : minutes < 60 ? `${minutes} min` : hours;
  return ms >= 0 ? `in ${text}` : `${text} ago`;
}

export const utc = (iso: string) => utcText(iso);

const STATUS_WORDS: Record<ApprovalRequestView['status'], string> = {
  pending: 'Waiting for guardians',
  executed: 'Done: the operation ran',
  rejected: 'Rejected by the guardians',
  expired: 'Expired without running',
};

export function quorumReached(request: ApprovalRequestView): boolean {
  return request.approvalsCounted >= request.quorum;
}

/** The approval count in words, with who can still approve. */
export function approvalsInWords(request: ApprovalRequestView): string {
  const count = `${request.approvalsCounted} of ${request.quorum} required`;
  if (request.status !== 'pending') return count;
  if (quorumReached(request)) return `${count} — quorum reached, the operation can run`;
  return request.waitingFor.length ? `${count} — waiting for ${request.waitingFor.join(' or ')}` : `${count} — no guardian left who could approve`;
}

/**
 * A 32-byte hash as the Ledger prints it, split into 4-character blocks by spacing only: the text
 * stays one unbroken string, exactly the device's, if it is copied or read by a screen reader.
 */
export function DeviceHash({ value, testId }: { value: string; testId: string }) {
  const digits = value.replace(/^0x/, '');
  const groups = digits.match(/.{1,4}/g) ?? [];
  return (
    <span className="device-hash mono" data-testid={testId} data-value={value}>
      <span className="hash-prefix">0x</span>
      <span className="hash-groups">
        {groups.map((group, index) => (
          <span key={index} className="hash-group">{group}</span>
        ))}
      </span>
    </span>
  );
}

/**
 * A request as a person must read it before signing. The head answers, at a glance, what runs,
 * on what, moving which amounts, asked by whom, until when, and how many approvals it has; the
 * details below say exactly what will happen.
 */
export function ApprovalRequestSummary({ request }: { request: ApprovalRequestView }) {
  const left = Date.parse(request.expiresAt) - Date.parse(request.now);
  const pending = request.status === 'pending';
  const reached = quorumReached(request);
  const urgent = pending && left < 10 * 60_000;
  return (
    <div className="request-summary" data-testid="request-summary">
      <header className="request-head">
        <div className="request-title">
          <h2>{request.operationLabel}</h2>
          <span className={`badge request-status-${request.status}${pending && reached ? ' request-status-ready' : ''}`} data-testid="request-status" data-status={request.status}>
            {pending && reached ? 'Approved — ready to run' : STATUS_WORDS[request.status]}
          </span>
        </div>
        <div className={`approval-count ${reached ? 'approval-count-ok' : 'approval-count-short'}`} data-testid="request-approvals">
          <span className="approval-count-number">{request.approvalsCounted} / {request.quorum}</span>
          <span className="approval-count-words">{approvalsInWords(request)}</span>
        </div>
      </header>
      <dl className="facts head-facts">
        <dt>Subject</dt>
        <dd data-testid="request-subject">{request.subjectLabel}</dd>
        <dt>Amounts</dt>
        <dd data-testid="request-amounts">{request.amounts.length ? request.amounts.join(', ') : 'None — this operation moves no funds'}</dd>
        <dt>Requested by</dt>
        <dd data-testid="request-requester">
          <strong>{request.requester.name}</strong>
          {request.requester.address ? ` (a guardian, signed with key ${request.requester.address}: their own approval does not count)` : ' (confirmed with the vault passphrase)'}, {utc(request.createdAt)}
        </dd>
        <dt>Expires</dt>
        <dd data-testid="request-expiry" className={urgent ? 'expiry-soon' : undefined}>
          {pending || request.status === 'expired' ? (
            <>
              <strong>{left >= 0 ? 'Expires' : 'Expired'} {timeInWords(left)}</strong> ({utc(request.expiresAt)})
            </>
          ) : (
            <>
              {utc(request.expiresAt)}
              {request.executedAt ? ` — ran at ${utc(request.executedAt)}` : ''}
            </>
          )}
        </dd>
      </dl>
      <h3>What will happen</h3>
      <ul className="request-lines">
        {request.summary.map((line) => (
          <li key={line}>{line}</li>
        ))}
      </ul>
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
      {request.guardianSet ? (
        <p className="small" data-testid="request-guardian-set">
          Guardian set in force when it {request.status === 'executed' ? 'ran' : 'closed'} (registry version {request.guardianSet.epoch}, recorded {utc(request.guardianSet.recordedAt)}):{' '}
          {request.guardianSet.guardians.map((g) => `${g.slot}. ${g.name}`).join(', ')}. The decisions above are as recorded then.
        </p>
      ) : null}
      {request.historyNote ? <p className="small hint" data-testid="request-history-note">{request.historyNote}</p> : null}
      <p className="small hint">Payload hash <span className="mono">{request.payloadHash}</span></p>
    </div>
  );
}
