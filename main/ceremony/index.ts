/** Builds the ceremony domain over the store, the audit log, the vault, the guardians and the Ledger. */
import type { AuditLog } from '../audit/audit-log';
import type { LedgerDevice } from '../ledger/ledger-device';
import type { Clock } from '../platform/clock';
import type { PdfPrinter } from '../platform/pdf-printer';
import type { Db } from '../store/database';
import type { VaultService } from '../vault/vault-service';
import { CeremonyRecords } from './ceremony-records';
import { CeremonyService } from './ceremony-service';
import { CertificateExport } from './certificate-export';
import { ColdSigning } from './cold-signing';
import type { CeremonyGuardians } from './guardian-capability';
import { RecoveryCeremonies } from './recovery';
import { RevealRules } from './reveal-rules';

export interface CeremonyDomain {
  ceremonies: CeremonyService;
  recovery: RecoveryCeremonies;
  cold: ColdSigning;
  certificates: CertificateExport;
  reveal: RevealRules;
  /** Wipes every seed and share held in memory (vault lock, shutdown). */
  wipeAll(reason: string): void;
}

export function createCeremonyDomain(deps: { db: Db; audit: AuditLog; clock: Clock; vault: VaultService; guardians: CeremonyGuardians; ledger: LedgerDevice; dataDir: string; pdfPrinter: PdfPrinter | null }): CeremonyDomain {
  const { db, audit, clock, vault, guardians, ledger, dataDir } = deps;
  const records = new CeremonyRecords(db, () => vault.keyRing().subkey('ceremony/record-mac'));
  const reveal = new RevealRules({ db, audit, clock, confirmPassphrase: (p) => vault.confirmPassphrase(p) });
  const ceremonies = new CeremonyService({ db, audit, clock, guardians, ledger, reveal, records, nodeId: () => vault.nodeId() });
  const recovery = new RecoveryCeremonies({ db, audit, clock, ledger, reveal, records });
  const cold = new ColdSigning({ db, dataDir, audit, clock, ledger, guardians, records });
  const certificates = new CertificateExport({ ceremonies, audit, dataDir, printer: deps.pdfPrinter });
  return {
    ceremonies,
    recovery,
    cold,
    certificates,
    reveal,
    wipeAll: (reason) => {
      recovery.wipeAll();
      ceremonies.wipeAll(reason);
    },
  };
}
