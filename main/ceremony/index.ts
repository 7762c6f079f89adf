/** Builds the ceremony domain over the store, the audit log, the vault, the guardians and the Ledger. */
import type { AuditLog } from '../audit/audit-log';
import type { LedgerDevice } from '../ledger/ledger-device';
import type { Clock } from '../platform/clock';
import type { Db } from '../store/database';
import type { VaultService } from '../vault/vault-service';
import { CeremonyRecords } from './ceremony-records';
import { CeremonyService } from './ceremony-service';
import { ColdSigning } from './cold-signing';
import type { CeremonyGuardians } from './guardian-capability';
import { RecoveryCeremonies } from './recovery';
import { RevealRules } from './reveal-rules';

export interface CeremonyDomain {
  ceremonies: CeremonyService;
  recovery: RecoveryCeremonies;
  cold: ColdSigning;
  reveal: RevealRules;
  /** Wipes every seed and share held in memory (vault lock, shutdown). */
  wipeAll(reason: string): void;
}

export function createCeremonyDomain(deps: { db: Db; audit: AuditLog; clock: Clock; vault: VaultService; guardians: CeremonyGuardians; ledger: LedgerDevice; dataDir: string }): CeremonyDomain {
  const { db, audit, clock, vault, guardians, ledger, dataDir } = deps;
  const records = new CeremonyRecords(db, () => vault.keyRing().subkey('ceremony/record-mac'));
  const reveal = new RevealRules({ db, audit, clock, confirmPassphrase: (p) => vault.confirmPassphrase(p) });
  const ceremonies = new CeremonyService({ db, audit, clock, guardians, ledger, reveal, records, nodeId: () => vault.nodeId() });
  const recovery = new RecoveryCeremonies({ db, audit, clock, ledger, reveal, records });
  const cold = new ColdSigning({ db, dataDir, audit, clock, ledger, guardians, records });
  return {
    ceremonies,
    recovery,
    cold,
    reveal,
    wipeAll: (reason) => {
      recovery.wipeAll();
      ceremonies.wipeAll(reason);
    },
  };
}
