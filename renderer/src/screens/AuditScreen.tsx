import { useCallback, useEffect, useState } from 'react';
import { AUDIT_EVENT_TYPES, type AppError, type AuditExport, type AuditPage, type AuditEventType, type ChainVerification } from '../../../preload/contract';
import { api } from '../api';
import { ErrorNotice } from '../components/ErrorNotice';
import { Time } from '../components/Time';

const PAGE_SIZE = 50;

function VerificationBadge({ verification }: { verification: ChainVerification | null }) {
  if (!verification) return <span className="badge">Checking chain…</span>;
  if (verification.intact) {
    return (
      <span className="badge badge-ok" data-testid="chain-status">
        Chain verified: {verification.rows} rows intact
      </span>
    );
  }
  return (
    <span className="badge badge-bad" data-testid="chain-status">
      Chain BROKEN at row {verification.firstBrokenSeq}: {verification.reason}
    </span>
  );
}

export function AuditScreen() {
  const [page, setPage] = useState<AuditPage | null>(null);
  const [verification, setVerification] = useState<ChainVerification | null>(null);
  const [type, setType] = useState<AuditEventType | ''>('');
  const [text, setText] = useState('');
  const [offset, setOffset] = useState(0);
  const [error, setError] = useState<AppError | null>(null);
  const [exported, setExported] = useState<AuditExport | null>(null);
  const [folder, setFolder] = useState('');
  const [copied, setCopied] = useState(false);

  const load = useCallback(async () => {
    const result = await api.audit.list({ type: type || undefined, text: text || undefined, offset, limit: PAGE_SIZE });
    if (result.ok) setPage(result.value);
    else setError(result.error);
  }, [type, text, offset]);

  const verify = useCallback(async () => {
    setVerification(null);
    const result = await api.audit.verify({});
    if (result.ok) setVerification(result.value);
    else setError(result.error);
    void load();
  }, [load]);

  useEffect(() => {
    void load();
  }, [load]);
  useEffect(() => {
    void verify();
    // Verify once when the screen opens; the button re-runs it.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);

  async function exportLog() {
    setExported(null);
    setCopied(false);
    setError(null);
    const result = await api.audit.export(folder.trim() ? { folder: folder.trim() } : {});
    if (result.ok) {
      setExported(result.value);
      void load();
    } else setError(result.error);
  }

  return (
    <section className="card" aria-labelledby="audit-title">
      <div className="row spread">
        <h1 id="audit-title">Audit log</h1>
        <VerificationBadge verification={verification} />
      </div>
      <div className="row toolbar">
        <label>
          Event
          <select value={type} onChange={(e) => { setOffset(0); setType(e.target.value as AuditEventType | ''); }} aria-label="Filter by event type">
            <option value="">All events</option>
            {AUDIT_EVENT_TYPES.map((t) => (
              <option key={t} value={t}>{t}</option>
            ))}
          </select>
        </label>
        <label>
          Contains
          <input type="search" value={text} maxLength={200} onChange={(e) => { setOffset(0); setText(e.target.value); }} aria-label="Filter by text" />
        </label>
        <button type="button" className="secondary" onClick={() => void verify()}>Verify chain</button>
      </div>
      <div className="row toolbar">
        <label className="grow">
          Export to folder
          <input className="mono" value={folder} maxLength={1024} placeholder="default: the exports folder in the data folder" onChange={(e) => setFolder(e.target.value)} aria-label="Export folder" />
        </label>
        <button type="button" className="secondary" onClick={() => void exportLog()}>Export JSON Lines</button>
      </div>
      <ErrorNotice error={error} onDismiss={() => setError(null)} />
      {exported ? (
        <div className="notice notice-ok export-notice" role="status" data-testid="export-notice">
          <div>
            <p>Exported {exported.rows} rows to <span className="mono" data-testid="export-path">{exported.path}</span>.</p>
            <p>
              Head hash (write it down or scan it; it proves the file was not cut or rewritten):<br />
              <span className="mono head-hash" data-testid="export-head-hash">{exported.headHash}</span>{' '}
              <button
                type="button"
                className="secondary"
                onClick={async () => {
                  try {
                    await navigator.clipboard.writeText(exported.headHash);
                    setCopied(true);
                  } catch {
                    setCopied(false);
                  }
                }}
              >
                {copied ? 'Copied' : 'Copy head hash'}
              </button>
            </p>
            <p className="small">Check the file on any machine: <span className="mono" data-testid="export-verify-command">{exported.verifyCommand}</span></p>
            <button type="button" className="link" onClick={() => setExported(null)}>Dismiss</button>
          </div>
          <img src={exported.headHashQr} alt="QR code of the head hash" width={160} height={160} data-testid="export-head-hash-qr" />
        </div>
      ) : null}
      <table className="audit-table audit-log-table">
        <colgroup>
          <col style={{ width: 56 }} /><col style={{ width: 170 }} /><col style={{ width: 200 }} /><col style={{ width: 150 }} /><col /><col style={{ width: 110 }} />
        </colgroup>
        <thead>
          <tr><th>#</th><th>Time (UTC; local on hover)</th><th>Event</th><th>Actor (id on hover)</th><th>Details</th><th>Hash</th></tr>
        </thead>
        <tbody>
          {page?.entries.map((entry) => (
            <tr key={entry.seq} data-testid="audit-row" data-type={entry.type}>
              <td>{entry.seq}</td>
              <td className="mono"><Time iso={entry.at} seconds /></td>
              <td><span className="event-type">{entry.type}</span></td>
              <td title={entry.actor} data-testid="audit-actor">{entry.actorName ?? (entry.actor.length > 20 ? `${entry.actor.slice(0, 10)}…` : entry.actor)}</td>
              <td className="mono small audit-details">{Object.keys(entry.details).length ? JSON.stringify(entry.details) : ''}</td>
              <td className="mono small" title={entry.hash}>{entry.hash.slice(0, 12)}…</td>
            </tr>
          ))}
        </tbody>
      </table>
      {page && page.total === 0 ? <p className="hint">No events match.</p> : null}
      {page ? (
        <div className="row spread">
          <span className="hint">
            {page.total === 0 ? '' : `Showing ${offset + 1}–${Math.min(offset + PAGE_SIZE, page.total)} of ${page.total}`}
          </span>
          <span className="row">
            <button type="button" className="secondary" disabled={offset === 0} onClick={() => setOffset(Math.max(0, offset - PAGE_SIZE))}>Newer</button>
            <button type="button" className="secondary" disabled={offset + PAGE_SIZE >= page.total} onClick={() => setOffset(offset + PAGE_SIZE)}>Older</button>
          </span>
        </div>
      ) : null}
    </section>
  );
}
