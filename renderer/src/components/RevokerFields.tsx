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

/** The words of one safe-direction action: revoking an authorization, or freezing all signing. */
export interface RevokerWords {
  /** "Revoked by", "Frozen by". */
  label: string;
  /** "the revocation", "the freeze". */
  statement: string;
  /** The button the guardian's Ledger signs on: "Revoke now". */
  button: string;
  /** The operator proves who they are with the vault passphrase (false: being at the unlocked console is enough). */
  operatorPassphrase: boolean;
}

const REVOKE_WORDS: RevokerWords = { label: 'Revoked by', statement: 'the revocation', button: 'Revoke now', operatorPassphrase: true };

export function RevokerFields({ idPrefix, guardians, fields, words = REVOKE_WORDS }: { idPrefix: string; guardians: GuardianView[]; fields: ReturnType<typeof useRevoker>['fields']; words?: RevokerWords }) {
  const guardian = guardians.find((g) => g.id === fields.who);
  return (
    <>
      <div className="field">
        <label htmlFor={`${idPrefix}-revoker`}>{words.label}</label>
        <select id={`${idPrefix}-revoker`} value={fields.who} onChange={(e) => fields.setWho(e.target.value)}>
          <option value="">{words.operatorPassphrase ? 'The operator (vault passphrase)' : 'The operator at this console'}</option>
          {guardians.map((g) => <option key={g.id} value={g.id}>{g.name} (guardian; signs {words.statement} here)</option>)}
        </select>
      </div>
      {!guardian ? (
        words.operatorPassphrase ? <PassphraseField id={`${idPrefix}-operator-passphrase`} label="Operator's vault passphrase (proves the operator revokes)" value={fields.vaultPassphrase} onChange={fields.setVaultPassphrase} /> : null
      ) : guardian.kind === 'ledger' ? (
        <span className="hint">{guardian.name} signs {words.statement} on their Ledger when you press {words.button}.</span>
      ) : (
        <>
          <KeyFilePicker label={`${guardian.name}'s key file (signs ${words.statement})`} fileName={fields.keyFile?.name ?? null} onLoad={(text, name) => fields.setKeyFile({ text, name })} />
          <PassphraseField id={`${idPrefix}-revoker-key-passphrase`} label={`${guardian.name}'s key passphrase`} value={fields.keyPassphrase} onChange={fields.setKeyPassphrase} />
        </>
      )}
    </>
  );
}
