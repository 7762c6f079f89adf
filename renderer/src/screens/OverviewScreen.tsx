import { useCallback, useEffect, useState, type ReactNode } from 'react';
import type { AppError, OverviewItem, OverviewView } from '../../../preload/contract';
import { api } from '../api';
import { ErrorNotice } from '../components/ErrorNotice';
import { useConsole, type Screen } from '../store';

const REFRESH_MS = 5_000;

const TONE_WORDS: Record<OverviewItem['tone'], string> = { ok: 'OK', attention: 'NEEDS ATTENTION', idle: 'NOT SET UP' };

/** A link to another screen (a link, not a button: the navigation bar holds the screen buttons). */
function ScreenLink({ to, children }: { to: Screen; children: ReactNode }) {
  const setScreen = useConsole((s) => s.setScreen);
  return (
    <a
      href={`#${to}`}
      className="screen-link"
      onClick={(event) => {
        event.preventDefault();
        setScreen(to);
      }}
    >
      {children}
    </a>
  );
}

function ItemCard({ item }: { item: OverviewItem }) {
  return (
    <article className={`overview-item overview-${item.tone}`} data-testid={`overview-${item.id}`} data-tone={item.tone}>
      <header>
        <h2>{item.title}</h2>
        <span className={`badge overview-badge-${item.tone}`}>{TONE_WORDS[item.tone]}</span>
      </header>
      <p className="overview-headline">{item.headline}</p>
      {item.lines.length ? (
        <ul className="overview-lines">
          {item.lines.map((line, i) => <li key={i}>{line}</li>)}
        </ul>
      ) : null}
      {item.link ? <ScreenLink to={item.link}>{item.action} →</ScreenLink> : null}
    </article>
  );
}

function Checklist({ view }: { view: OverviewView }) {
  const available = view.checklist.filter((s) => s.available);
  const left = available.filter((s) => !s.done).length;
  return (
    <section className="card" aria-labelledby="checklist-title" data-testid="checklist">
      <h1 id="checklist-title">{left === 0 ? 'Set-up complete' : `First steps: ${available.length - left} of ${available.length} done`}</h1>
      <ol className="checklist">
        {view.checklist.map((step) => (
          <li key={step.id} data-testid={`checklist-${step.id}`} data-done={step.done ? 'true' : 'false'} className={step.done ? 'step-done' : step.available ? 'step-open' : 'step-unavailable'}>
            <span className="step-mark" aria-hidden="true">{step.done ? '✓' : step.available ? '○' : '–'}</span>
            <span className="step-label">{step.label}</span>
            <span className="step-note small">{step.done ? 'Done. ' : ''}{step.note}</span>
            {!step.done && step.link ? (
              <ScreenLink to={step.link}>Go →</ScreenLink>
            ) : null}
          </li>
        ))}
      </ol>
    </section>
  );
}

export function OverviewScreen() {
  const status = useConsole((s) => s.status);
  const [view, setView] = useState<OverviewView | null>(null);
  const [error, setError] = useState<AppError | null>(null);
  const load = useCallback(async () => {
    const r = await api.overview.get({});
    if (r.ok) {
      setView(r.value);
      setError(null);
    } else setError(r.error);
  }, []);
  useEffect(() => {
    void load();
    const t = setInterval(() => void load(), REFRESH_MS);
    return () => clearInterval(t);
  }, [load]);
  if (!status) return null;
  return (
    <>
      <ErrorNotice error={error} />
      {view ? <Checklist view={view} /> : null}
      {view ? (
        <section className="overview-grid" aria-label="What needs attention">
          {view.items.map((item) => <ItemCard key={item.id} item={item} />)}
        </section>
      ) : null}
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
    </>
  );
}
