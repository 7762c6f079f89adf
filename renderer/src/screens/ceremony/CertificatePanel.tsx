/** The certificate of a certified ceremony, as printed: public outputs, signatures, QR of the transcript hash. */
import { useEffect, useState } from 'react';
import type { CeremonyView, CertificatePdf, CertificateView } from '../../../../preload/contract';
import { api } from '../../api';
import { ErrorNotice } from '../../components/ErrorNotice';
import { useAction } from './shared';
import { Time } from '../../components/Time';

export function CertificatePanel({ ceremony }: { ceremony: CeremonyView }) {
  const [certificate, setCertificate] = useState<CertificateView | null>(null);
  const [shownOnDevice, setShownOnDevice] = useState<string | null>(null);
  const load = useAction();
  const device = useAction();
  const saving = useAction();
  const [saved, setSaved] = useState<CertificatePdf | null>(null);
  useEffect(() => {
    void load.run(() => api.ceremony.certificate({ ceremonyId: ceremony.id }), setCertificate);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [ceremony.id]);
  if (!certificate) return <ErrorNotice error={load.error} />;
  const c = certificate.ceremony;
  return (
    <div className="certificate" data-testid="certificate">
      <div className="row spread">
        <h2>Ceremony certificate</h2>
        <img src={certificate.qrDataUrl} alt="QR code of the transcript hash" width={150} height={150} />
      </div>
      <dl className="facts">
        <dt>Transcript hash</dt><dd className="mono small" data-testid="certificate-hash">{certificate.transcriptHash}</dd>
        <dt>Seed fingerprint</dt><dd className="mono">{c.seedFingerprintShort ?? 'none: the seed never left the Ledger'}</dd>
        <dt>EVM account xpub</dt><dd className="mono small">{c.evmAccountXpub}</dd>
        <dt>Certified</dt><dd><Time iso={c.certifiedAt} seconds missing="not yet" /></dd>
      </dl>
      <h3>Addresses</h3>
      <table className="audit-table">
        <thead><tr><th>Label</th><th>Path</th><th>Address</th><th /></tr></thead>
        <tbody>
          {c.addresses.map((a) => (
            <tr key={`${a.chain}-${a.index}`}>
              <td>{a.label}</td>
              <td className="mono small">{a.path}</td>
              <td className="mono small">{a.address}</td>
              <td><button type="button" className="secondary" disabled={device.busy} title={a.chain === 'solana' ? 'Open the Solana app on the Ledger first' : 'Open the Ethereum app on the Ledger first'} onClick={() => void device.run(() => api.ceremony.showOnDevice({ ceremonyId: c.id, index: a.index, chain: a.chain }), (v) => setShownOnDevice(`${v.path}: the Ledger shows ${v.address}, as recorded.`))}>Verify on device</button></td>
            </tr>
          ))}
        </tbody>
      </table>
      {shownOnDevice ? <p className="notice notice-ok" role="status">{shownOnDevice}</p> : null}
      <ErrorNotice error={device.error} />
      <h3>Guardian backup shares</h3>
      <ul>{c.shareFingerprints.map((s) => <li key={s.index}>Share {s.index} — {s.guardianName}: <span className="mono">{s.fingerprint}</span></li>)}</ul>
      <h3>Signed by the guardians</h3>
      <ul data-testid="certificate-signatures">{certificate.signatures.map((s) => <li key={s.address}>{s.guardianName} ({s.address}, {s.via}) at <Time iso={s.signedAt} seconds /></li>)}</ul>
      <div className="row">
        <button type="button" className="primary" disabled={saving.busy} onClick={() => void saving.run(() => api.ceremony.saveCertificatePdf({ ceremonyId: c.id }), setSaved)}>{saving.busy ? 'Rendering the PDF…' : 'Save as PDF'}</button>
        <button type="button" className="secondary" onClick={() => window.print()}>Print</button>
      </div>
      <ErrorNotice error={saving.error} />
      {saved ? (
        <p className="notice notice-ok" role="status" data-testid="certificate-pdf">
          Saved the certificate to <span className="mono small">{saved.path}</span> ({Math.round(saved.bytes / 1024)} KiB). File SHA-256 <span className="mono small">{saved.sha256}</span>, recorded in the audit log.
        </p>
      ) : null}
    </div>
  );
}
