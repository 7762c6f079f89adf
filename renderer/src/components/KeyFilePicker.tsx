import { useId } from 'react';

/** Reads a small file the operator picks (key file, approval file) as text; nothing is uploaded anywhere but to main. */
export function KeyFilePicker(props: { label: string; fileName: string | null; onLoad(text: string, fileName: string): void }) {
  const id = useId();
  return (
    <div className="field">
      <label htmlFor={id}>{props.label}</label>
      <input
        id={id}
        type="file"
        accept=".json,application/json"
        onChange={async (event) => {
          const file = event.target.files?.[0];
          if (!file) return;
          if (file.size > 16_384) {
            props.onLoad('', `${file.name} (too large to be a key or approval file)`);
            return;
          }
          props.onLoad(await file.text(), file.name);
        }}
      />
      {props.fileName ? <span className="hint">Loaded: {props.fileName}</span> : null}
    </div>
  );
}
