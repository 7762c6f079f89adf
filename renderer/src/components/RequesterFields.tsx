import { useState } from 'react';
import type { GuardianView, VaultkeeperApi } from '../../../preload/contract';
import { KeyFilePicker } from './KeyFilePicker';
import { PassphraseField } from './PassphraseField';

/** The requester proof a guarded request carries, as the contract defines it. */
export type RequesterInput = Parameters<VaultkeeperApi['approvals']['requestPassphraseChange']>[0]['requester'];

/** Who asks for a guarded operation, and the proof: the vault passphrase, or the guardian's own key. */
export function useRequester() {
  const [who, setWho] = useState('');
  const [vaultPassphrase, setVaultPassphrase] = useState('');
  const [keyFile, setKeyFile] = useState<{ text: string; name: string } | null>(null);
  const [keyPassphrase, setKeyPassphrase] = useState('');
  const [remote, setRemote] = useState(true);
  const proof = (guardians: GuardianView[]): RequesterInput => {
    const guardian = guardians.find((g) => g.id === who);
    if (!guardian) return { as: 'operator', vaultPassphrase };
    if (remote) return { as: 'guardian', guardianId: guardian.id, signer: { method: 'remote' } };
    return guardian.kind === 'ledger'
      ? { as: 'guardian', guardianId: guardian.id, signer: { method: 'ledger' } }
      : { as: 'guardian', guardianId: guardian.id, signer: { method: 'software', keyFile: keyFile?.text ?? '', passphrase: keyPassphrase } };
  };
  const ready = (guardians: GuardianView[]) => {
    const guardian = guardians.find((g) => g.id === who);
    if (!guardian) return vaultPassphrase.length > 0;
    return remote || guardian.kind === 'ledger' || (keyFile !== null && keyPassphrase.length > 0);
  };
  const reset = () => {
    setVaultPassphrase('');
    setKeyPassphrase('');
    setKeyFile(null);
  };
  return { fields: { who, setWho, vaultPassphrase, setVaultPassphrase, keyFile, setKeyFile, keyPassphrase, setKeyPassphrase, remote, setRemote }, proof, ready, reset };
}

export function RequesterFields({ idPrefix, guardians, fields }: { idPrefix: string; guardians: GuardianView[]; fields: ReturnType<typeof useRequester>['fields'] }) {
  const guardian = guardians.find((g) => g.id === fields.who);
  return (
    <>
      <div className="field">
        <label htmlFor={`${idPrefix}-requester`}>Requested by</label>
        <select id={`${idPrefix}-requester`} value={fields.who} onChange={(e) => fields.setWho(e.target.value)}>
          <option value="">The operator (not a guardian)</option>
          {guardians.map((g) => <option key={g.id} value={g.id}>{g.name} (guardian; signs the request, cannot approve it)</option>)}
        </select>
      </div>
      {!guardian ? (
        <>
          <PassphraseField id={`${idPrefix}-operator-passphrase`} label="Operator's vault passphrase" value={fields.vaultPassphrase} onChange={fields.setVaultPassphrase} />
          <span className="hint">Proves the operator asks. A guardian at this console requests under their own name, with their own key.</span>
        </>
      ) : (
        <>
          <fieldset className="decision">
            <legend>{guardian.name} signs the request</legend>
            <label><input type="radio" name={`${idPrefix}-requester-how`} checked={fields.remote} onChange={() => fields.setRemote(true)} /> On their own machine (requester file; preferred)</label>
            <label><input type="radio" name={`${idPrefix}-requester-how`} checked={!fields.remote} onChange={() => fields.setRemote(false)} /> Here, with their {guardian.kind === 'ledger' ? 'Ledger' : 'key file'}</label>
          </fieldset>
          {fields.remote ? (
            <span className="hint">The request is created, but nobody can approve it until {guardian.name}&apos;s signed requester file is imported on the Approvals screen. Their own approval will not count.</span>
          ) : guardian.kind === 'ledger' ? (
            <span className="hint">{guardian.name} signs the request on their Ledger when you press the button; their own approval will not count.</span>
          ) : (
            <>
              <KeyFilePicker label={`${guardian.name}'s key file (signs the request)`} fileName={fields.keyFile?.name ?? null} onLoad={(text, name) => fields.setKeyFile({ text, name })} />
              <PassphraseField id={`${idPrefix}-requester-key-passphrase`} label={`${guardian.name}'s key passphrase`} value={fields.keyPassphrase} onChange={fields.setKeyPassphrase} />
              <span className="hint">Typing a guardian&apos;s passphrase into this console exposes it to this machine; prefer the requester file.</span>
            </>
          )}
        </>
      )}
    </>
  );
}
