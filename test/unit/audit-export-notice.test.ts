/**
 * The export notice is what the operator carries to another machine: the full head hash (and its
 * QR code) must be exactly what `npm run audit:verify -- FILE HEAD` accepts for the file written
 * to the folder the operator chose. "Chain verified: N rows" counts the rows the screen lists.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import QRCode from 'qrcode';
import { AppFailure } from '../../main/errors';
import { createHandlers } from '../../main/ipc/handlers';
import { createServices } from '../../main/services';
import { GOOD_PASSPHRASE, TEST_KDF_COST } from '../support/services';
import { tempDir } from '../support/temp-dir';

const TSX = join(process.cwd(), 'node_modules', '.bin', 'tsx');

describe('audit export notice', () => {
  it('exports to the chosen folder; the head hash shown verifies the file with the CLI; the verified count is the listed count', async () => {
    const dir = tempDir('vk-export-');
    const chosen = tempDir('vk-chosen-');
    const services = createServices({ dataDir: dir.path, kdfCost: TEST_KDF_COST, idleCheckIntervalMs: 0 });
    try {
      await services.vault.create(GOOD_PASSPHRASE, GOOD_PASSPHRASE);
      const handlers = createHandlers(services);
      const ctx = {} as never;

      const verified = await handlers['audit.verify']({}, ctx);
      const listed = await handlers['audit.list']({ offset: 0, limit: 100 }, ctx);
      assert.ok(verified.intact);
      assert.equal(verified.rows, listed.total, 'the badge counts every row the screen lists, the verification row included');
      assert.equal(listed.entries.find((e) => e.type === 'AUDIT_VERIFIED')?.actorName, 'operator');

      const notice = await handlers['audit.export']({ folder: chosen.path }, ctx);
      assert.equal(notice.path.startsWith(chosen.path), true);
      assert.equal(statSync(notice.path).mode & 0o777, 0o600);
      assert.match(notice.headHash, /^[0-9a-f]{64}$/);
      assert.equal(notice.headHashQr, await QRCode.toDataURL(notice.headHash, { errorCorrectionLevel: 'M', margin: 1, width: 192 }), 'the QR code encodes exactly the head hash');
      assert.equal(notice.verifyCommand, `npm run audit:verify -- ${notice.path} ${notice.headHash}`);
      const out = execFileSync(TSX, ['main/audit/verify-export-cli.ts', notice.path, notice.headHash], { encoding: 'utf8' });
      assert.match(out, new RegExp(`^intact: ${notice.rows} rows, head hash ${notice.headHash}`));
      // Another head hash is refused by the same command.
      const other = `${notice.headHash.slice(0, 63)}${notice.headHash.endsWith('0') ? '1' : '0'}`;
      assert.throws(() => execFileSync(TSX, ['main/audit/verify-export-cli.ts', notice.path, other], { encoding: 'utf8', stdio: 'pipe' }));

      // A folder that does not exist is refused and nothing is written or recorded.
      const missing = join(chosen.path, 'no-such-folder');
      const before = services.audit.list({ type: 'AUDIT_EXPORTED' }).total;
      await assert.rejects(async () => handlers['audit.export']({ folder: missing }, ctx), (e: unknown) => e instanceof AppFailure && e.code === 'EXPORT_FAILED' && /does not exist/.test(e.message));
      assert.equal(existsSync(missing), false);
      assert.equal(services.audit.list({ type: 'AUDIT_EXPORTED' }).total, before);
      assert.equal(readdirSync(chosen.path).length, 1);
    } finally {
      await services.close();
      dir.cleanup();
      chosen.cleanup();
    }
  });
});
