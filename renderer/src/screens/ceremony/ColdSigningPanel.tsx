/**
 * Cold-storage signing: build a transaction from a ceremony's master wallet, have two guardians
 * approve it, see what the Ledger will display, sign on the device, export the signed transaction.
 */
import { useEffect, useState, type FormEvent } from 'react';
import type { ApprovalRequestView, CeremonyView, ColdPreview, ColdSigned, GuardianView } from '../../../../preload/contract';
import { api } from '../../api';
import { ErrorNotice } from '../../components/ErrorNotice';
import { RequesterFields, useRequester } from '../../components/RequesterFields';
import { useAction } from './shared';

/** "1.5" in units of 10^-decimals, as a digit string; null when it is not a plain decimal. */
export function toBaseUnits(text: string, decimals: number): string | null {
  const m = /^(\d{1,30})(?:\.(\d{1,30}))?$/.exec(text.trim());
  if (!m || (m[2]?.length ?? 0) > decimals) return null;
  const digits = `${m[1]}${(m[2] ?? '').padEnd(decimals, '0')}`.replace(/^0+(?=\d)/, '');
  return digits;
}

export function ColdSigningPanel({ ceremonies }: { ceremonies: CeremonyView[] }) {
  const certified = ceremonies.filter((c) => c.status === 'certified');
  const [ceremonyId, setCeremonyId] = useState('');
  const [to, setTo] = useState('');
  const [amount, setAmount] = useState('');
  const [chainId, setChainId] = useState(1);
  const [nonce, setNonce] = useState(0);
  const [gasLimit, setGasLimit] = useState('21000');
  const [maxFee, setMaxFee] = useState('30');
  const [priorityFee, setPriorityFee] = useState('1');
  const [reason, setReason] = useState('');
  const [request, setRequest] = useState<ApprovalRequestView | null>(null);
  const [requestId, setRequestId] = useState('');
  const [preview, setPreview] = useState<ColdPreview | null>(null);
  const [signed, setSigned] = useState<ColdSigned | null>(null);
  const requester = useRequester();
  const [guardians, setGuardians] = useState<GuardianView[]>([]);
  useEffect(() => {
    void api.guardians.list({}).then((r) => r.ok && setGuardians(r.value.guardians));
  }, []);
  const asking = useAction();
  const signing = useAction();
  const chosen = ceremonyId || certified[0]?.id || '';
  const master = certified.find((c) => c.id === chosen)?.addresses.find((a) => a.chain === 'evm' && a.index === 0);

  function submit(e: FormEvent) {
    e.preventDefault();
    const valueWei = toBaseUnits(amount, 18);
    const maxFeePerGas = toBaseUnits(maxFee, 9);
    const maxPriorityFeePerGas = toBaseUnits(priorityFee, 9);
    if (!valueWei || !maxFeePerGas || !maxPriorityFeePerGas) {
      asking.setError({ code: 'VALIDATION_FAILED', message: 'Amounts are plain decimals: ETH with at most 18 decimals, fees in gwei with at most 9.' });
      return;
    }
    void asking.run(() => api.ceremony.coldRequest({ ceremonyId: chosen, to: to.trim(), valueWei, chainId, nonce, gasLimit, maxFeePerGas, maxPriorityFeePerGas, data: '0x', reason, requester: requester.proof(guardians), ttlMinutes: 60 }), (v) => {
      requester.reset();
      setRequest(v);
      setRequestId(v.id);
    });
  }

  return (
    <section className="card" aria-labelledby="cold-title">
      <h1 id="cold-title">Cold-storage signing on the Ledger</h1>
      <p className="hint">The master wallet's key is on the Ledger only. A transaction needs two guardian approvals, then the device signs it; the console never reaches the network.</p>
      {certified.length === 0 ? <p className="hint">No certified ceremony yet.</p> : null}
      <form onSubmit={submit}>
        <div className="field">
          <label htmlFor="cold-ceremony">From the master wallet of</label>
          <select id="cold-ceremony" value={chosen} onChange={(e) => setCeremonyId(e.target.value)}>
            {certified.map((c) => <option key={c.id} value={c.id}>{c.label}</option>)}
          </select>
          {master ? <span className="mono small">{master.address} ({master.path})</span> : null}
        </div>
        <div className="field"><label htmlFor="cold-to">Recipient address</label><input id="cold-to" className="mono" value={to} onChange={(e) => setTo(e.target.value)} /></div>
        <div className="field"><label htmlFor="cold-amount">Amount (ETH)</label><input id="cold-amount" value={amount} onChange={(e) => setAmount(e.target.value)} /></div>
        <div className="row">
          <div className="field"><label htmlFor="cold-chain">Chain id</label><input id="cold-chain" type="number" value={chainId} onChange={(e) => setChainId(Number(e.target.value))} /></div>
          <div className="field"><label htmlFor="cold-nonce">Nonce</label><input id="cold-nonce" type="number" value={nonce} onChange={(e) => setNonce(Number(e.target.value))} /></div>
          <div className="field"><label htmlFor="cold-gas">Gas limit</label><input id="cold-gas" value={gasLimit} onChange={(e) => setGasLimit(e.target.value)} /></div>
          <div className="field"><label htmlFor="cold-maxfee">Max fee (gwei)</label><input id="cold-maxfee" value={maxFee} onChange={(e) => setMaxFee(e.target.value)} /></div>
          <div className="field"><label htmlFor="cold-tip">Priority fee (gwei)</label><input id="cold-tip" value={priorityFee} onChange={(e) => setPriorityFee(e.target.value)} /></div>
        </div>
        <div className="field"><label htmlFor="cold-reason">Reason (guardians read it)</label><input id="cold-reason" value={reason} maxLength={300} onChange={(e) => setReason(e.target.value)} /></div>
        <RequesterFields idPrefix="cold" guardians={guardians} fields={requester.fields} />
        <button type="submit" className="primary" disabled={asking.busy || !chosen || !requester.ready(guardians)}>Request guardian approval</button>
        <ErrorNotice error={asking.error} />
      </form>
      {request ? <p className="notice notice-ok" role="status">Approval requested: <span className="mono">{request.id}</span> ({request.amounts.join(', ')}).</p> : null}
      <div className="run-zone">
        <h3>Sign an approved transaction</h3>
        <div className="field"><label htmlFor="cold-request">Approved request id</label><input id="cold-request" className="mono" value={requestId} onChange={(e) => setRequestId(e.target.value)} /></div>
        <div className="row">
          <button type="button" className="secondary" disabled={signing.busy || !requestId} onClick={() => void signing.run(() => api.ceremony.coldPreview({ requestId: requestId.trim() }), setPreview)}>Show what the Ledger will display</button>
          <button type="button" className="danger" disabled={signing.busy || !requestId} onClick={() => void signing.run(() => api.ceremony.coldSign({ requestId: requestId.trim() }), setSigned)}>Sign on the Ledger</button>
        </div>
        {preview ? (
          <div className="device-check" data-testid="device-screens">
            <p className="device-check-lead">The Ledger will show, screen by screen:</p>
            <ol>{preview.deviceScreens.map((s) => <li key={s}>{s}</li>)}</ol>
            <p className="hint">If anything differs on the device, reject there.</p>
          </div>
        ) : null}
        <ErrorNotice error={signing.error} />
        {signed ? (
          <div className="notice notice-ok" role="status" data-testid="cold-signed">
            <div>Signed by {signed.from}. Transaction hash <span className="mono small">{signed.txHash}</span>. Exported to <span className="mono small">{signed.path}</span>; carry it to the online side for broadcast:
              <textarea readOnly rows={4} className="mono small signed-tx" value={signed.signedTx} aria-label="Signed transaction" />
            </div>
          </div>
        ) : null}
      </div>
    </section>
  );
}
