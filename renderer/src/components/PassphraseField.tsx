import { useState } from 'react';

/** A passphrase input with a show/hide toggle; never autocompleted or spell-checked. */
export function PassphraseField(props: {
  id: string;
  label: string;
  value: string;
  onChange(value: string): void;
  autoFocus?: boolean;
  newPassphrase?: boolean;
}) {
  const [visible, setVisible] = useState(false);
  return (
    <div className="field">
      <label htmlFor={props.id}>{props.label}</label>
      <div className="field-row">
        <input
          id={props.id}
          type={visible ? 'text' : 'password'}
          value={props.value}
          autoFocus={props.autoFocus}
          autoComplete={props.newPassphrase ? 'new-password' : 'current-password'}
          spellCheck={false}
          autoCapitalize="off"
          maxLength={1024}
          onChange={(event) => props.onChange(event.target.value)}
        />
        <button type="button" className="secondary" onClick={() => setVisible(!visible)} aria-pressed={visible}>
          {visible ? 'Hide' : 'Show'}
        </button>
      </div>
    </div>
  );
}
