/**
 * The permit queue: import bundles, see every permit by state with time left (sortable),
 * counts and totals per asset, approve a clean selection in bulk after reading its totals, sign
 * approved permits with progress per permit, and open one for review or its signed result.
 */
import { useCallback, useEffect, useMemo, useState } from 'react';
import type { AppError, BulkSummaryView, QrPayloadRef, QrReceiveView, QueueImportReport, QueueItemView, QueueOverviewView, QueueState } from '../../../../preload/contract';
import { api } from '../../api';
import { AnimatedQr } from '../../components/AnimatedQr';
import { ErrorNotice } from '../../components/ErrorNotice';
import { QrScanner } from '../../components/QrScanner';
import { ExportedMark, useExportedKeysets } from '../../components/ExportedMark';
import { JobList } from '../../components/JobCard';
import { runningIn, useJobPolling, useJobs } from '../../jobs';
import { ReviewPanel } from './ReviewPanel';
import { SignedResultPanel } from './SignedResultPanel';
import { timeLeft, useNow } from './time-left';

const POLL_MS = 1_000;
const STATE_LABELS: Record<QueueState, string> = {
  pending: 'Pending review',
  approved: 'Approved',
  signing: 'Signing',
  signed: 'Signed',
  exported: 'Exported',
  rejected: 'Rejected',
  expired: 'Expired',
  failed: 'Failed',
};
const ORDER: QueueState[] = ['pending', 'approved', 'signing', 'signed', 'exported', 'rejected', 'expired', 'failed'];

function ImportForm(props: { onImported(report: QueueImportReport): void }) {
  const [from, setFrom] = useState<'file' | 'folder' | 'paste' | 'qr'>('file');
  const [received, setReceived] = useState<Extract<QrReceiveView, { state: 'done' }> | null>(null);
  const [showFile, setShowFile] = useState<string | null>(null);
  const [path, setPath] = useState('');
  const [text, setText] = useState('');
  const [error, setError] = useState<AppError | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async () => {
    if (from === 'qr') return;
    setBusy(true);
    setError(null);
    const result = await api.permits.queueImport(from === 'paste' ? { from, text } : { from, path: path.trim() });
    setBusy(false);
    if (!result.ok) return setError(result.error);
    props.onImported(result.value);
  };
  return (
    <fieldset className="card" aria-label="Import permits">
      <legend>Import permit bundles</legend>
      <div className="tabs" role="radiogroup" aria-label="Import from">
        {(['file', 'folder', 'paste', 'qr'] as const).map((f) => (
          <label key={f}>
            <input type="radio" name="import-from" checked={from === f} onChange={() => setFrom(f)} /> {f === 'file' ? 'A bundle file' : f === 'folder' ? 'Every bundle in a folder' : f === 'paste' ? 'Pasted or scanned payload' : 'Animated QR (camera)'}
          </label>
        ))}
      </div>
      {from === 'qr' ? (
        <>
          <QrScanner
            idPrefix="queue-import"
            label="the animated QR of a permit bundle"
            animated={{
              start: { kind: 'permit-bundle' },
              onReceived: (view) => {
                setReceived(view);
                if (view.outcome.kind === 'permit-bundle') props.onImported(view.outcome.report);
              },
            }}
          />
          {received ? (
            <p className="notice notice-ok qr-received" data-testid="qr-received">
              Received {received.payloadBytes} bytes in {received.progress.framesRead} frames; SHA-256 <span className="mono" data-testid="qr-received-sha256">{received.sha256}</span>. Compare it with the sending screen. Each permit was verified as from a file.
            </p>
          ) : null}
        </>
      ) : from === 'paste' ? (
        <div className="field">
          <label htmlFor="queue-import-text">Bundle (JSON)</label>
          <textarea id="queue-import-text" className="mono" rows={4} value={text} onChange={(e) => setText(e.target.value)} />
        </div>
      ) : (
        <div className="field">
          <label htmlFor="queue-import-path">{from === 'file' ? 'Bundle file (absolute path)' : 'Folder (absolute path)'}</label>
          <input id="queue-import-path" className="mono" value={path} onChange={(e) => setPath(e.target.value)} />
        </div>
      )}
      {from !== 'qr' ? (
        <button type="button" className="primary" disabled={busy || (from === 'paste' ? !text.trim() : !path.trim())} onClick={() => void submit()}>
          Import
        </button>
      ) : null}
      {from === 'file' ? (
        <button type="button" className="secondary" disabled={!path.trim()} onClick={() => setShowFile((shown) => (shown ? null : path.trim()))}>
          {showFile ? 'Hide the animated QR' : 'Show this file as an animated QR'}
        </button>
      ) : null}
      {from === 'file' && showFile ? <AnimatedQr idPrefix="queue-file" payload={{ kind: 'permit-bundle-file', path: showFile }} /> : null}
      <ErrorNotice error={error} />
    </fieldset>
  );
}

