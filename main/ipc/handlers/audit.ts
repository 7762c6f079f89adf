import QRCode from 'qrcode';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import type { AuditEntry } from '../../../preload/contract';
import { fail } from '../../errors';
import type { Services } from '../../services';
import type { HandlersFor } from '../router';

function isFileSystemError(error: unknown): error is NodeJS.ErrnoException {
  return error instanceof Error && typeof (error as NodeJS.ErrnoException).code === 'string' && typeof (error as NodeJS.ErrnoException).syscall === 'string';
}

/** The folder the operator chose must already exist: a typo must not create a stray folder. */
function chosenFolder(folder: string): string {
  let isFolder = false;
  try {
    isFolder = statSync(folder).isDirectory();
  } catch {
    isFolder = false;
  }
  if (!isFolder) fail('EXPORT_FAILED', `The folder ${folder} does not exist or is not a folder. Check that the medium is mounted and the path is typed right; nothing was exported.`);
  return folder;
}

export function auditHandlers({ vault, audit, dataDir, clock, db, guardians, cluster }: Services): HandlersFor<'audit.'> {
  /** Guardian addresses and node ids to names, so the screen says who acted. */
  const actorNames = (): Map<string, string> => {
    const names = new Map<string, string>([['operator', 'operator'], ['system', 'system']]);
    try {
      for (const g of guardians.registry().guardians) names.set(g.address.toLowerCase(), `guardian ${g.name}`);
    } catch {
      // An unreadable registry is reported on the Guardians screen; here the ids stay.
    }
    for (const n of cluster.nodes()) names.set(n.nodeId, n.isSelf ? `this node (${n.name})` : `node ${n.name}`);
    return names;
  };
  const named = (entry: AuditEntry, names: Map<string, string>): AuditEntry => {
    const name = names.get(entry.actor) ?? names.get(entry.actor.toLowerCase());
    return name ? { ...entry, actorName: name } : entry;
  };
  return {
    'audit.list': (request) => {
      vault.keyRing();
      const page = audit.list(request);
      const names = actorNames();
      return { ...page, entries: page.entries.map((e) => named(e, names)) };
    },
    'audit.verify': () => {
      vault.keyRing();
      const result = audit.verify();
      audit.append({
        type: 'AUDIT_VERIFIED',
        actor: 'operator',
        details: result.intact ? { intact: true, rows: result.rows } : { intact: false, firstBrokenSeq: result.firstBrokenSeq },
      });
      // Checked again with the row recording the check, so the count is the rows the screen lists.
      return result.intact ? audit.verify() : result;
    },
    'audit.export': async (request) => {
      vault.keyRing();
      const stamp = new Date(clock.now()).toISOString().replace(/[:.]/g, '-');
      const folder = request.folder ? chosenFolder(request.folder) : join(dataDir, 'exports');
      const path = join(folder, `audit-${stamp}.jsonl`);
      let written: { rows: number; headHash: string };
      try {
        written = db.transaction(() => {
          const out = audit.exportJsonLines(path);
          audit.append({ type: 'AUDIT_EXPORTED', actor: 'operator', details: { file: path, rows: out.rows, headHash: out.headHash } });
          return out;
        })();
      } catch (error) {
        if (isFileSystemError(error)) fail('EXPORT_FAILED', `The audit log could not be written to ${path} (${error.code}). Check free space and permissions.`);
        throw error;
      }
      const headHashQr = await QRCode.toDataURL(written.headHash, { errorCorrectionLevel: 'M', margin: 1, width: 192 });
      return { path, ...written, headHashQr, verifyCommand: `npm run audit:verify -- ${path} ${written.headHash}` };
    },
  };
}
