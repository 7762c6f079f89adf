/**
 * Permit bundles: the file the online side hands across the air gap, holding many signed permits.
 * Reading one checks only its shape, size and duplicates; each permit is verified on its own by
 * the authorizer when a signature is requested.
 */
import { existsSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { writeFileAtomically } from '../platform/atomic-file';
import { readRegularTextFile } from '../platform/safe-file';
import { z } from 'zod';
import { fail } from '../errors';
import { signedPermitSchema, type SignedPermit } from './permit-format';

export const BUNDLE_FORMAT = 'vaultkeeper/permit-bundle';
export const BUNDLE_VERSION = 1;
export const MAX_BUNDLE_PERMITS = 20_000;
export const MAX_BUNDLE_BYTES = 64 * 1024 * 1024;

const bundleSchema = z.strictObject({
  format: z.literal(BUNDLE_FORMAT),
  version: z.literal(BUNDLE_VERSION),
  permits: z.array(signedPermitSchema).max(MAX_BUNDLE_PERMITS),
});

export interface PermitBundle {
  format: typeof BUNDLE_FORMAT;
  version: typeof BUNDLE_VERSION;
  permits: SignedPermit[];
}

export function parseBundle(text: string): PermitBundle {
  if (Buffer.byteLength(text, 'utf8') > MAX_BUNDLE_BYTES) fail('PERMIT_BUNDLE_TOO_LARGE', `The permit bundle is larger than ${MAX_BUNDLE_BYTES / 1024 / 1024} MiB.`);
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    fail('PERMIT_BUNDLE_MALFORMED', 'The permit bundle is not JSON.');
  }
  const count = (data as { permits?: unknown[] } | null)?.permits?.length;
  if (typeof count === 'number' && count > MAX_BUNDLE_PERMITS) fail('PERMIT_BUNDLE_TOO_LARGE', `The permit bundle holds ${count} permits; at most ${MAX_BUNDLE_PERMITS} are accepted.`);
  const parsed = bundleSchema.safeParse(data);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    fail('PERMIT_BUNDLE_MALFORMED', `The permit bundle is not valid: ${issue ? `${issue.path.join('.')}: ${issue.message}` : 'unknown shape'}.`);
  }
  const seen = new Set<string>();
  for (const p of parsed.data.permits) {
    if (seen.has(p.permit.permitId)) fail('PERMIT_BUNDLE_MALFORMED', `Permit ${p.permit.permitId} appears twice in the bundle.`);
    seen.add(p.permit.permitId);
  }
  return parsed.data as PermitBundle;
}

/** Reads a bundle from a medium: a regular file only (no FIFO, device or link), at most the size limit. */
export function readBundle(path: string): PermitBundle {
  return parseBundle(readRegularTextFile(path, { maxBytes: MAX_BUNDLE_BYTES, what: 'permit bundle' }));
}

export function serializeBundle(permits: SignedPermit[]): string {
  return `${JSON.stringify({ format: BUNDLE_FORMAT, version: BUNDLE_VERSION, permits } satisfies PermitBundle, null, 1)}\n`;
}

/** Appends to the bundle at `path` (creating it), written atomically. */
export function appendToBundle(path: string, permits: SignedPermit[]): PermitBundle {
  const existing = existsSync(path) ? readBundle(path).permits : [];
  const text = serializeBundle([...existing, ...permits]);
  parseBundle(text);
  // Owner-only like every file written here; the bundle is replaced whole, never half-written.
  writeFileAtomically(dirname(path), basename(path), text, { replace: true });
  return parseBundle(text);
}