function ImportReport({ report }: { report: QueueImportReport }) {
  return (
    <section className="card" aria-label="Import result" data-testid="import-report">
      <p className={report.imported > 0 ? 'notice notice-ok' : 'notice'}>
        Imported {report.imported} permit{report.imported === 1 ? '' : 's'}; refused {report.refusedPermits.length} permit{report.refusedPermits.length === 1 ? '' : 's'} and {report.refusedBundles.length} bundle{report.refusedBundles.length === 1 ? '' : 's'}.
      </p>
      {report.refusedBundles.length + report.refusedPermits.length > 0 ? (
        <ul className="request-lines">
          {report.refusedBundles.map((r, i) => (
            <li key={`b${i}`} data-refused-bundle={r.source}>
              <strong>Bundle {r.source} refused whole:</strong> {r.message} <span className="notice-code">{r.code}</span>
            </li>
          ))}
          {report.refusedPermits.map((r, i) => (
            <li key={`p${i}`} data-refused-permit={r.permitId ?? ''}>
              <strong>Permit {r.permitId}</strong> refused: {r.message} <span className="notice-code">{r.code}</span>
            </li>
          ))}
        </ul>
      ) : null}
    </section>
  );
}

function BulkConfirm(props: { summary: BulkSummaryView; onConfirm(): void; onCancel(): void; busy: boolean }) {
  const s = props.summary;
  return (
    <section className="card decision" role="dialog" aria-label="Confirm bulk approval" data-testid="bulk-confirm">
      <h3>
        Approve {s.count} permit{s.count === 1 ? '' : 's'}?
      </h3>
      <p className="section-label">Totals per asset</p>
      <ul data-testid="bulk-per-asset">
        {s.perAsset.map((a) => (
          <li key={a.asset}>
            <strong>
              {a.amount} {a.symbol}
            </strong>
          </li>
        ))}
      </ul>
      <p className="section-label">Per destination</p>
      <ul data-testid="bulk-per-destination">
        {s.perDestination.map((d) => (
          <li key={`${d.asset}-${d.destination}`}>
            {d.amount} {d.symbol} → <span className="mono">{d.destination}</span>
          </li>
        ))}
      </ul>
      {s.excluded.length > 0 ? (
        <div className="notice">
          Not included:
          <ul>
            {s.excluded.map((e) => (
              <li key={e.permitId}>
                {e.permitId}: {e.reason}
              </li>
            ))}
          </ul>
        </div>
      ) : null}
      <div className="toolbar">
        <button type="button" className="primary" disabled={props.busy || s.count === 0} onClick={props.onConfirm}>
          Approve these {s.count}
        </button>
        <button type="button" className="secondary" onClick={props.onCancel}>
          Cancel
        </button>
      </div>
    </section>
  );
}

