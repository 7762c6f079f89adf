/**
 * Joining a real cluster: this node's card (QR code, file, words to read aloud), enrolling a peer's
 * card once its words are confirmed, the cluster's name and coordinator (pinned certificate) or
 * the air gap, and the members' live status. Removing or replacing a member asks the guardians.
 */
import { useCallback, useEffect, useId, useState } from 'react';
import type { AppError, MembershipView, NodeCardView, PeerCardView } from '../../../preload/contract';
import { api } from '../api';
import { ErrorNotice } from '../components/ErrorNotice';
import { KeyFilePicker } from '../components/KeyFilePicker';
import { useConsole } from '../store';
import { GuardedChange } from '../components/GuardedChange';

const REFRESH_MS = 3_000;

function OwnCard() {
  const [card, setCard] = useState<NodeCardView | null>(null);
  const [error, setError] = useState<AppError | null>(null);
  const [saved, setSaved] = useState<string | null>(null);
  const show = async () => {
    setError(null);
    const r = await api.membership.card({});
    if (r.ok) setCard(r.value);
    else setError(r.error);
  };
  const save = () => {
    if (!card) return;
    const url = URL.createObjectURL(new Blob([card.text], { type: 'application/json' }));
    const a = document.createElement('a');
    a.href = url;
    a.download = `node-card-${card.name}.json`;
    a.click();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
    setSaved(a.download);
  };
  return (
    <div data-testid="own-card">
      <h2>This node's card</h2>
      <p className="hint">Give this card to the other operators (as a file or by scanning the QR code), then read them the six words. They enrol it only if the words on their screen are the same.</p>
      {card ? (
        <div className="row">
          <figure className="keyset-qr">
            <img src={card.qr} alt={`QR code of the node card of ${card.name}`} width={240} height={240} data-testid="own-card-qr" />
            <figcaption className="small">Node card of {card.name}</figcaption>
          </figure>
          <dl className="facts">
            <dt>Name</dt>
            <dd>{card.name}</dd>
            <dt>Node id</dt>
            <dd className="mono small">{card.nodeId}</dd>
            <dt>Fingerprint words</dt>
            <dd className="mono fingerprint-words" data-testid="own-card-words">{card.fingerprint.split('-').join(' ')}</dd>
          </dl>
          <div>
            <button type="button" onClick={save}>Save card file</button>
            {saved ? <p className="hint">Saved as {saved} in your downloads folder.</p> : null}
            <label className="small">
              Card file text
              <textarea readOnly className="mono small" rows={6} value={card.text} data-testid="own-card-text" />
            </label>
          </div>
        </div>
      ) : (
        <button type="button" onClick={() => void show()}>Show this node's card</button>
      )}
      <ErrorNotice error={error} onDismiss={() => setError(null)} />
    </div>
  );
}

function EnrolPeer({ onChanged }: { onChanged(v: MembershipView): void }) {
  const [text, setText] = useState('');
  const [fileName, setFileName] = useState<string | null>(null);
  const [peer, setPeer] = useState<PeerCardView | null>(null);
  const [words, setWords] = useState('');
  const [compared, setCompared] = useState(false);
  const [error, setError] = useState<AppError | null>(null);
  const [note, setNote] = useState<string | null>(null);
  const id = useId();
  const read = async (cardText: string) => {
    setError(null);
    setNote(null);
    setPeer(null);
    setCompared(false);
    const r = await api.membership.inspectCard({ text: cardText });
    if (r.ok) setPeer(r.value);
    else setError(r.error);
  };
  const enrol = async () => {
    if (!peer) return;
    setError(null);
    // Compared on both screens: the confirmation is the operator's tick; typed: main compares the words.
    const r = await api.membership.enrolCard({ text, words: compared ? peer.fingerprint : words });
    if (!r.ok) return setError(r.error);
    setNote(`${peer.name} is enrolled.`);
    setPeer(null);
    setText('');
    setWords('');
    setFileName(null);
    onChanged(r.value);
  };
  return (
    <div data-testid="enrol-peer">
      <h2>Enrol a peer</h2>
      <KeyFilePicker
        label="Peer's card file (node-card.json)"
        fileName={fileName}
        onLoad={(loaded, name) => {
          setText(loaded);
          setFileName(name);
          if (loaded) void read(loaded);
        }}
      />
      <div className="field">
        <label htmlFor={`${id}-text`}>…or paste the card text (from its QR code)</label>
        <textarea id={`${id}-text`} className="mono small" rows={3} value={text} onChange={(e) => setText(e.target.value)} />
      </div>
      <button type="button" disabled={!text.trim()} onClick={() => void read(text)}>Read card</button>
      {peer ? (
        <div className="notice" data-testid="peer-card">
          <dl className="facts">
            <dt>Name</dt>
            <dd>{peer.name}</dd>
            <dt>Node id</dt>
            <dd className="mono small">{peer.nodeId}</dd>
            <dt>Ed25519 key</dt>
            <dd className="mono small">{peer.signingPublicKey}</dd>
            <dt>X25519 key</dt>
            <dd className="mono small">{peer.hpkePublicKey}</dd>
          </dl>
          <div className="field">
            <label htmlFor={`${id}-words`}>Fingerprint words, as the peer's operator reads them from their own screen</label>
            <input id={`${id}-words`} className="mono" value={words} disabled={compared} onChange={(e) => setWords(e.target.value)} autoComplete="off" />
          </div>
          <p className="small">Or compare on both screens. This card's words are: <strong className="mono" data-testid="peer-card-words">{peer.fingerprint.split('-').join(' ')}</strong></p>
          <label>
            <input type="checkbox" checked={compared} onChange={(e) => setCompared(e.target.checked)} /> The peer's screen shows exactly these six words, in this order
          </label>
          <div>
            <button type="button" className="primary" disabled={!compared && !words.trim()} onClick={() => void enrol()}>Enrol {peer.name}</button>
          </div>
        </div>
      ) : null}
      <ErrorNotice error={error} onDismiss={() => setError(null)} />
      {note ? <p className="notice small" role="status">{note}</p> : null}
    </div>
  );
}

