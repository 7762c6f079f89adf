/**
 * The console's guardian registry file handed to a lab node's folder (`--guardians`). Handed again
 * at every lab start, so a lab node follows a guardian replacement made at the console since its
 * last start: the node checks each replacement against its own guardians (guardians/registry-adoption.ts)
 * and refuses to start on anything else, the lab start then failing with the node's reason.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomically } from '../platform/atomic-file';

export const LAB_GUARDIANS_FILE = 'guardians.json';

/**
 * Writes `json` (the console's current registry file) into the node's folder, replacing the one
 * handed before. With no file (fewer than three guardians at the console), an earlier one stays:
 * the node keeps checking against the guardians it has. Returns the path to pass, or null.
 */
export function handLabGuardiansFile(dir: string, json: string | null): string | null {
  const path = join(dir, LAB_GUARDIANS_FILE);
  if (json) writeFileAtomically(dir, LAB_GUARDIANS_FILE, json, { replace: true });
  return existsSync(path) ? path : null;
}
