/**
 * The recovery ceremony (shares one at a time, progress, reset, fingerprint-proven rebuild,
 * verify-only mode), the reveal rules, and a scan of everything written to disk or logged after a
 * ceremony and a recovery for seed words and shares.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { isAppFailure } from '../../main/errors';
import { splitEntropy, shareToWords, wordsToShare } from '../../main/ceremony/shamir-backup';
import { RevealRules } from '../../main/ceremony/reveal-rules';
import { shareUr } from '../../main/qr/share-ur';
import { generateEntropy, wordsToEntropy } from '../../main/ceremony/seed';
import { GOOD_PASSPHRASE } from '../support/services';
import { ceremonyFixture, runConsoleCeremony, type CeremonyFixture } from '../support/ceremony';

const code = (c: string) => (e: unknown) => {
  assert.ok(isAppFailure(e), `expected AppFailure ${c}, got ${String(e)}`);
  assert.equal(e.code, c, e.message);
  return true;
};

describe('recovery ceremony and reveal rules', () => {
  let f: CeremonyFixture;
  let ceremony: Awaited<ReturnType<typeof runConsoleCeremony>>;
  const logged: string[] = [];
  const originalWrite = process.stderr.write.bind(process.stderr);

  before(async () => {
    // Everything the console logs during the ceremony and the recovery is kept for the secret scan.
    process.stderr.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
      logged.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
      return (originalWrite as (...a: unknown[]) => boolean)(chunk, ...rest);
    }) as typeof process.stderr.write;
    f = await ceremonyFixture();
    ceremony = await runConsoleCeremony(f);
  });
  after(async () => {
    process.stderr.write = originalWrite;
    await f.cleanup();
  });

  it('verify-only mode: any two shares, one at a time with progress, prove the seed without showing it', async () => {
    const { recovery } = f.services.ceremony;
    for (const [a, b] of [[0, 1], [0, 2], [2, 1]] as const) {
      const r = recovery.start(ceremony.id, 'verify');
      const first = await recovery.submitShare(r.id, ceremony.sheets[a]!.words.join(' '));
      assert.equal(first.received, 1);
      assert.equal(first.required, 2);
      assert.equal(first.state, 'collecting');
      const done = await recovery.submitShare(r.id, ceremony.sheets[b]!.words.join(' '));
      assert.equal(done.state, 'verified');
      assert.equal(done.received, 0, 'shares are wiped once used');
      assert.throws(() => recovery.reveal(r.id, 'ab'.repeat(32)), code('CEREMONY_STEP_OUT_OF_ORDER'));
      recovery.close(r.id);
    }
  });

  it('refuses a share of another ceremony, a mistyped share and the same share twice, keeping progress; reset clears it', async () => {
    const { recovery } = f.services.ceremony;
    const r = recovery.start(ceremony.id, 'recover');
    await recovery.submitShare(r.id, ceremony.sheets[1]!.words.join(' '));
    const foreign = shareToWords((await splitEntropy(generateEntropy()))[0]!);
    await assert.rejects(recovery.submitShare(r.id, foreign.join(' ')), code('SHARE_UNKNOWN'));
    const typo = [...ceremony.sheets[0]!.words];
    typo[7] = typo[7] === 'abandon' ? 'ability' : 'abandon';
    await assert.rejects(recovery.submitShare(r.id, typo.join(' ')), code('SHARE_MALFORMED'));
    await assert.rejects(recovery.submitShare(r.id, ceremony.sheets[1]!.words.join(' ')), code('SHARE_DUPLICATE'));
    const progress = recovery.reset(r.id);
    assert.equal(progress.received, 0);
    assert.equal(progress.state, 'collecting');
    await recovery.submitShare(r.id, ceremony.sheets[0]!.words.join(' '));
    const done = await recovery.submitShare(r.id, ceremony.sheets[2]!.words.join(' '));
    assert.equal(done.state, 'recovered');
    const types = f.services.audit.list({ limit: 500 }).entries.filter((e) => e.type === 'RECOVERY_REFUSED').map((e) => e.details.code);
    assert.deepEqual(types.sort(), ['SHARE_DUPLICATE', 'SHARE_MALFORMED', 'SHARE_UNKNOWN']);
    recovery.close(r.id);
  });

  it('takes a share from its UR code (ur:vk-share) as from its words; a misread, foreign-type or foreign share UR is refused', async () => {
    const { recovery } = f.services.ceremony;
    const r = recovery.start(ceremony.id, 'verify');
    const sheetUr = ceremony.sheets[0]!.ur;
    assert.match(sheetUr, /^UR:VK-SHARE\//);
    // One byteword swapped: the UR's CRC32 refuses it before any share check.
    const body = sheetUr.slice(sheetUr.lastIndexOf('/') + 1);
    const misread = `UR:VK-SHARE/${body.slice(0, 6)}${body.slice(6, 8) === 'AE' ? 'AD' : 'AE'}${body.slice(8)}`;
    await assert.rejects(recovery.submitShare(r.id, misread), code('QR_UR_CORRUPT'));
    await assert.rejects(recovery.submitShare(r.id, sheetUr.replace('UR:VK-SHARE/', 'UR:VK-PERMIT-BUNDLE/')), code('QR_UR_WRONG_TYPE'));
    await assert.rejects(recovery.submitShare(r.id, shareUr((await splitEntropy(generateEntropy()))[0]!)), code('SHARE_UNKNOWN'));
    assert.equal((await recovery.submitShare(r.id, sheetUr)).received, 1);
    const done = await recovery.submitShare(r.id, ceremony.sheets[2]!.ur.toLowerCase());
    assert.equal(done.state, 'verified');
    recovery.close(r.id);
  });

  it('a share whose words were re-encoded from corrupted bytes is refused and reveals nothing', async () => {
    const { recovery } = f.services.ceremony;
    const r = recovery.start(ceremony.id, 'recover');
    const bytes = wordsToShare(ceremony.sheets[0]!.words);
    bytes[3]! ^= 0x40;
    await assert.rejects(recovery.submitShare(r.id, shareToWords(bytes).join(' ')), code('SHARE_UNKNOWN'));
    assert.equal((await recovery.submitShare(r.id, ceremony.sheets[1]!.words.join(' '))).received, 1);
    recovery.close(r.id);
  });

  it('reveals the words only with a fresh, single-use passphrase confirmation, at most 3 times an hour', async () => {
    const { recovery, reveal } = f.services.ceremony;
    const r = recovery.start(ceremony.id, 'recover');
    await recovery.submitShare(r.id, ceremony.sheets[0]!.words.join(' '));
    await recovery.submitShare(r.id, ceremony.sheets[1]!.words.join(' '));
    assert.throws(() => recovery.reveal(r.id, 'ab'.repeat(32)), code('REVEAL_CONFIRMATION_INVALID'));
    await assert.rejects(reveal.confirm('not the passphrase'), code('WRONG_PASSPHRASE'));

    const expired = await reveal.confirm(GOOD_PASSPHRASE);
    f.clock.advance(2 * 60_000 + 1_000);
    assert.throws(() => recovery.reveal(r.id, expired.token), (e: unknown) => code('REVEAL_CONFIRMATION_EXPIRED')(e) && /expired 1 s(econd)? ago|expired/.test((e as Error).message));

    const first = await reveal.confirm(GOOD_PASSPHRASE);
    const shown = recovery.reveal(r.id, first.token);
    assert.deepEqual(shown.words, ceremony.words);
    assert.equal(shown.clearAfterSeconds, 60);
    assert.equal(shown.revealsLeftThisHour, 2);
    assert.throws(() => recovery.reveal(r.id, first.token), code('REVEAL_CONFIRMATION_USED'));
    recovery.reveal(r.id, (await reveal.confirm(GOOD_PASSPHRASE)).token);
    assert.equal(recovery.reveal(r.id, (await reveal.confirm(GOOD_PASSPHRASE)).token).revealsLeftThisHour, 0);
    const fourth = await reveal.confirm(GOOD_PASSPHRASE);
    assert.throws(() => recovery.reveal(r.id, fourth.token), (e: unknown) => code('REVEAL_RATE_LIMITED')(e) && /next reveal is possible in/.test((e as Error).message));
    // The count lives in the database: a console restarted in the same hour still refuses.
    const afterRestart = new RevealRules({ db: f.services.db, audit: f.services.audit, clock: f.clock, confirmPassphrase: (p) => f.services.vault.confirmPassphrase(p) });
    const fresh = await afterRestart.confirm(GOOD_PASSPHRASE);
    assert.throws(() => afterRestart.consume(fresh.token, ceremony.id, 'recovery'), code('REVEAL_RATE_LIMITED'));
    recovery.close(r.id);
    // An hour later the budget is back; the recovery itself had to be redone (15-minute limit).
    f.clock.advance(60 * 60_000);
    const again = recovery.start(ceremony.id, 'recover');
    await recovery.submitShare(again.id, ceremony.sheets[0]!.words.join(' '));
    await recovery.submitShare(again.id, ceremony.sheets[2]!.words.join(' '));
    assert.throws(() => recovery.reveal(again.id, fourth.token), code('REVEAL_CONFIRMATION_EXPIRED'));
    assert.deepEqual(recovery.reveal(again.id, (await reveal.confirm(GOOD_PASSPHRASE)).token).words, ceremony.words);
    recovery.close(again.id);
    const audited = f.services.audit.list({ limit: 500, type: 'CEREMONY_WORDS_REVEALED' }).entries;
    assert.equal(audited.length, 4);
  });

  it('verifies a replacement Ledger from the recovered seed and refuses a Ledger with another seed', async () => {
    const { recovery } = f.services.ceremony;
    const r = recovery.start(ceremony.id, 'recover');
    await recovery.submitShare(r.id, ceremony.sheets[2]!.words.join(' '));
    await recovery.submitShare(r.id, ceremony.sheets[1]!.words.join(' '));
    f.device.useMnemonic('abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about');
    await assert.rejects(recovery.verifyLedger(r.id), code('LEDGER_SEED_MISMATCH'));
    f.device.useMnemonic(ceremony.words.join(' '));
    const ok = await recovery.verifyLedger(r.id);
    assert.ok(ok.ledgerChecks.length > 0 && ok.ledgerChecks.every((c) => c.matches));
    // The Solana account, with the replacement's Solana app open.
    f.device.app = 'solana';
    f.device.useMnemonic('abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about');
    await assert.rejects(recovery.verifyLedger(r.id, 'solana'), code('LEDGER_SEED_MISMATCH'));
    f.device.useMnemonic(ceremony.words.join(' '));
    const both = await recovery.verifyLedger(r.id, 'solana');
    f.device.app = 'ethereum';
    assert.equal(both.ledgerChecks.length, ok.ledgerChecks.length + 1, 'the Ethereum checks stay, the Solana account is added');
    assert.ok(both.ledgerChecks.every((c) => c.matches));
    recovery.close(r.id);
    assert.throws(() => recovery.reset(r.id), code('RECOVERY_NOT_FOUND'));
  });

  it('an open recovery expires after 15 minutes and its shares are wiped', async () => {
    const { recovery } = f.services.ceremony;
    const r = recovery.start(ceremony.id, 'recover');
    await recovery.submitShare(r.id, ceremony.sheets[0]!.words.join(' '));
    f.clock.advance(15 * 60_000 + 1);
    await assert.rejects(recovery.submitShare(r.id, ceremony.sheets[1]!.words.join(' ')), code('RECOVERY_EXPIRED'));
    assert.throws(() => recovery.reset(r.id), code('RECOVERY_NOT_FOUND'));
  });

  it('secret scan: logs, database (with WAL and free pages), audit export and certificate hold no seed words and no share', async () => {
    const { audit, dataDir, db } = f.services;
    const exportPath = join(dataDir, 'exports', 'audit-scan.jsonl');
    audit.exportJsonLines(exportPath);
    const certificate = await f.services.ceremony.ceremonies.certificate(ceremony.id);
    const entropy = wordsToEntropy(ceremony.words);
    const pairs = (words: string[]) => words.slice(1).flatMap((w, i) => [`${words[i]} ${w}`, `"${words[i]}","${w}"`]);
    const needles: Array<{ what: string; bytes: Buffer }> = [
      { what: 'seed entropy (bytes)', bytes: entropy },
      { what: 'seed entropy (hex)', bytes: Buffer.from(entropy.toString('hex')) },
      ...pairs(ceremony.words).map((p) => ({ what: 'two consecutive seed words', bytes: Buffer.from(p) })),
      ...ceremony.sheets.flatMap((sheet) => {
        const share = wordsToShare(sheet.words);
        return [
          { what: `share ${sheet.index} (bytes)`, bytes: Buffer.from(share) },
          { what: `share ${sheet.index} (hex)`, bytes: Buffer.from(Buffer.from(share).toString('hex')) },
          ...pairs(sheet.words).map((p) => ({ what: `two consecutive words of share ${sheet.index}`, bytes: Buffer.from(p) })),
        ];
      }),
    ];
    // The WAL is scanned as it stands, then again after a checkpoint folds it into the main file.
    const files = (dir: string): string[] => readdirSync(dir).flatMap((n) => (statSync(join(dir, n)).isDirectory() ? files(join(dir, n)) : [join(dir, n)]));
    const haystacks: Array<{ name: string; data: Buffer }> = files(dataDir).map((p) => ({ name: p, data: readFileSync(p) }));
    assert.ok(haystacks.some((h) => h.name.endsWith('-wal') && h.data.length > 0), 'the WAL file is scanned');
    db.pragma('wal_checkpoint(TRUNCATE)');
    haystacks.push(...files(dataDir).map((p) => ({ name: `${p} (after checkpoint)`, data: readFileSync(p) })));
    haystacks.push({ name: 'certificate HTML', data: Buffer.from(certificate.html) }, { name: 'transcript', data: Buffer.from(certificate.transcript) }, { name: 'stderr', data: Buffer.from(logged.join('')) });
    let scanned = 0;
    for (const h of haystacks) {
      scanned += h.data.length;
      for (const n of needles) assert.equal(h.data.indexOf(n.bytes), -1, `${n.what} found in ${h.name}`);
    }
    assert.ok(scanned > 50_000, `scanned ${scanned} bytes`);
    // The scan can fail: the same needles are found when they are present.
    assert.notEqual(Buffer.concat([Buffer.from('x'), needles[2]!.bytes]).indexOf(needles[2]!.bytes), -1);
  });
});
