/** Binds each contract channel to the domain service that answers it. */
import { join } from 'node:path';
import type { Services } from '../services';
import type { Handlers } from './router';
import { fail } from '../errors';

export function createHandlers(services: Services): Handlers {
  const { vault, audit, dataDir, clock, db } = services;
  const requireUnlocked = () => {
    vault.keyRing();
  };
  return {
    'vault.status': () => vault.status(),
    'vault.create': (request) => vault.create(request.passphrase, request.confirmation),
    'vault.unlock': (request) => vault.unlock(request.passphrase),
    'vault.lock': () => vault.lock('operator'),
    'vault.heartbeat': () => vault.status(),
    'audit.list': (request) => {
      requireUnlocked();
      return audit.list(request);
    },
    'audit.verify': () => {
      requireUnlocked();
      const result = audit.verify();
      audit.append({
        type: 'AUDIT_VERIFIED',
        actor: 'operator',
        details: result.intact ? { intact: true, rows: result.rows } : { intact: false, firstBrokenSeq: result.firstBrokenSeq },
      });
      return result;
    },
    'audit.export': () => {
      requireUnlocked();
      const stamp = new Date(clock.now()).toISOString().replace(/[:.]/g, '-');
      const path = join(dataDir, 'exports', `audit-${stamp}.jsonl`);
      try {
        return db.transaction(() => {
          const written = audit.exportJsonLines(path);
          audit.append({ type: 'AUDIT_EXPORTED', actor: 'operator', details: { file: path, rows: written.rows, headHash: written.headHash } });
          return { path, ...written };
        })();
      } catch (error) {
        if (error instanceof Error && 'code' in error && typeof (error as NodeJS.ErrnoException).code === 'string' && (error as NodeJS.ErrnoException).syscall) {
          fail('EXPORT_FAILED', `The audit log could not be written to ${path} (${(error as NodeJS.ErrnoException).code}). Check free space and permissions.`);
        }
        throw error;
      }
    },
  };
}
