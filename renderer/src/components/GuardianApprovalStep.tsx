/**
 * The "ask two guardians, then run with the approved request" step shared by guarded keyset
 * operations (share refresh, share repair): the reason the guardians read, who asks, the request,
 * and the approved request id the run button (given as children) uses.
 */
import { useEffect, useState, type ReactNode } from 'react';
import type { AppError, ApprovalRequestView, GuardianView, Result } from '../../../preload/contract';
import { api } from '../api';
import { RequesterFields, useRequester, type RequesterInput } from './RequesterFields';

export function GuardianApprovalStep(props: {
  /** Prefix of element ids and test ids: "refresh", "repair". */
  name: string;
  keysetId: string;
  askLabel: string;
  /** What to do once two guardians approved, for the note: "start the refresh here". */
  thenWords: string;
  disabled: boolean;
  requestId: string;
  onRequestId(id: string): void;
  ask(reason: string, requester: RequesterInput): Promise<Result<ApprovalRequestView>>;
  onError(error: AppError | null): void;
  onNote(note: string | null): void;
  /** The run button, beside the request id. */
  children: ReactNode;
}) {
  const { name, keysetId } = props;
  const [registry, setRegistry] = useState<GuardianView[]>([]);
  const [reason, setReason] = useState('');
  const [asking, setAsking] = useState(false);
  const requester = useRequester();
  useEffect(() => {
    void api.guardians.list({}).then((r) => r.ok && setRegistry(r.value.guardians));
  }, []);

  return (
    <>
      <div className="field">
        <label htmlFor={`${name}-reason-${keysetId}`}>Why (guardians see this)</label>
        <input id={`${name}-reason-${keysetId}`} value={reason} onChange={(e) => setReason(e.target.value)} data-testid={`${name}-reason`} />
      </div>
      <RequesterFields idPrefix={`${name}-${keysetId}`} guardians={registry} fields={requester.fields} />
      <div className="row">
        <button type="button" disabled={props.disabled || asking || !reason.trim() || !requester.ready(registry)} data-testid={`${name}-request`} onClick={async () => {
          setAsking(true);
          props.onError(null);
          props.onNote(null);
          const r = await props.ask(reason.trim(), requester.proof(registry));
          requester.reset();
          setAsking(false);
          if (r.ok) {
            props.onRequestId(r.value.id);
            props.onNote(`Request ${r.value.id.slice(0, 8)} created: two guardians approve it on the Approvals screen, then ${props.thenWords}.`);
          } else props.onError(r.error);
        }}>
          {props.askLabel}
        </button>
        <label>
          Approved request id{' '}
          <input className="mono" value={props.requestId} onChange={(e) => props.onRequestId(e.target.value.trim())} size={38} data-testid={`${name}-request-id`} />
        </label>
        {props.children}
      </div>
    </>
  );
}
