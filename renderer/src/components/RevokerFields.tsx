import { useState } from 'react';
import type { GuardianView, VaultkeeperApi } from '../../../preload/contract';
import { KeyFilePicker } from './KeyFilePicker';
import { PassphraseField } from './PassphraseField';

/** Who revokes, as the contract defines it: the operator (vault passphrase) or one guardian signing here. */
export type RevokerInput = Parameters<VaultkeeperApi['policy']['revokeExecutionAuthorization']>[0]['by'];

/** Revoking acts at once, so the revoker proves who they are here: no remote signing. */
export function useRevoker() {
  const [who, setWho] = useState('');
  const [vaultPassphrase, setVaultPassphrase] = useState('');
  const [keyFile, setKeyFile] = useState<{ text: string; name: string } | null>(null);
  const [keyPassphrase, setKeyPassphrase] = useState('');
  const proof = (guardians: GuardianView[]): RevokerInput => {
    const guardian = guardians.find((g) => g.id === who);
    if (!guardian) return { as: 'operator', vaultPassphrase };
    return guardian.kind === 'ledger'
      ? { as: 'guardian', guardianId: guardian.id, signer: { method: 'ledger' } }
      : { as: 'guardian', guardianId: guardian.id, signer: { method: 'software', keyFile: keyFile?.text ?? '', passphrase: keyPassphrase } };
  };
  const ready = (guardians: GuardianView[]) => {
    const guardian = guardians.find((g) => g.id === who);
    if (!guardian) return vaultPassphrase.length > 0;
    return guardian.kind === 'ledger' || (keyFile !== null && keyPassphrase.length > 0);
  };
  const reset = () => {
    setVaultPassphrase('');
    setKeyPassphrase('');
    setKeyFile(null);
  };
  return { fields: { who, setWho, vaultPassphrase, setVaultPassphrase, keyFile, setKeyFile, keyPassphrase, setKeyPassphrase }, proof, ready, reset };
}

export function RevokerFields({ idPrefix, guardians, fields }: { idPrefix: string; guardians: GuardianView[]; fields: ReturnType<typeof useRevoker>['fields'] }) {
  const guardian = guardians.find((g) => g.id === fields.who);
  return (
    <>
      <div className="field">
        <label htmlFor={`${idPrefix}-revoker`}>Revoked by</label>
        <select id={`${idPrefix}-revoker`} value={fields.who} onChange={(e) => fields.setWho(e.target.value)}>
          <option value="">The operator (vault passphrase)</option>
          {guardians.map((g) => <option key={g.id} value={g.id}>{g.name} (guardian; signs the revocation here)</option>)}
        </select>
      </div>
      {!guardian ? (
        <PassphraseField id={`${idPrefix}-operator-passphrase`} label="Operator's vault passphrase (proves the operator revokes)" value={fields.vaultPassphrase} onChange={fields.setVaultPassphrase} />
      ) : guardian.kind === 'ledger' ? (
        <span className="hint">{guardian.name} signs the revocation on their Ledger when you press Revoke now.</span>
      ) : (
        <>
          <KeyFilePicker label={`${guardian.name}'s key file (signs the revocation)`} fileName={fields.keyFile?.name ?? null} onLoad={(text, name) => fields.setKeyFile({ text, name })} />
          <PassphraseField id={`${idPrefix}-revoker-key-passphrase`} label={`${guardian.name}'s key passphrase`} value={fields.keyPassphrase} onChange={fields.setKeyPassphrase} />
        </>
      )}
    </>
  );
}