function QueueRow(props: { item: QueueItemView; now: number; selected: boolean; exportedAt: string | undefined; onSelect(on: boolean): void; onOpen(): void }) {
  const { item } = props;
  const waiting = item.state === 'pending' || item.state === 'approved';
  const left = timeLeft(item.expiresAt, props.now);
  return (
    <tr data-permit={item.permitId} data-state={item.state}>
      <td>
        <input type="checkbox" aria-label={`Select ${item.permitId}`} checked={props.selected} disabled={!waiting && item.state !== 'signed'} onChange={(e) => props.onSelect(e.target.checked)} />
      </td>
      <td>
        <span className={`badge ${item.state === 'rejected' || item.state === 'failed' || item.state === 'expired' ? 'badge-bad' : item.state === 'signed' || item.state === 'exported' ? 'badge-ok' : ''}`}>{STATE_LABELS[item.state]}</span>
        {item.reason ? <div className="run-reason" data-testid="state-reason">{item.reason}</div> : null}
        {item.progress ? (
          <div className="small" data-testid="progress" data-phase={item.progress.phase}>
            <strong>
              {item.progress.phase === 'waiting-for-peers' ? 'Waiting for peers' : item.progress.phase === 'signing' ? 'Signing' : item.progress.phase === 'done' ? 'Done' : 'Failed'}
              {item.progress.round !== null && item.progress.rounds !== null ? <span data-testid="signing-round">, round {item.progress.round} of {item.progress.rounds}</span> : null}
            </strong>
            : {item.progress.detail}
          </div>
        ) : null}
      </td>
      <td>
        <span className="mono small">{item.permitId}</span>
        <div>{item.summary}</div>
        <div className="small">
          {item.chain} · keyset {item.keysetId}
        </div>
        <ExportedMark exportedAt={props.exportedAt} />
      </td>
      <td className={waiting && left.seconds < 20 ? 'expiry-soon' : ''}>{waiting ? left.text : '—'}</td>
      <td>
        <button type="button" className="secondary" onClick={props.onOpen}>
          {item.state === 'signed' || item.state === 'exported' ? 'Signed result' : 'Review'}
        </button>
      </td>
    </tr>
  );
}

