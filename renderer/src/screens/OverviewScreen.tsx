import { useConsole } from '../store';

export function OverviewScreen() {
  const status = useConsole((s) => s.status);
  if (!status) return null;
  return (
    <section className="card" aria-labelledby="overview-title">
      <h1 id="overview-title">This console</h1>
      <dl className="facts">
        <dt>Node id</dt>
        <dd className="mono" data-testid="node-id">{status.nodeId}</dd>
        <dt>Identity fingerprint</dt>
        <dd className="mono" data-testid="node-fingerprint">{status.nodeFingerprint}</dd>
        <dt>Locks itself after</dt>
        <dd>{Math.round(status.idleTimeoutSeconds / 60)} min without activity</dd>
        <dt>Data folder</dt>
        <dd className="mono">{status.dataDirectory}</dd>
      </dl>
      <p className="hint">Compare the fingerprint word by word when another node or guardian enrols this console.</p>
    </section>
  );
}
