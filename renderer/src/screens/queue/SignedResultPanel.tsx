/**
 * A signed permit's result: the raw signed transaction and its hash, as a QR code and as text,
 * and the export of the self-describing result file (this permit alone, or every signed permit
 * in one batch file). The permit is marked exported once the file is on the medium.
 */
import { useCallback, useEffect, useState } from 'react';
import type { AppError, QueueItemView, SignedResultView } from '../../../../preload/contract';
import { api } from '../../api';
import { AnimatedQr } from '../../components/AnimatedQr';
import { ErrorNotice } from '../../components/ErrorNotice';
import { Time } from '../../components/Time';

function Qr({ modules }: { modules: boolean[][] }) {
  const size = modules.length + 8;
  return (
    <svg className="keyset-qr" role="img" aria-label="QR code of the signed result" viewBox={`0 0 ${size} ${size}`} width={Math.min(360, size * 4)} height={Math.min(360, size * 4)} shapeRendering="crispEdges" data-testid="result-qr">
      <rect width={size} height={size} fill="#fff" />
      {modules.flatMap((row, y) => row.map((dark, x) => (dark ? <rect key={`${x}-${y}`} x={x + 4} y={y + 4} width={1} height={1} fill="#000" /> : null)))}
    </svg>
  );
}

export function SignedResultPanel(props: { item: QueueItemView; onClose(): void; onChanged(): void }) {
  const [result, setResult] = useState<SignedResultView | null>(null);
  const [error, setError] = useState<AppError | null>(null);
  const [folder, setFolder] = useState('');
  const [note, setNote] = useState<string | null>(null);
  const load = useCallback(async () => {
    const r = await api.permits.signedResult({ permitId: props.item.permitId });
    if (r.ok) setResult(r.value);
    else setError(r.error);
  }, [props.item.permitId]);
  useEffect(() => {
    void load();
  }, [load, props.item.state]);
  const [animated, setAnimated] = useState(false);
  if (!result) return <ErrorNotice error={error} />;
  return (
    <section className="card signed-result" aria-labelledby="signed-title" data-testid="signed-result">
      <div className="spread">
        <h3 id="signed-title">Signed: {props.item.permitId}</h3>
        <button type="button" className="link" onClick={props.onClose}>
          Close
        </button>
      </div>
      <p>
        {result.chain} · {props.item.summary}
      </p>
      <dl className="facts">
        <dt>Transaction hash</dt>
        <dd className="mono" data-testid="signed-hash">
          {result.signedTxHash}
        </dd>
        <dt>Signed transaction ({result.encoding === 'hex' ? 'RLP, hex' : 'wire format, base64'})</dt>
        <dd className="mono signed-tx" data-testid="signed-tx">
          {result.signedTx}
        </dd>
        <dt>Exported</dt>
        <dd data-testid="export-state">{result.exportedAt ? <><Time iso={result.exportedAt} /> to {result.exportFile}</> : 'not yet'}</dd>
      </dl>
      <Qr modules={result.qr} />
      <button type="button" className="secondary" onClick={() => setAnimated((on) => !on)}>
        {animated ? 'Hide the animated QR' : 'Show the result file as an animated QR (BC-UR)'}
      </button>
      {animated ? <AnimatedQr idPrefix="signed-result" payload={{ kind: 'signed-results', permitIds: [props.item.permitId] }} /> : null}
      <div className="field">
        <label htmlFor="export-folder">Export to folder (absolute path)</label>
        <input id="export-folder" className="mono" value={folder} onChange={(e) => setFolder(e.target.value)} />
      </div>
      <button
        type="button"
        className="primary"
        disabled={!folder.trim()}
        onClick={async () => {
          const r = await api.permits.export({ permitIds: [props.item.permitId], folder: folder.trim(), perPermit: true });
          if (!r.ok) return setError(r.error);
          setError(null);
          setNote(`Written to ${r.value.files.join(', ')}.`);
          await load();
          props.onChanged();
        }}
      >
        Export result file
      </button>
      {note ? <p className="notice notice-ok" data-testid="export-note">{note}</p> : null}
      <ErrorNotice error={error} />
    </section>
  );
}
