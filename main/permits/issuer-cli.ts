/**
 * The issuer tool for the online side (and tests): creates an issuer key, issues SigningPermits
 * for EVM and Solana transfers into a permit bundle, and shows a bundle in words.
 *
 *   npm run permit -- keygen --out issuer.key
 *   npm run permit -- fingerprint --key issuer.key
 *   npm run permit -- issue --key issuer.key --keyset ID --chain evm:1 --type eip1559 --to 0x… --amount 1.5 --out bundle.json
 *   npm run permit -- show --bundle bundle.json
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { parseUnits } from 'ethers';
import { buildEvmTransfer, buildSolanaTransfer } from '../chains/build';
import { decodePayload, describeChain } from '../chains/payload';
import { describeTransfer, SOLANA_CLUSTERS, type ChainRef, type SolanaCluster } from '../chains/transaction';
import { isAppFailure } from '../errors';
import { controlsSnapshot, type Permit } from './permit-format';
import { generateIssuerKey, issuerFingerprint, publicKeyOf } from './issuer-keys';
import { issuePermit, PASSING_CONTROLS } from './issue-permit';
import { appendToBundle, readBundle } from './permit-bundle';

const KEY_FORMAT = 'vaultkeeper/permit-issuer-key';

const HELP = `usage: npm run permit -- <command> [options]

commands:
  keygen --out FILE
      Creates an Ed25519 issuer key. FILE holds the SECRET key (written with mode 0600, never
      overwritten); keep it on the online side only. Prints the public key and its fingerprint:
      read the fingerprint to each signer node's operator, who enrols the issuer with it.
  fingerprint --key FILE
      Prints the public key and fingerprint of an issuer key file.
  issue --key FILE --keyset ID --chain evm:<chainId>|solana:<${SOLANA_CLUSTERS.join('|')}>
        --type eip1559|legacy|erc20|sol|spl --to ADDRESS --amount DECIMAL --out BUNDLE
        [--token 0x… (erc20)] [--mint BASE58 (spl)] [--decimals N (erc20, spl)]
        [--from BASE58 (sol, spl: the keyset's Solana address)] [--blockhash BASE58 (sol, spl)]
        [--nonce N] [--ttl SECONDS (default 60)] [--permit-id ID] [--wallet ID] [--tx-request ID]
        [--controls FILE (JSON {kyt, policy, approvals:{who[], count, required}}; default: passed, 2 of 2)]
        [--audit-anchor HEX64] [--issued-at EPOCH_MS (default now)]
      Builds the unsigned transaction, computes its tx hash (EVM: keccak256 of the unsigned
      serialization; Solana: sha256 of the message bytes), signs the permit and appends it to
      BUNDLE (created if missing). --amount is in the asset's units (1.5 = 1.5 ETH); --to names
      the recipient (for spl: the recipient wallet; the transfer pays its associated token account).
  show --bundle FILE
      Lists the permits in a bundle with their transactions in words.
  --help
      This text.`;

const say = (line: string) => process.stdout.write(`${line}\n`);
function die(line: string): never {
  process.stderr.write(`permit: ${line}\n`);
  process.exit(2);
}

function readKey(path: string): Buffer {
  let data: { format?: string; secretKey?: string };
  try {
    data = JSON.parse(readFileSync(path, 'utf8')) as typeof data;
  } catch {
    die(`cannot read issuer key file ${path}.`);
  }
  if (data.format !== KEY_FORMAT || !/^[0-9a-f]{64}$/.test(data.secretKey ?? '')) die(`${path} is not an issuer key file.`);
  return Buffer.from(data.secretKey!, 'hex');
}

function parseChain(text: string): ChainRef {
  const [kind, rest] = text.split(':');
  if (kind === 'evm' && /^\d+$/.test(rest ?? '') && Number(rest) > 0) return { kind: 'evm', chainId: Number(rest) };
  if (kind === 'solana' && (SOLANA_CLUSTERS as readonly string[]).includes(rest ?? '')) return { kind: 'solana', cluster: rest as SolanaCluster };
  die(`--chain must be evm:<chainId> or solana:<${SOLANA_CLUSTERS.join('|')}>, not "${text}".`);
}

function required(values: Record<string, unknown>, name: string): string {
  const value = values[name];
  if (typeof value !== 'string' || !value) die(`--${name} is required.`);
  return value;
}

function main(): void {
  const [command, ...rest] = process.argv.slice(2);
  if (!command || command === '--help' || command === 'help') {
    say(HELP);
    return;
  }
  let values: Record<string, string | boolean | undefined>;
  try {
    values = parseArgs({
      args: rest,
      options: {
        ...Object.fromEntries(
          ['out', 'key', 'keyset', 'chain', 'type', 'to', 'amount', 'token', 'mint', 'decimals', 'from', 'blockhash', 'nonce', 'ttl', 'permit-id', 'wallet', 'tx-request', 'controls', 'audit-anchor', 'issued-at', 'bundle'].map((name) => [
            name,
            { type: 'string' as const },
          ]),
        ),
        help: { type: 'boolean' as const },
      },
    }).values as Record<string, string | boolean | undefined>;
  } catch (error) {
    die(`${error instanceof Error ? error.message : String(error)}\n${HELP}`);
  }
  if (values.help) {
    say(HELP);
    return;
  }
  switch (command) {
    case 'keygen': {
      const out = required(values, 'out');
      if (existsSync(out)) die(`${out} exists; an issuer key is never overwritten.`);
      const pair = generateIssuerKey();
      writeFileSync(out, `${JSON.stringify({ format: KEY_FORMAT, version: 1, secretKey: pair.secretKey.toString('hex'), publicKey: pair.publicKey.toString('hex') })}\n`, { mode: 0o600, flag: 'wx' });
      pair.secretKey.fill(0);
      say(`PUBLIC_KEY ${pair.publicKey.toString('hex')}`);
      say(`FINGERPRINT ${issuerFingerprint(pair.publicKey)}`);
      return;
    }
    case 'fingerprint': {
      const secret = readKey(required(values, 'key'));
      const publicKey = publicKeyOf(secret);
      secret.fill(0);
      say(`PUBLIC_KEY ${publicKey.toString('hex')}`);
      say(`FINGERPRINT ${issuerFingerprint(publicKey)}`);
      return;
    }
    case 'issue': {
      const secret = readKey(required(values, 'key'));
      const chain = parseChain(required(values, 'chain'));
      const type = required(values, 'type');
      const to = required(values, 'to');
      const amountText = required(values, 'amount');
      const decimals = (fallback: number | null) => {
        if (typeof values.decimals === 'string') return Number(values.decimals);
        if (fallback === null) die(`--decimals is required for --type ${type}.`);
        return fallback;
      };
      let payload: string;
      if (chain.kind === 'evm') {
        if (type !== 'eip1559' && type !== 'legacy' && type !== 'erc20') die(`--type ${type} does not fit ${describeChain(chain)}: use eip1559, legacy or erc20.`);
        const amount = parseUnits(amountText, type === 'erc20' ? decimals(null) : 18);
        payload = buildEvmTransfer({ type, chainId: chain.chainId, nonce: Number(values.nonce ?? 0), to, amount, ...(type === 'erc20' ? { token: required(values, 'token') } : {}) });
      } else {
        if (type !== 'sol' && type !== 'spl') die(`--type ${type} does not fit ${describeChain(chain)}: use sol or spl.`);
        const d = type === 'spl' ? decimals(null) : 9;
        payload = buildSolanaTransfer({
          type, from: required(values, 'from'), to, amount: parseUnits(amountText, d), recentBlockhash: required(values, 'blockhash'),
          ...(type === 'spl' ? { mint: required(values, 'mint'), decimals: d } : {}),
        });
      }
      let controls: Permit['controls'] = PASSING_CONTROLS;
      if (typeof values.controls === 'string') controls = controlsSnapshot.parse(JSON.parse(readFileSync(values.controls, 'utf8')));
      const signed = issuePermit(
        {
          keysetId: required(values, 'keyset'), chain, payload, controls,
          issuedAt: typeof values['issued-at'] === 'string' ? Number(values['issued-at']) : Date.now(),
          ttlSeconds: Number(values.ttl ?? 60),
          ...(typeof values['permit-id'] === 'string' ? { permitId: values['permit-id'] } : {}),
          ...(typeof values.wallet === 'string' ? { walletId: values.wallet } : {}),
          ...(typeof values['tx-request'] === 'string' ? { txRequestId: values['tx-request'] } : {}),
          ...(typeof values['audit-anchor'] === 'string' ? { auditAnchorHash: values['audit-anchor'] } : {}),
        },
        secret,
      );
      secret.fill(0);
      const bundle = appendToBundle(required(values, 'out'), [signed]);
      say(`PERMIT ${signed.permit.permitId} ${signed.permit.txHash}`);
      say(`BUNDLE ${values.out} (${bundle.permits.length} permit${bundle.permits.length === 1 ? '' : 's'})`);
      return;
    }
    case 'show': {
      const bundle = readBundle(required(values, 'bundle'));
      for (const { permit, issuerKey } of bundle.permits) {
        const tx = decodePayload(permit.chain, permit.payload);
        const label = (t: (typeof tx.transfers)[number]) =>
          t.asset === 'native' ? (permit.chain.kind === 'evm' ? { symbol: 'ETH', decimals: 18 } : { symbol: 'SOL', decimals: 9 }) : t.decimals !== null ? { symbol: `of token ${t.asset.slice(4)}`, decimals: t.decimals } : undefined;
        const words = tx.transfers.map((t) => describeTransfer(t, label(t))).join('; ');
        say(`${permit.permitId}  keyset ${permit.keysetId}  ${describeChain(permit.chain)}  ${words}  expires ${new Date(permit.expiresAt).toISOString()}  issuer ${issuerFingerprint(Buffer.from(issuerKey, 'hex'))}`);
      }
      return;
    }
    default:
      die(`unknown command "${command}".\n${HELP}`);
  }
}

try {
  main();
} catch (error) {
  die(isAppFailure(error) ? error.message : error instanceof Error ? error.message : String(error));
}
