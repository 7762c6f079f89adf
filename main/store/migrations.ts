/**
 * Numbered schema migrations. Each runs once, inside a transaction, and is recorded in
 * schema_migrations; a database newer than this code is refused rather than guessed at.
 * Each migration lives in migrations/NNN-name.ts; add new ones at the end of the list and never
 * edit one that has shipped.
 */
import { vaultAndAudit } from './migrations/001-vault-and-audit';
import { guardians } from './migrations/002-guardians';
import { cluster } from './migrations/003-cluster';
import { presignatures } from './migrations/004-presignatures';
import { permitsPolicy } from './migrations/005-permits-policy';
import { presignatureHardening } from './migrations/006-presignature-hardening';
import { guardianRegistryHead } from './migrations/007-guardian-registry-head';
import { ceremony } from './migrations/008-ceremony';
import { permitQueue } from './migrations/009-permit-queue';
import { shareBackups } from './migrations/010-share-backups';
import { ecdsaAux } from './migrations/011-ecdsa-aux';
import { requestOutcomes } from './migrations/012-request-outcomes';
import { emergencyExit } from './migrations/014-emergency-exit';
import { keysetRefresh } from './migrations/013-keyset-refresh';
import { drillsAndKeyChecks } from './migrations/015-drills-and-key-checks';
import { removedPeers } from './migrations/016-removed-peers';
import { jobs } from './migrations/018-jobs';
import { airgapRefusals } from './migrations/019-airgap-refusals';

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export const MIGRATIONS: readonly Migration[] = [vaultAndAudit, guardians, cluster, presignatures, permitsPolicy, presignatureHardening, guardianRegistryHead, ceremony, permitQueue, shareBackups, ecdsaAux, requestOutcomes, keysetRefresh, emergencyExit, drillsAndKeyChecks, removedPeers, jobs, airgapRefusals];
