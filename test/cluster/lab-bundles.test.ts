/**
 * The lab as a packaged app runs it: the coordinator and signer node entries are bundled
 * (scripts/build-electron.mjs) into a temp app folder that holds only what the package ships —
 * the bundles, the MPC addon and better-sqlite3 with its binary — and started with plain Node
 * (the bundle launcher, as Electron's utility process would start them): no tsx loader, no source
 * tree. A console beside them starts that lab, makes an EdDSA keyset and signs once.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, readlinkSync, realpathSync } from 'node:fs';
import { join, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { ed25519 } from '@noble/curves/ed25519.js';
import { parse as parseYaml } from 'yaml';
import { PassThrough } from 'node:stream';
import { runSignerNode, signerNodeArgs } from '../../main/app/signer-node-mode';
import { bundleLauncher, LAB_BUNDLES, type LabLauncher, type LabProcess } from '../../main/cluster/lab-launch';
import { AppFailure } from '../../main/errors';
import { createServices, type Services } from '../../main/services';
import { GOOD_PASSPHRASE, TEST_KDF_COST } from '../support/services';
import { killLeftovers } from '../support/processes';
import { tempDir } from '../support/temp-dir';

const ROOT = realpathSync(fileURLToPath(new URL('../../', import.meta.url)));
const NODE_MODULES = realpathSync(join(ROOT, 'node_modules'));

/** What electron-builder ships of better-sqlite3 (and its loader): its JS, its package file and its binary. */
function copyRuntimeModules(appDir: string): void {
  const copy = (pkg: string, parts: string[]) => {
    for (const part of parts) cpSync(join(NODE_MODULES, pkg, part), join(appDir, 'node_modules', pkg, part), { recursive: true, dereference: true });
  };
  copy('better-sqlite3', ['package.json', 'lib', join('build', 'Release', 'better_sqlite3.node')]);
  copy('bindings', ['package.json', 'bindings.js']);
  copy('file-uri-to-path', ['package.json', 'index.js']);
}

function procFile(pid: number, name: string): string {
  return readFileSync(`/proc/${pid}/${name}`, 'utf8');
}

