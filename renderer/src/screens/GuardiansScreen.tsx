import { useCallback, useEffect, useState, type FormEvent } from 'react';
import type { AppError, GuardianRegistry, SoftwareKeyCreated } from '../../../preload/contract';
import { api } from '../api';
import { ErrorNotice } from '../components/ErrorNotice';
import { KeyFilePicker } from '../components/KeyFilePicker';
import { PassphraseField } from '../components/PassphraseField';
import { RequesterFields, useRequester } from '../components/RequesterFields';
import { useConsole } from '../store';
import { Time } from '../components/Time';

type Method = 'ledger' | 'software';
const DEFAULT_PATH = "44'/60'/0'/0/0";

/** Name + device of a guardian to enrol (or to bring in as a replacement). */
function NewGuardianFields(props: {
  idPrefix: string;
  name: string; setName(v: string): void;
  method: Method; setMethod(v: Method): void;
  path: string; setPath(v: string): void;
  keyFile: { text: string; name: string } | null; setKeyFile(v: { text: string; name: string } | null): void;
  passphrase: string; setPassphrase(v: string): void;
}) {
  return (
    <>
      <div className="field">
        <label htmlFor={`${props.idPrefix}-name`}>Guardian name</label>
        <input id={`${props.idPrefix}-name`} value={props.name} maxLength={80} onChange={(e) => props.setName(e.target.value)} />
      </div>
      <div className="field">
        <label htmlFor={`${props.idPrefix}-method`}>Device</label>
        <select id={`${props.idPrefix}-method`} value={props.method} onChange={(e) => props.setMethod(e.target.value as Method)}>
          <option value="ledger">Ledger (Ethereum app)</option>
          <option value="software">Software key file</option>
        </select>
      </div>
      {props.method === 'ledger' ? (
        <div className="field">
          <label htmlFor={`${props.idPrefix}-path`}>Derivation path</label>
          <input id={`${props.idPrefix}-path`} className="mono" value={props.path} onChange={(e) => props.setPath(e.target.value)} />
          <span className="hint">Connect the Ledger, unlock it and open the Ethereum app. It will ask to sign an enrolment challenge.</span>
        </div>
      ) : (
        <>
          <KeyFilePicker label="Key file" fileName={props.keyFile?.name ?? null} onLoad={(text, name) => props.setKeyFile({ text, name })} />
          <PassphraseField id={`${props.idPrefix}-key-passphrase`} label="Key file passphrase" value={props.passphrase} onChange={props.setPassphrase} />
        </>
      )}
    </>
  );
}

function useNewGuardian() {
  const [name, setName] = useState('');
  const [method, setMethod] = useState<Method>('ledger');
  const [path, setPath] = useState(DEFAULT_PATH);
  const [keyFile, setKeyFile] = useState<{ text: string; name: string } | null>(null);
  const [passphrase, setPassphrase] = useState('');
  const request = () =>
    method === 'ledger'
      ? ({ method, name, derivationPath: path } as const)
      : ({ method, name, keyFile: keyFile?.text ?? '', passphrase } as const);
  const reset = () => {
    setName('');
    setKeyFile(null);
    setPassphrase('');
  };
  return { fields: { name, setName, method, setMethod, path, setPath, keyFile, setKeyFile, passphrase, setPassphrase }, request, reset };
}

