/**
 * The certificate as the PDF a compliance officer files: the certified ceremony's print view
 * rendered by this console's PDF printer, written to the exports folder (owner-only) and audited
 * with the file's SHA-256, so a filed copy can be matched to the log later.
 */
import { createHash } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { CertificatePdf } from '../../preload/contract';
import type { AuditLog } from '../audit/audit-log';
import { fail } from '../errors';
import { writeFileAtomically } from '../platform/atomic-file';
import type { PdfPrinter } from '../platform/pdf-printer';
import type { CeremonyService } from './ceremony-service';

export class CertificateExport {
  constructor(
    private readonly options: { ceremonies: CeremonyService; audit: AuditLog; dataDir: string; printer: PdfPrinter | null },
  ) {}

  get available(): boolean {
    return this.options.printer !== null;
  }

  async savePdf(ceremonyId: string): Promise<CertificatePdf> {
    const { printer } = this.options;
    if (!printer) fail('PDF_UNAVAILABLE', 'This console has no PDF printer (no browser engine was found). Use Print and choose "Save as PDF".');
    const certificate = await this.options.ceremonies.certificate(ceremonyId);
    const pdf = await printer(certificate.html);
    const sha256 = createHash('sha256').update(pdf).digest('hex');
    const dir = join(this.options.dataDir, 'exports');
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const path = writeFileAtomically(dir, `ceremony-certificate-${ceremonyId.slice(0, 8)}-${sha256.slice(0, 8)}.pdf`, pdf, { replace: true });
    this.options.audit.append({ type: 'CEREMONY_CERTIFICATE_EXPORTED', actor: 'operator', subject: ceremonyId, details: { transcriptHash: certificate.transcriptHash, pdfSha256: sha256, bytes: pdf.length } });
    return { path, sha256, bytes: pdf.length, transcriptHash: certificate.transcriptHash };
  }
}