describe('the bundled lab, started with plain Node outside the source tree', { timeout: 600_000 }, () => {
  const app = tempDir('vk-packaged-app-');
  const data = tempDir('vk-packaged-data-');
  const distDir = join(app.path, 'dist');
  let s: Services;
  let pids: number[] = [];

  before(async () => {
    const { buildSignerBundles } = (await import(pathToFileURL(join(ROOT, 'scripts', 'build-electron.mjs')).href)) as {
      buildSignerBundles: (o: { outDir: string; release: boolean }) => Promise<{ nodeOutfile: string; coordinatorOutfile: string; externals: string[] }>;
    };
    const built = await buildSignerBundles({ outDir: distDir, release: true });
    // The launcher and the build agree on where the bundles are.
    assert.equal(built.nodeOutfile, join(distDir, LAB_BUNDLES.node));
    assert.equal(built.coordinatorOutfile, join(distDir, LAB_BUNDLES.coordinator));
    mkdirSync(join(app.path, 'native'));
    cpSync(join(ROOT, 'native', 'vaultkeeper_mpc.node'), join(app.path, 'native', 'vaultkeeper_mpc.node'));
    copyRuntimeModules(app.path);
    s = createServices({
      dataDir: join(data.path, 'console'),
      kdfCost: TEST_KDF_COST,
      idleCheckIntervalMs: 0,
      idleTimeoutSeconds: 3600,
      lab: { kdfTestCost: true, packaged: true, launcher: bundleLauncher(distDir) },
      cluster: { stateDir: join(data.path, 'state') },
    });
    await s.vault.create(GOOD_PASSPHRASE, GOOD_PASSPHRASE);
  });

  after(async () => {
    pids = [...new Set([...pids, ...(s?.lab.status().pids ?? [])])];
    await s?.close();
    killLeftovers(pids);
    app.cleanup();
    data.cleanup();
  });

  it('the packaging config ships both bundles, and the fuses stay off', () => {
    const config = parseYaml(readFileSync(join(ROOT, 'electron-builder.yml'), 'utf8')) as { files: string[]; electronFuses: { runAsNode: boolean } };
    for (const file of Object.values(LAB_BUNDLES)) assert.ok(config.files.includes(`dist/${file.split(sep).join('/')}`), `${file} is packaged`);
    assert.equal(config.electronFuses.runAsNode, false);
  });

  it('the bundles need nothing from the project beyond better-sqlite3 and the addon', () => {
    for (const file of Object.values(LAB_BUNDLES)) {
      const run = spawnSync(process.execPath, [join(distDir, file), '--help'], { cwd: app.path, encoding: 'utf8', env: { PATH: process.env.PATH ?? '' }, timeout: 30_000 });
      assert.equal(run.status, 0, run.stderr);
      assert.match(run.stdout, /--help/);
    }
  });

  it('a packaged console without a bundle launcher offers no lab; with one whose bundles are missing it says which', async () => {
    const missing = tempDir('vk-packaged-empty-');
    try {
      const reason = bundleLauncher(join(missing.path, 'dist')).unavailableReason();
      assert.match(reason ?? '', /vaultkeeper-node\.cjs.*vaultkeeper-coordinator\.cjs.*are missing/);
    } finally {
      missing.cleanup();
    }
    assert.equal(bundleLauncher(distDir).unavailableReason(), null);
  });

  it('starts the coordinator and both peers from the bundles with no tsx and no source tree, makes an EdDSA keyset and signs once', async () => {
    const status = await s.lab.start();
    pids = status.pids;
    assert.equal(status.running, true);
    assert.equal(pids.length, 3);
    const bundles = Object.values(LAB_BUNDLES).map((file) => join(distDir, file));
    for (const pid of pids) {
      const argv = procFile(pid, 'cmdline').split('\0').filter(Boolean);
      assert.equal(argv[0], process.execPath, 'plain Node');
      assert.ok(bundles.includes(argv[1]!), `runs a bundle: ${argv[1]}`);
      assert.ok(!argv.some((a) => /tsx|--import|--require|--loader/.test(a)), `no loader in ${argv.join(' ')}`);
      const env = procFile(pid, 'environ').split('\0');
      assert.ok(!env.some((e) => e.startsWith('NODE_OPTIONS=')), 'no NODE_OPTIONS');
      assert.ok(!env.some((e) => e.startsWith('NODE_PATH=') && e.includes(ROOT)), 'no NODE_PATH into the project');
      assert.ok(!env.some((e) => e.startsWith('VAULTKEEPER_NODE_PASSPHRASE=')), 'no passphrase in the environment');
      assert.equal(readlinkSync(`/proc/${pid}/cwd`), app.path, 'works from the app folder');
      // Nothing the child loaded (code, native libraries) comes from the project or its node_modules.
      const mapped = [...new Set(procFile(pid, 'maps').split('\n').map((line) => line.split(/\s+/).slice(5).join(' ')).filter((p) => p.startsWith(sep)))];
      const fromProject = mapped.filter((p) => p.startsWith(ROOT + sep) || p.startsWith(NODE_MODULES + sep));
      assert.deepEqual(fromProject, [], `pid ${pid} maps project files`);
    }
    s.cluster.openKeygenWindow(30);
    const keyset = await s.cluster.createKeyset('eddsa');
    assert.equal(keyset.lab, true);
    assert.equal(keyset.status, 'active');
    const signed = await s.cluster.keyCheck(keyset.keysetId);
    assert.equal(signed.parties.length, 2);
    const publicKey = Buffer.from(keyset.publicKey!, 'hex');
    assert.ok(ed25519.verify(Buffer.from(signed.signature, 'hex'), Buffer.from(signed.message, 'hex'), publicKey), 'the signature verifies under the keyset key');
    // The peers ran the key generation with the addon and the store binary the package ships.
    for (const pid of pids.slice(1)) {
      const mapped = procFile(pid, 'maps');
      assert.ok(mapped.includes(join(app.path, 'native', 'vaultkeeper_mpc.node')), 'the node loaded the shipped addon');
      assert.ok(mapped.includes(join(app.path, 'node_modules', 'better-sqlite3')), 'and the shipped better-sqlite3');
    }
  });

  it('the app as a signer node (`--signer-node`): the bundled node in the terminal, passphrase from a descriptor, Ctrl-C stops it', async () => {
    const capture = () => {
      const stream = new PassThrough();
      let text = '';
      stream.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
      return { stream, text: () => text };
    };
    assert.deepEqual(signerNodeArgs(['/opt/Vaultkeeper/vaultkeeper', '--signer-node', '--help']), ['--help']);
    assert.equal(signerNodeArgs(['/opt/Vaultkeeper/vaultkeeper']), null);
    // The children started are kept, so a node that does not stop on Ctrl-C is killed, not left behind.
    const bundles = bundleLauncher(distDir);
    const children: LabProcess[] = [];
    const launcher: LabLauncher = {
      unavailableReason: () => bundles.unavailableReason(),
      launch: (entry, args, passphrase) => {
        const child = bundles.launch(entry, args, passphrase);
        children.push(child);
        if (child.pid !== undefined) pids.push(child.pid);
        return child;
      },
    };

    const help = capture();
    const helpCode = await runSignerNode(launcher, ['--help'], { stdout: help.stream, stderr: help.stream, onStopSignal: () => undefined });
    assert.equal(helpCode, 0);
    assert.match(help.text(), /--guardians FILE/);

    const none = capture();
    assert.equal(await runSignerNode(launcher, ['--data', join(data.path, 'signer'), '--air-gapped'], { stdout: none.stream, stderr: none.stream, onStopSignal: () => undefined }), 2);
    assert.match(none.text(), /no vault passphrase: pass --passphrase-fd N/);

    const notNumber = capture();
    const startedBefore = children.length;
    const badFd = signerNodeArgs(['/opt/Vaultkeeper/vaultkeeper', '--signer-node', '--data', join(data.path, 'signer'), '--air-gapped', '--passphrase-fd', 'abc'])!;
    assert.equal(await runSignerNode(launcher, badFd, { stdout: notNumber.stream, stderr: notNumber.stream, onStopSignal: () => undefined, readDescriptor: () => assert.fail('no descriptor is read for "abc"') }), 2);
    assert.equal(notNumber.text(), 'vaultkeeper --signer-node: --passphrase-fd must be a file descriptor number, not "abc".\n');
    assert.equal(children.length, startedBefore, 'no node was started for a refused command line');

    const out = capture();
    let stop: () => void = () => undefined;
    const inbox = join(data.path, 'signer-inbox');
    mkdirSync(inbox);
    const running = runSignerNode(launcher, ['--data', join(data.path, 'signer'), '--init', '--kdf-test-cost', '--air-gapped', '--airgap-inbox', inbox, '--airgap-outbox', inbox, '--passphrase-fd', '9'], {
      stdout: out.stream,
      stderr: out.stream,
      readDescriptor: (fd) => {
        assert.equal(fd, 9, 'the descriptor is read here, not by the child');
        return Buffer.from(`${GOOD_PASSPHRASE}\n`);
      },
      onStopSignal: (s) => (stop = s),
    });
    for (let i = 0; i < 600 && !/READY air-gapped/.test(out.text()); i += 1) await new Promise((r) => setTimeout(r, 100));
    assert.match(out.text(), /NODE [0-9a-f]{32} /, out.text());
    stop();
    // Bounded: a node the signal never reached is killed and the test fails now, not at the file's timeout.
    const stopped = await Promise.race([running, new Promise<'still running'>((resolve) => setTimeout(() => resolve('still running'), 10_000).unref())]);
    if (stopped === 'still running') {
      for (const child of children) child.kill();
      assert.fail(`the signer node still ran 10 s after Ctrl-C: the signal was not passed on to it (killed now). Its output:\n${out.text()}`);
    }
    assert.equal(stopped, 0, out.text());
    assert.ok(existsSync(join(data.path, 'signer', 'node-card.json')), 'the node wrote its card in its own data folder');
  });

  it('after the lab stops, none of its processes is left', async () => {
    await s.lab.stop();
    for (const pid of pids) assert.ok(!existsSync(`/proc/${pid}/cmdline`) || procFile(pid, 'cmdline') === '', `pid ${pid} ended`);
    await assert.rejects(async () => s.lab.startPeer('lab-node-b'), (e: unknown) => e instanceof AppFailure && e.code === 'LAB_START_FAILED');
  });
});
