/**
 * Setup files of a headless signer node (`npm run node`), which has no guardians: its operator
 * names the trusted permit issuers, the vault policy per keyset and any execution authorizations
 * in JSON files, read at start and again on SIGHUP. The formats are printed by
 * `npm run node -- --help`.
 */
import { readRegularTextFile } from '../platform/safe-file';
import { z } from 'zod';
import { executionAuthorizationScope, keysetPolicy } from '../../preload/channels/policy';
import { fail, isAppFailure } from '../errors';
import type { PermitService } from '../permits/permit-service';
import type { PolicyService } from './policy-service';
import type { Db } from '../store/database';

export const NODE_SETUP_HELP = `Setup files (JSON), applied at start on a node without guardians, and again when the node
receives SIGHUP (kill -HUP <pid>): every file is read and checked first, then all are applied in
one step; a file that does not read or check changes nothing and the node keeps running with
what it had. A reload adds and updates; it never removes an issuer, a policy or an authorization.
  --trusted-issuers FILE   [{ "publicKey": "<64 hex>", "fingerprint": "<six-words-from-the-issuer>",
                              "name": "online issuer", "lab": false }]
                           The fingerprint must be the one the issuer's owner read to you
                           (npm run permit -- keygen prints it); a mismatch stops the node.
  --policy FILE            [{ "keysetId": "...", "allowlist": ["0x…" | "<base58>"],
                              "assets": { "native": { "symbol": "ETH", "decimals": 18, "perTxMax": "10",
                                                      "dailyCap": "50", "guardianApprovalAbove": null },
                                          "erc20:0x<contract lower case>": { ... }, "spl:<mint>": { ... } },
                              "dailyCountLimit": 100 | null, "signingHours": { "start": "08:00", "end": "18:00" } | null,
                              "permitTtlSeconds": 60 }]
                           Amounts are decimal strings in the asset's units. For SPL tokens the
                           allowlist names the recipient's token account. A keyset without a
                           policy co-signs nothing.
  --execution-authorizations FILE
                           [{ "id": "<uuid, optional>", "scope": { "keysetId": "...", "destinations": ["…"],
                              "assets": { "native": { "perTxMax": "1", "dailyCap": "5" } },
                              "validForMinutes": 60 } }]
                           Lets this node co-sign unattended within the scope, for validForMinutes
                           (default 60, at most 1440) from the first start or reload that applies
                           it; with an id, a restart or reload does not renew it (without an id,
                           every start and reload enables a new one). Without one, this node
                           co-signs only permits a person approved at it.`;

const issuersFile = z.array(z.strictObject({ publicKey: z.string(), fingerprint: z.string(), name: z.string().min(1).max(80), lab: z.boolean().default(false) })).max(100);
const policiesFile = z.array(keysetPolicy).max(1000);
const authorizationsFile = z.array(z.strictObject({ id: z.string().uuid().optional(), scope: executionAuthorizationScope })).max(1000);

function readJson<T extends z.ZodType>(path: string, schema: T, what: string): z.output<T> {
  let data: unknown;
  try {
    data = JSON.parse(readRegularTextFile(path, { maxBytes: 16 * 1024 * 1024, what: `${what} file` }));
  } catch (error) {
    // A FIFO, link or oversized file keeps its own code and sentence.
    if (isAppFailure(error)) throw error;
    fail('POLICY_INVALID', `The ${what} file ${path} cannot be read as JSON.`);
  }
  const parsed = schema.safeParse(data);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    fail('POLICY_INVALID', `The ${what} file ${path} is not valid: ${issue ? `${issue.path.join('.')}: ${issue.message}` : 'unknown shape'}.`);
  }
  return parsed.data;
}

export interface NodeSetupFiles {
  trustedIssuers?: string;
  policy?: string;
  executionAuthorizations?: string;
}

/** The setup files' contents, read and checked, not yet applied. */
export interface NodeSetup {
  issuers: z.output<typeof issuersFile> | null;
  policies: z.output<typeof policiesFile>;
  authorizations: z.output<typeof authorizationsFile>;
}

export function readNodeSetupFiles(files: NodeSetupFiles): NodeSetup {
  return {
    issuers: files.trustedIssuers ? readJson(files.trustedIssuers, issuersFile, 'trusted issuers') : null,
    policies: files.policy ? readJson(files.policy, policiesFile, 'policy') : [],
    authorizations: files.executionAuthorizations ? readJson(files.executionAuthorizations, authorizationsFile, 'execution authorizations') : [],
  };
}

/**
 * Reads every file first, then applies all of them in one transaction: a file that is missing,
 * malformed or refused (a fingerprint mismatch, a scope wider than the policy) leaves this node's
 * setup exactly as it was.
 */
export function applyNodeSetupFiles(files: NodeSetupFiles, services: { db: Db; permits: PermitService; policy: PolicyService }, guardiansEnrolled: boolean): string[] {
  const setup = readNodeSetupFiles(files);
  const applied: string[] = [];
  services.db.transaction(() => {
    if (setup.issuers && files.trustedIssuers) {
      services.permits.enrolIssuersAtSetup(setup.issuers, guardiansEnrolled, files.trustedIssuers);
      applied.push(`${setup.issuers.length} trusted issuer(s)`);
    }
    const { policies, authorizations } = setup;
    if (policies.length > 0 || authorizations.length > 0) {
      services.policy.applyNodeSetup({ policies, authorizations }, guardiansEnrolled, [files.policy, files.executionAuthorizations].filter(Boolean).join(', '));
      applied.push(`${policies.length} keyset polic${policies.length === 1 ? 'y' : 'ies'}`, `${authorizations.length} execution authorization(s)`);
    }
  })();
  return applied;
}
