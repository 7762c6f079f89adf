// Builds the MPC signer addon (native/) with cargo and copies the library to a fixed
// path, native/vaultkeeper_mpc.node, which main/mpc loads.
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, readFileSync, renameSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const crateDir = join(root, 'native');
const target = join(crateDir, 'vaultkeeper_mpc.node');

const probe = spawnSync('cargo', ['--version'], { encoding: 'utf8' });
if (probe.error || probe.status !== 0) {
  console.error(
    'build-native: cargo was not found. Install the Rust toolchain (https://rustup.rs or your ' +
      "distribution's rustc/cargo packages) and run `npm run build:native` again.",
  );
  process.exit(1);
}

// GMP (big integers for the ECDSA engine) is compiled from the source bundled in the
// gmp-mpfr-sys crate; its configure step needs m4, make and a C compiler. Say so up front
// instead of failing deep inside the cargo output. Only a first build (or one after
// `cargo clean`) compiles GMP; later builds are incremental.
if (process.platform !== 'win32') {
  const missing = ['m4', 'make', 'cc'].filter((tool) => spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0);
  if (missing.length > 0) {
    console.error(
      `build-native: ${missing.join(', ')} not found; the GMP build needs m4, make and a C compiler ` +
        '(Debian/Ubuntu: apt-get install m4 make gcc).',
    );
    process.exit(1);
  }
}

// Two jobs by default: build machines here are small and shared.
const jobs = process.env.CARGO_BUILD_JOBS ?? '2';
// --locked: build exactly the audited Cargo.lock; a dependency that drifted fails the build instead.
const build = spawnSync('cargo', ['build', '--release', '--locked', '-j', jobs], { cwd: crateDir, stdio: 'inherit' });
if (build.status !== 0) {
  console.error(`build-native: cargo build failed (exit ${build.status ?? build.signal}).`);
  process.exit(build.status ?? 1);
}

const libName = {
  linux: 'libvaultkeeper_mpc.so',
  darwin: 'libvaultkeeper_mpc.dylib',
  win32: 'vaultkeeper_mpc.dll',
}[process.platform];
if (!libName) {
  console.error(`build-native: unsupported platform ${process.platform}.`);
  process.exit(1);
}
const built = join(crateDir, 'target', 'release', libName);
if (!existsSync(built)) {
  console.error(`build-native: expected ${built} after the build, but it is missing.`);
  process.exit(1);
}
// Copy only when the library changed, and through a temporary file and a rename, so that a
// process that has the previous addon loaded keeps a consistent file.
const same =
  existsSync(target) &&
  statSync(target).size === statSync(built).size &&
  readFileSync(target).equals(readFileSync(built));
if (same) {
  console.log(`build-native: ${target} is up to date`);
} else {
  const tmp = `${target}.${process.pid}.tmp`;
  copyFileSync(built, tmp);
  renameSync(tmp, target);
  console.log(`build-native: ${target}`);
}
