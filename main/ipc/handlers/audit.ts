import { join } from 'node:path';
import { fail } from '../../errors';
import type { Services } from '../../services';
import type { HandlersFor } from '../router';

function isFileSystemError(error: unknown): error is NodeJS.ErrnoException {
  return error instanceof Error && typeof (error as NodeJS.ErrnoException).code === 'string' && typeof (error as NodeJS.ErrnoException).syscall === 'string';
}

export function auditHandlers({ vault, audit, dataDir, clock, db }: Services): HandlersFor<'audit.'> {
  return {
    'audit.list': (request) => {
      vault.keyRing();
      return audit.list(request);
    },
    'audit.verify': () => {
      vault.keyRing();
      const result = audit.verify();
      audit.append({
        type: 'AUDIT_VERIFIED',
        actor: 'operator',
        details: result.intact ? { intact: true, rows: result.rows } : { intact: false, firstBrokenSeq: result.firstBrokenSeq },
      });
      return result;
    },
    'audit.export': () => {
      vault.keyRing();
      const stamp = new Date(clock.now()).toISOString().replace(/[:.]/g, '-');
      const path = join(dataDir, 'exports', `audit-${stamp}.jsonl`);
      try {
        return db.transaction(() => {
          const written = audit.exportJsonLines(path);
          audit.append({ type: 'AUDIT_EXPORTED', actor: 'operator', details: { file: path, rows: written.rows, headHash: written.headHash } });
          return { path, ...written };
        })();
      } catch (error) {
        if (isFileSystemError(error)) fail('EXPORT_FAILED', `The audit log could not be written to ${path} (${error.code}). Check free space and permissions.`);
        throw error;
      }
    },
  };
}
