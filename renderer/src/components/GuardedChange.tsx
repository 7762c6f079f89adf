import { useEffect, useId, useState, type ReactNode } from 'react';
import type { AppError, ApprovalRequestView, GuardianView, Result } from '../../../preload/contract';
import { api } from '../api';
import { ErrorNotice } from './ErrorNotice';
import { RequesterFields, useRequester, type RequesterInput } from './RequesterFields';
/** Two steps of a guarded change: ask the guardians, then apply with the approved request. */
export function GuardedChange(props: {
  title: string;
  requestLabel: string;
  applyLabel: string;
  disabled?: boolean;
  children?: ReactNode;
  request(reason: string, requester: RequesterInput): Promise<Result<ApprovalRequestView>>;
  apply(requestId: string): Promise<Result<unknown>>;
  onApplied(): void;
}) {
  const [reason, setReason] = useState('');
  const [requestId, setRequestId] = useState('');
  const [error, setError] = useState<AppError | null>(null);
  const [note, setNote] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const requester = useRequester();
  const [guardians, setGuardians] = useState<GuardianView[]>([]);
  useEffect(() => {
    void api.guardians.list({}).then((r) => r.ok && setGuardians(r.value.guardians));
  }, []);
  const id = useId();
  const run = async (work: () => Promise<void>) => {
    setBusy(true);
    setError(null);
    setNote(null);
    await work();
    setBusy(false);
  };
  return (
    <fieldset className="guarded-change">
      <legend>{props.title}</legend>
      {props.children}
      <div className="field">
        <label htmlFor={`${id}-reason`}>Reason (shown to the guardians)</label>
        <input id={`${id}-reason`} value={reason} maxLength={300} onChange={(e) => setReason(e.target.value)} />
      </div>
      <RequesterFields idPrefix={`${id}-req`} guardians={guardians} fields={requester.fields} />
      <button
        type="button"
        className="secondary"
        disabled={busy || props.disabled || !reason.trim() || !requester.ready(guardians)}
        onClick={() =>
          void run(async () => {
            const result = await props.request(reason.trim(), requester.proof(guardians));
            requester.reset();
            if (!result.ok) return setError(result.error);
            setRequestId(result.value.id);
            setNote(`Guardian request ${result.value.id.slice(0, 8)} created. Two guardians approve it on the Approvals screen; then apply it here.`);
          })
        }
      >
        {props.requestLabel}
      </button>
      <div className="field">
        <label htmlFor={`${id}-request`}>Approved request id</label>
        <input id={`${id}-request`} className="mono" value={requestId} onChange={(e) => setRequestId(e.target.value.trim())} />
      </div>
      <button
        type="button"
        className="primary"
        disabled={busy || props.disabled || !requestId}
        onClick={() =>
          void run(async () => {
            const result = await props.apply(requestId);
            if (!result.ok) return setError(result.error);
            setNote('Applied.');
            setRequestId('');
            setReason('');
            props.onApplied();
          })
        }
      >
        {props.applyLabel}
      </button>
      {note ? <p className="notice notice-ok">{note}</p> : null}
      <ErrorNotice error={error} />
    </fieldset>
  );
}
