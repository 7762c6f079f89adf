/**
 * The printable ceremony certificate: a standalone HTML document (no script, no remote content)
 * that Electron's printToPDF or Chromium's page PDF turns into the file a compliance officer
 * keeps. It holds only public material and the guardians' signatures over the transcript hash.
 */
import type { CertificateSignature } from '../../preload/contract';
import { shortFingerprint } from './seed';
import type { Transcript } from './transcript';

const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

export function certificateHtml(input: { transcript: Transcript; transcriptHash: string; signatures: CertificateSignature[]; qrDataUrl: string; certifiedAt: string }): string {
  const { transcript: t } = input;
  const rows = (cells: string[][]) => cells.map((r) => `<tr>${r.map((c) => `<td>${escapeHtml(c)}</td>`).join('')}</tr>`).join('');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Ceremony certificate ${escapeHtml(t.ceremonyId)}</title>
<style>
body{font-family:Georgia,serif;margin:24px;color:#111}h1{font-size:22px;margin:0 0 4px}h2{font-size:15px;margin:18px 0 6px;border-bottom:1px solid #999}
table{border-collapse:collapse;width:100%;font-size:11px}td,th{border:1px solid #bbb;padding:3px 5px;text-align:left;vertical-align:top;word-break:break-all}
.mono{font-family:monospace}.qr{float:right;width:140px;height:140px}.hash{font-family:monospace;font-size:12px}
</style></head><body>
<img class="qr" src="${input.qrDataUrl}" alt="QR code of the transcript hash">
<h1>Master-seed ceremony certificate</h1>
<p>${escapeHtml(t.label)} — ${t.mode === 'console' ? 'seed generated on the air-gapped console and restored onto a Ledger' : 'seed generated on a Ledger'}<br>
Ceremony ${escapeHtml(t.ceremonyId)} · vault ${escapeHtml(t.vaultId)} · console node ${escapeHtml(t.nodeId.slice(0, 16))}<br>
Started ${escapeHtml(t.startedAt)} · finished ${escapeHtml(t.finishedAt)} · certified ${escapeHtml(input.certifiedAt)}</p>
<p>Transcript hash (SHA-256 of the canonical transcript): <span class="hash">${escapeHtml(input.transcriptHash)}</span></p>
<h2>Public outputs</h2>
<table>${rows([
    ['Seed fingerprint', t.outputs.seedFingerprint ? `${shortFingerprint(t.outputs.seedFingerprint)} (${t.outputs.seedFingerprint})` : 'none: the seed never left the Ledger'],
    ['EVM account xpub (m/44\'/60\'/0\')', t.outputs.evmAccountXpub ?? '—'],
    ...t.outputs.shareFingerprints.map((s) => [`Backup share ${s.index} — ${s.guardianName}`, s.fingerprint]),
  ])}</table>
<h2>Addresses</h2>
<table><tr><th>Label</th><th>Path</th><th>Address</th></tr>${rows(t.outputs.addresses.map((a) => [a.label, a.path, a.address]))}</table>
<h2>Ledger verification</h2>
<table><tr><th>Path</th><th>Expected</th><th>On the device</th><th>Result</th></tr>${rows(t.ledgerChecks.map((c) => [c.path, c.expected, c.found, c.matches ? 'match' : 'MISMATCH']))}</table>
<h2>Participants</h2>
<table><tr><th>Guardian</th><th>Kind</th><th>Address</th></tr>${rows(t.guardians.map((g) => [`${g.slot}. ${g.name}`, g.kind, g.address]))}</table>
<p>Ceremony approved by ${escapeHtml(t.startApproval.approvers.join(' and '))} (request ${escapeHtml(t.startApproval.requestId)}).</p>
<h2>Steps</h2>
<table><tr><th>Time (UTC)</th><th>Step</th><th>Detail</th></tr>${rows(t.steps.map((s) => [s.at, s.step, s.detail]))}</table>
<h2>Guardian signatures over the transcript</h2>
<p>Each guardian signed the EIP-712 approval (domain "Vaultkeeper", version 1) of request ${escapeHtml(input.signatures[0]?.message.requestId ?? '—')}, whose payload hash ${escapeHtml(input.signatures[0]?.message.payloadHash ?? '—')} commits to the transcript hash above.</p>
<table><tr><th>Guardian</th><th>Address</th><th>Signed</th><th>Nonce</th><th>EIP-712 signature</th></tr>${rows(input.signatures.map((s) => [`${s.guardianName} (${s.via})`, s.address, s.signedAt, s.message.nonce, s.signature]))}</table>
</body></html>
`;
}