export function GuardiansScreen() {
  const setScreen = useConsole((s) => s.setScreen);
  const [registry, setRegistry] = useState<GuardianRegistry | null>(null);
  const [error, setError] = useState<AppError | null>(null);
  const [busy, setBusy] = useState(false);
  const [notice, setNotice] = useState<string | null>(null);
  const enrol = useNewGuardian();
  const replacement = useNewGuardian();
  const [replaceId, setReplaceId] = useState('');
  const requester = useRequester();
  const [keyFolder, setKeyFolder] = useState('');
  const [keyPass, setKeyPass] = useState('');
  const [keyPass2, setKeyPass2] = useState('');
  const [created, setCreated] = useState<SoftwareKeyCreated | null>(null);
  const [registryFile, setRegistryFile] = useState<{ path: string; replacements: number } | null>(null);

  const load = useCallback(async () => {
    const result = await api.guardians.list({});
    if (result.ok) setRegistry(result.value);
    else setError(result.error);
  }, []);
  useEffect(() => {
    void load();
  }, [load]);

  async function run<T>(work: () => Promise<{ ok: true; value: T } | { ok: false; error: AppError }>, done: (value: T) => void) {
    setBusy(true);
    setError(null);
    setNotice(null);
    const result = await work();
    setBusy(false);
    if (result.ok) done(result.value);
    else setError(result.error);
  }

  function submitEnrol(event: FormEvent) {
    event.preventDefault();
    void run(() => api.guardians.enrol(enrol.request()), (value) => {
      setRegistry(value);
      setNotice(`${enrol.fields.name} is enrolled: their key signed the enrolment challenge.`);
      enrol.reset();
    });
  }

  function submitKey(event: FormEvent) {
    event.preventDefault();
    void run(() => api.guardians.createSoftwareKey({ passphrase: keyPass, confirmation: keyPass2, targetFolder: keyFolder.trim() }), (value) => {
      setCreated(value);
      setKeyPass('');
      setKeyPass2('');
    });
  }

  function submitReplace(event: FormEvent) {
    event.preventDefault();
    const proof = requester.proof(guardians);
    requester.reset();
    void run(
      () => api.guardians.requestReplacement({ guardianId: replaceId, replacement: replacement.request(), requester: proof, ttlMinutes: 60 }),
      () => {
        replacement.reset();
        setNotice('Replacement requested. Two guardians must approve it on the Approvals screen before it can run.');
      },
    );
  }

  const guardians = registry?.guardians ?? [];
  return (
    <section className="card" aria-labelledby="guardians-title">
      <div className="row spread">
        <h1 id="guardians-title">Guardians</h1>
        {registry ? (
          <span className={registry.complete ? 'badge badge-ok' : 'badge badge-bad'} data-testid="registry-status">
            {registry.complete ? `All ${registry.required} guardians enrolled — any ${registry.quorum} of them approve` : `${guardians.length} of ${registry.required} guardians enrolled`}
          </span>
        ) : null}
      </div>
      <ErrorNotice error={error} onDismiss={() => setError(null)} />
      {notice ? <p className="notice notice-ok" role="status">{notice}</p> : null}
      <table className="audit-table">
        <thead>
          <tr><th>Slot</th><th>Name</th><th>Device</th><th>Address</th><th>Enrolled (UTC)</th></tr>
        </thead>
        <tbody>
          {guardians.map((g) => (
            <tr key={g.id} data-testid="guardian-row">
              <td>{g.slot}</td>
              <td>{g.name}</td>
              <td>{g.kind === 'ledger' ? `Ledger ${g.derivationPath ?? ''}` : 'Software key file'}</td>
              <td className="mono small">{g.address}</td>
              <td className="mono"><Time iso={g.enrolledAt} /></td>
            </tr>
          ))}
        </tbody>
      </table>

      {registry && !registry.complete ? (
        <form onSubmit={submitEnrol} aria-label="Enrol a guardian">
          <h2>Enrol guardian {guardians.length + 1} of {registry.required}</h2>
          <NewGuardianFields idPrefix="enrol" {...enrol.fields} />
          <button type="submit" className="primary" disabled={busy || !enrol.fields.name.trim()}>{busy ? 'Waiting for the key…' : 'Enrol guardian'}</button>
        </form>
      ) : null}

      {registry?.complete ? (
        <div aria-label="Guardians for a signer node">
          <h2>Guardians for a signer node</h2>
          <p className="hint">A headless signer node checks refreshes and share repairs against its own list of guardians. Export this list (names, addresses and the proofs each key signed when it was enrolled; no secret) and start the node with <code>--guardians FILE</code>. The node checks every proof itself. After a guardian replacement here, export again and restart the node with the new file: it follows each replacement only if two of the guardians it already has approved it.</p>
          <button type="button" className="secondary" disabled={busy} data-testid="export-registry" onClick={() => void run(() => api.guardians.exportRegistryFile({}), (r) => setRegistryFile({ path: r.path, replacements: r.replacements }))}>Export for a signer node</button>
          {registryFile ? (
            <p className="notice notice-ok" role="status" data-testid="registry-exported">
              Written to <code>{registryFile.path}</code>
              {registryFile.replacements > 0 ? `, with the ${registryFile.replacements === 1 ? 'guardian replacement' : `${registryFile.replacements} guardian replacements`} made here and the approvals of each` : ''}. Copy it to the signer node&apos;s machine.
            </p>
          ) : null}
        </div>
      ) : null}

      {registry?.complete ? (
        <form onSubmit={submitReplace} aria-label="Replace a guardian">
          <h2>Replace a guardian</h2>
          <p className="hint">Replacing a guardian is a guarded operation: the new key proves possession now, then two guardians (not the requester) must approve.</p>
          <div className="field">
            <label htmlFor="replace-which">Guardian to replace</label>
            <select id="replace-which" value={replaceId} onChange={(e) => setReplaceId(e.target.value)}>
              <option value="">Choose…</option>
              {guardians.map((g) => <option key={g.id} value={g.id}>{g.slot}: {g.name}</option>)}
            </select>
          </div>
          <RequesterFields idPrefix="replace" guardians={guardians} fields={requester.fields} />
          <NewGuardianFields idPrefix="replacement" {...replacement.fields} />
          <button type="submit" className="primary" disabled={busy || !replaceId || !replacement.fields.name.trim() || !requester.ready(guardians)}>Request replacement</button>
          <button type="button" className="secondary" onClick={() => setScreen('approvals')}>Go to approvals</button>
        </form>
      ) : null}

      <form onSubmit={submitKey} aria-label="Create a software key file">
        <h2>Create a software key file</h2>
        <p className="hint">An encrypted Ethereum keystore for a guardian without a Ledger. The guardian chooses its passphrase.</p>
        <p className="notice" data-testid="key-medium-notice">The key file is written only to the folder you choose on the guardian&apos;s removable medium. This console keeps no copy: a guardian key must not live on the machine it guards. Afterwards the guardian should sign request files on their own machine (remote approval) rather than type their passphrase into this console.</p>
        <div className="field">
          <label htmlFor="new-key-folder">Folder on the removable medium</label>
          <input id="new-key-folder" className="mono" placeholder="/media/guardian-usb" value={keyFolder} maxLength={4096} onChange={(e) => setKeyFolder(e.target.value)} />
          <span className="hint">A full path to an existing folder outside this console&apos;s data folder.</span>
        </div>
        <PassphraseField id="new-key-passphrase" label="New key file passphrase" value={keyPass} onChange={setKeyPass} newPassphrase />
        <PassphraseField id="new-key-confirmation" label="Key file passphrase again" value={keyPass2} onChange={setKeyPass2} newPassphrase />
        <button type="submit" className="secondary" disabled={busy || !keyPass || !keyFolder.trim()}>Create key file</button>
        {created ? (
          <p className="notice notice-ok" role="status" data-testid="key-created">
            <span>Key file for <span className="mono">{created.address}</span> written to <span className="mono">{created.path}</span> — the only copy. Hand the medium to the guardian.</span>
          </p>
        ) : null}
      </form>
    </section>
  );
}