function ConfigureCluster({ view, onChanged }: { view: MembershipView; onChanged(v: MembershipView): void }) {
  const { cluster, refreshCluster } = useConsole();
  const [name, setName] = useState(view.configured?.name ?? '');
  const [airgapped, setAirgapped] = useState(view.configured?.transport === 'airgap');
  const [url, setUrl] = useState(view.configured?.coordinatorUrl ?? '');
  const [pin, setPin] = useState(view.configured?.certSha256 ?? '');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<AppError | null>(null);
  const id = useId();
  const save = async () => {
    setBusy(true);
    setError(null);
    const r = await api.membership.configure(airgapped ? { name, airgapped: true } : { name, airgapped: false, coordinatorUrl: url, certSha256: pin.trim() ? pin : null });
    setBusy(false);
    if (!r.ok) return setError(r.error);
    onChanged(r.value);
    void refreshCluster();
  };
  const leavingLab = cluster?.mode === 'lab' || cluster?.lab.running;
  return (
    <fieldset className="guarded-change" data-testid="configure-cluster">
      <legend>Cluster and coordinator</legend>
      <div className="field">
        <label htmlFor={`${id}-name`}>Cluster name (as the coordinator was started with)</label>
        <input id={`${id}-name`} value={name} onChange={(e) => setName(e.target.value)} />
      </div>
      <label>
        <input type="radio" name={`${id}-t`} checked={!airgapped} onChange={() => setAirgapped(false)} /> Through a coordinator
      </label>{' '}
      <label>
        <input type="radio" name={`${id}-t`} checked={airgapped} onChange={() => setAirgapped(true)} /> Air-gapped, no coordinator (files and QR codes only)
      </label>
      {!airgapped ? (
        <>
          <div className="field">
            <label htmlFor={`${id}-url`}>Coordinator address (wss://HOST:PORT; ws:// only on this machine)</label>
            <input id={`${id}-url`} className="mono" value={url} onChange={(e) => setUrl(e.target.value)} />
          </div>
          <div className="field">
            <label htmlFor={`${id}-pin`}>Coordinator certificate SHA-256 fingerprint (required unless the coordinator is on this machine)</label>
            <input id={`${id}-pin`} className="mono" value={pin} onChange={(e) => setPin(e.target.value)} placeholder="AB:CD:… as openssl x509 -fingerprint -sha256 prints it" />
          </div>
        </>
      ) : null}
      {leavingLab ? <p className="hint">Joining stops the lab cluster on this machine and its two lab nodes stop being peers. Lab keysets stay marked and cannot sign in the real cluster.</p> : null}
      <button type="button" className="primary" disabled={busy || !name.trim() || (!airgapped && !url.trim())} onClick={() => void save()}>
        {busy ? 'Checking the coordinator…' : leavingLab ? 'Leave the lab and join this cluster' : view.configured ? 'Save cluster settings' : 'Join this cluster'}
      </button>
      <ErrorNotice error={error} onDismiss={() => setError(null)} />
    </fieldset>
  );
}

function Members({ view, onChanged }: { view: MembershipView; onChanged(): void }) {
  const [changing, setChanging] = useState<{ nodeId: string; name: string; kind: 'remove' | 'replace' } | null>(null);
  const [replacement, setReplacement] = useState({ text: '', words: '', fileName: null as string | null });
  const id = useId();
  const online = (o: boolean | null) => (o === null ? 'unknown (not connected)' : o ? 'online' : 'offline');
  return (
    <>
      <h2>Members</h2>
      <table className="audit-table">
        <thead>
          <tr><th>Name</th><th>Node id</th><th>Fingerprint</th><th>Live</th><th /></tr>
        </thead>
        <tbody>
          {view.members.map((m) => (
            <tr key={m.nodeId} data-testid="member" data-online={m.online === null ? 'unknown' : String(m.online)} data-name={m.name}>
              <td>{m.name}{m.isSelf ? ' (this console)' : ''}{m.status === 'quarantined' ? <span className="badge badge-bad"> QUARANTINED</span> : null}</td>
              <td className="mono small">{m.nodeId}</td>
              <td className="mono small">{m.fingerprint}</td>
              <td><span className={m.online ? 'badge badge-ok' : 'badge'}>{online(m.online)}</span></td>
              <td>
                {!m.isSelf ? (
                  <>
                    <button type="button" className="secondary" onClick={() => setChanging({ nodeId: m.nodeId, name: m.name, kind: 'remove' })}>Remove…</button>{' '}
                    <button type="button" className="secondary" onClick={() => setChanging({ nodeId: m.nodeId, name: m.name, kind: 'replace' })}>Replace…</button>
                  </>
                ) : null}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {view.removed.length > 0 ? <p className="small">Removed (their cards are refused): {view.removed.map((r) => `${r.name} (${r.nodeId.slice(0, 8)}…, ${r.removedAt.slice(0, 10)})`).join(', ')}</p> : null}
      {changing?.kind === 'remove' ? (
        <GuardedChange
          title={`Remove ${changing.name} from the cluster`}
          requestLabel="Ask the guardians to remove this node"
          applyLabel="Remove the node"
          request={(reason, requester) => api.membership.requestRemoval({ nodeId: changing.nodeId, reason, requester })}
          apply={(requestId) => api.membership.removePeer({ nodeId: changing.nodeId, requestId })}
          onApplied={() => {
            setChanging(null);
            onChanged();
          }}
        >
          <p className="hint">A removed node's card is refused from then on, even an old copy. A replacement machine makes a new card.</p>
        </GuardedChange>
      ) : null}
      {changing?.kind === 'replace' ? (
        <GuardedChange
          title={`Replace ${changing.name} by a new machine`}
          requestLabel="Ask the guardians to replace this node"
          applyLabel="Replace the node"
          disabled={!replacement.text || !replacement.words.trim()}
          request={(reason, requester) => api.membership.requestReplacement({ nodeId: changing.nodeId, text: replacement.text, words: replacement.words, reason, requester })}
          apply={(requestId) => api.membership.replacePeer({ nodeId: changing.nodeId, text: replacement.text, words: replacement.words, requestId })}
          onApplied={() => {
            setChanging(null);
            setReplacement({ text: '', words: '', fileName: null });
            onChanged();
          }}
        >
          <KeyFilePicker label="The new machine's card file" fileName={replacement.fileName} onLoad={(text, fileName) => setReplacement({ ...replacement, text, fileName })} />
          <div className="field">
            <label htmlFor={`${id}-words`}>Its fingerprint words, as its operator reads them from its screen</label>
            <input id={`${id}-words`} className="mono" value={replacement.words} onChange={(e) => setReplacement({ ...replacement, words: e.target.value })} />
          </div>
        </GuardedChange>
      ) : null}
    </>
  );
}

export function ClusterMembershipPanel() {
  const [view, setView] = useState<MembershipView | null>(null);
  const load = useCallback(async () => {
    const r = await api.membership.status({});
    if (r.ok) setView(r.value);
  }, []);
  useEffect(() => {
    void load();
    const t = setInterval(() => void load(), REFRESH_MS);
    return () => clearInterval(t);
  }, [load]);
  if (!view) return null;
  const c = view.configured;
  return (
    <section className="card" aria-labelledby="membership-title">
      <h1 id="membership-title">Cluster membership</h1>
      <p data-testid="cluster-configured" className={c ? 'notice' : 'hint'}>
        {c ? `Cluster ${c.name}: configured` : 'No real cluster configured on this console.'}
      </p>
      {c ? (
        <dl className="facts">
          <dt>Reached through</dt>
          <dd className="mono" data-testid="cluster-transport">
            {c.transport === 'airgap' ? 'air-gapped, no coordinator' : `${c.coordinatorUrl ?? ''}${c.certSha256 ? ` (certificate pinned, SHA-256 ${c.certSha256.slice(0, 16)}…)` : ''}`}
          </dd>
          <dt>Connection</dt>
          <dd data-testid="cluster-connection">{c.transport === 'airgap' ? 'none (air-gapped)' : view.connected ? 'connected' : `not connected${view.lastError ? `: ${view.lastError}` : ''}`}</dd>
        </dl>
      ) : null}
      <OwnCard />
      <EnrolPeer onChanged={setView} />
      <Members view={view} onChanged={() => void load()} />
      <ConfigureCluster key={c?.configuredAt ?? 'none'} view={view} onChanged={setView} />
    </section>
  );
}
