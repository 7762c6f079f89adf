import { useState } from 'react';
import type { AirgapReport, AppError, KeyCheckPurpose, KeysetView } from '../../../preload/contract';
import { api } from '../api';
import { Time } from '../components/Time';
import { useConsole } from '../store';
import { AirgapGroupPanel } from './AirgapGroupPanel';
import { AirgapQr } from './AirgapQr';
import { AirgapReview } from './AirgapReview';

/**
 * The air gap on the Keysets screen: the bundle folder, a key-check request to one partner,
 * importing the folder (rounds, replies, refusals), the review of requests waiting here, and
 * what the last import did — including requests refused before, with when and why.
 */
export function AirgapPanel({ keysets, onError, onChanged }: { keysets: KeysetView[]; onError(e: AppError | null): void; onChanged(): void }) {
  const nodes = useConsole((s) => s.cluster?.nodes ?? []);
  const [folder, setFolder] = useState('');
  const [keysetId, setKeysetId] = useState('');
  const [partner, setPartner] = useState('');
  const [purpose, setPurpose] = useState<KeyCheckPurpose>('key-check');
  const [report, setReportValue] = useState<AirgapReport | null>(null);
  // An import may have finished a key generation by files: the keyset list is read again.
  const setReport = (r: AirgapReport) => {
    setReportValue(r);
    onChanged();
  };
  const k = keysets.find((x) => x.keysetId === keysetId);
  const peers = nodes.filter((n) => !n.isSelf && k?.participants.some((p) => p.nodeId === n.nodeId));
  const done = (r: Awaited<ReturnType<typeof api.cluster.airgapImport>>) => {
    if (r.ok) setReport(r.value);
    else onError(r.error);
  };
  return (
    <section className="card" aria-labelledby="airgap-title">
      <h1 id="airgap-title">Air gap: bundles on removable media</h1>
      <p className="hint">Each round of a session is one signed, encrypted bundle per direction. Carry the folder's new bundles to the other node and import its replies here.</p>
      <div className="field">
        <label htmlFor="airgap-folder">Bundle folder (absolute path, e.g. the USB stick)</label>
        <input id="airgap-folder" className="mono" value={folder} onChange={(e) => setFolder(e.target.value)} />
      </div>
      <div className="row toolbar">
        <label>
          Keyset
          <select value={keysetId} onChange={(e) => setKeysetId(e.target.value)}>
            <option value="">—</option>
            {keysets.map((x) => <option key={x.keysetId} value={x.keysetId}>{x.lab ? 'LAB · ' : ''}{x.chain} {x.address?.slice(0, 12)}…</option>)}
          </select>
        </label>
        <label>
          Partner node
          <select value={partner} onChange={(e) => setPartner(e.target.value)}>
            <option value="">—</option>
            {peers.map((n) => <option key={n.nodeId} value={n.nodeId}>{n.name}</option>)}
          </select>
        </label>
        <label>
          Test signature
          <select value={purpose} onChange={(e) => setPurpose(e.target.value as KeyCheckPurpose)}>
            <option value="key-check">Key check</option>
            <option value="restore-proof">Restore proof</option>
            <option value="drill">Drill</option>
          </select>
        </label>
      </div>
      <div className="row">
        <button type="button" disabled={!folder || !keysetId || !partner} onClick={async () => done(await api.cluster.airgapSign({ keysetId, partner, purpose, folder }))}>
          Export key-check request bundle
        </button>
        <button type="button" disabled={!folder} onClick={async () => done(await api.cluster.airgapImport({ folder }))}>
          Import bundles from folder
        </button>
      </div>
      <AirgapGroupPanel folder={folder.trim()} keysets={keysets} report={report} onReport={setReport} />
      <AirgapReview folder={folder.trim()} onReport={setReport} />
      <AirgapQr folder={folder.trim()} onReport={setReport} />
      {report ? (
        <p className="small" data-testid="airgap-report">
          {report.bundles} bundle(s) handled{report.joined.length ? `, joined ${report.joined.length} session(s)` : ''}; {report.waiting.length} session(s) waiting for bundles.
          {report.pending.length ? ` ${report.pending.length} session request(s) wait for your review: press “Review requests in folder”.` : ''}
          {report.refused.map((r) => <span key={r.file} className="notice-code"> {r.code}: {r.message}</span>)}
        </p>
      ) : null}
      {report && report.refusedEarlier.length > 0 ? (
        <ul className="small" data-testid="airgap-refused-earlier" aria-label="Requests you refused before">
          {report.refusedEarlier.map((r) => (
            <li key={r.sessionId}>
              Refused before, not offered again: request <span className="mono">{r.sessionId.slice(0, 16)}…</span> on <Time iso={r.refusedAt} seconds />, because: {r.reason}
              {r.replyWrittenAgain ? (
                <strong data-testid="airgap-refusal-rewritten">
                  {' '}Its refusal was missing from the folder and is written again as <span className="mono">{r.replyWrittenAgain}</span>: carry it back to the requester.
                </strong>
              ) : null}
            </li>
          ))}
        </ul>
      ) : null}
    </section>
  );
}