export function QueueScreen() {
  const exported = useExportedKeysets();
  const [overview, setOverview] = useState<QueueOverviewView | null>(null);
  const [error, setError] = useState<AppError | null>(null);
  const [report, setReport] = useState<QueueImportReport | null>(null);
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [open, setOpen] = useState<string | null>(null);
  const [bulk, setBulk] = useState<BulkSummaryView | null>(null);
  const [busy, setBusy] = useState(false);
  const [sortByTimeLeft, setSortByTimeLeft] = useState(true);
  const [shown, setShown] = useState<QrPayloadRef | null>(null);
  const now = useNow();
  // Signing runs as a job in main: it goes on when this screen is left, and shows again on return.
  useJobPolling();
  const { jobs, track } = useJobs();
  const signing = runningIn(jobs, 'bulk-sign');

  const refresh = useCallback(async () => {
    const result = await api.permits.queue({});
    if (result.ok) setOverview(result.value);
    else setError(result.error);
  }, []);
  useEffect(() => {
    void refresh();
    const timer = setInterval(() => void refresh(), POLL_MS);
    return () => clearInterval(timer);
  }, [refresh]);

  const items = useMemo(() => {
    const list = [...(overview?.items ?? [])];
    if (sortByTimeLeft) list.sort((a, b) => ORDER.indexOf(a.state) - ORDER.indexOf(b.state) || Date.parse(a.expiresAt) - Date.parse(b.expiresAt));
    return list;
  }, [overview, sortByTimeLeft]);
  const selectedIds = [...selected].filter((id) => items.some((i) => i.permitId === id));
  const selectedIn = (state: QueueState) => selectedIds.filter((id) => items.find((i) => i.permitId === id)?.state === state);
  const act = async (work: () => Promise<AppError | null>) => {
    setBusy(true);
    setError(await work());
    setBusy(false);
    await refresh();
  };
  const openItem = items.find((i) => i.permitId === open) ?? null;

  return (
    <main className="screen" aria-labelledby="queue-title">
      <h2 id="queue-title" className="screen-heading">
        Permit queue
      </h2>
      <ImportForm onImported={(r) => void (setReport(r), refresh())} />
      {report ? <ImportReport report={report} /> : null}
      {overview ? (
        <section className="card" aria-label="Queue counts and totals" data-testid="queue-counts">
          <p>
            {ORDER.map((s) => (
              <span key={s} className="badge" data-count={s}>
                {STATE_LABELS[s]}: {overview.counts[s]}
              </span>
            ))}
          </p>
          <p data-testid="queue-totals">
            Waiting (pending and approved):{' '}
            {overview.totals.length === 0 ? 'nothing' : overview.totals.map((t) => `${t.amount} ${t.symbol} in ${t.count} transfer${t.count === 1 ? '' : 's'}`).join('; ')}
          </p>
        </section>
      ) : null}
      <div className="toolbar">
        <button type="button" className="secondary" disabled={busy || selectedIn('pending').length === 0} onClick={() => void act(async () => {
          const r = await api.permits.bulkSummary({ permitIds: selectedIn('pending') });
          if (!r.ok) return r.error;
          setBulk(r.value);
          return null;
        })}>
          Approve selected…
        </button>
        <button type="button" className="primary" disabled={busy || signing !== undefined || selectedIn('approved').length === 0} data-testid="queue-sign" onClick={() => void act(async () => {
          const r = await api.permits.sign({ permitIds: selectedIn('approved') });
          if (r.ok) track(r.value);
          return r.ok ? null : r.error;
        })}>
          {signing ? `Signing… (${signing.phase})` : `Sign selected approved (${selectedIn('approved').length})`}
        </button>
        <button type="button" className="secondary" disabled={selectedIds.length === 0} onClick={() => setShown(shown ? null : { kind: 'permit-bundle', permitIds: selectedIds })}>
          {shown ? 'Hide the animated QR' : `Pass selected on by animated QR (${selectedIds.length})`}
        </button>
        <label>
          <input type="checkbox" checked={sortByTimeLeft} onChange={(e) => setSortByTimeLeft(e.target.checked)} /> Sort by state, then time left
        </label>
      </div>
      <ErrorNotice error={error} />
      <JobList kinds={['bulk-sign']} />
      {shown ? <AnimatedQr idPrefix="queue-selected" payload={shown} /> : null}
      {bulk ? (
        <BulkConfirm
          summary={bulk}
          busy={busy}
          onCancel={() => setBulk(null)}
          onConfirm={() => void act(async () => {
            const r = await api.permits.bulkApprove({ permitIds: bulk.permitIds });
            setBulk(null);
            return r.ok ? null : r.error;
          })}
        />
      ) : null}
      <table className="audit-table" aria-label="Permits">
        <thead>
          <tr>
            <th>Select</th>
            <th>State</th>
            <th>Transaction</th>
            <th>Time left</th>
            <th>Open</th>
          </tr>
        </thead>
        <tbody>
          {items.map((item) => (
            <QueueRow
              key={item.permitId}
              item={item}
              now={now}
              exportedAt={exported.get(item.keysetId)}
              selected={selected.has(item.permitId)}
              onSelect={(on) => setSelected((s) => {
                const next = new Set(s);
                if (on) next.add(item.permitId);
                else next.delete(item.permitId);
                return next;
              })}
              onOpen={() => setOpen(item.permitId)}
            />
          ))}
        </tbody>
      </table>
      {openItem && (openItem.state === 'signed' || openItem.state === 'exported') ? <SignedResultPanel item={openItem} onClose={() => setOpen(null)} onChanged={() => void refresh()} /> : null}
      {openItem && openItem.state !== 'signed' && openItem.state !== 'exported' ? <ReviewPanel permitId={openItem.permitId} onClose={() => setOpen(null)} onChanged={() => void refresh()} /> : null}
    </main>
  );
}
