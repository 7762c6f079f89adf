/**
 * Import rules between runtimes: the renderer is a sandboxed page that reaches main only through
 * the contract API, so it may import nothing from main/, no Node built-in, and from preload/ only
 * types. Main never imports the renderer.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, it } from 'node:test';

const ROOT = process.cwd();

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(join(ROOT, dir))) {
    const path = join(dir, name);
    if (statSync(join(ROOT, path)).isDirectory()) out.push(...sourceFiles(path));
    else if (/\.(ts|tsx)$/.test(name) && !name.endsWith('.d.ts')) out.push(path);
  }
  return out;
}

interface ImportSite {
  file: string;
  specifier: string;
  typeOnly: boolean;
}

export function importsOf(file: string, source = readFileSync(join(ROOT, file), 'utf8')): ImportSite[] {
  const sites: ImportSite[] = [];
  const pattern = /^\s*(import|export)\s+(type\s+)?[^'";]*?from\s+['"]([^'"]+)['"]|^\s*import\s+['"]([^'"]+)['"]|require\(\s*['"]([^'"]+)['"]\s*\)|import\(\s*['"]([^'"]+)['"]\s*\)/gm;
  for (const match of source.matchAll(pattern)) {
    const specifier = match[3] ?? match[4] ?? match[5] ?? match[6]!;
    sites.push({ file, specifier, typeOnly: Boolean(match[2]) });
  }
  return sites;
}

function rendererViolations(site: ImportSite): string | null {
  const { specifier } = site;
  if (specifier.startsWith('node:') || ['fs', 'path', 'child_process', 'electron', 'better-sqlite3'].includes(specifier)) return 'Node or Electron module';
  if (/(^|\/)main\//.test(specifier)) return 'imports main/';
  // The shared contract (types, channel list, enums) is the one preload module a page may use.
  if (/(^|\/)preload\//.test(specifier) && !/(^|\/)preload\/contract$/.test(specifier) && !site.typeOnly) return 'value import from a preload bridge';
  return null;
}

describe('layer boundaries', () => {
  it('the rule catches what it should', () => {
    const bad = importsOf('renderer/x.ts', [
      "import { readFileSync } from 'node:fs';",
      "import { VaultService } from '../../main/vault/vault-service';",
      "import { ipc } from '../../preload/electron-bridge';",
      "const x = require('electron');",
    ].join('\n'));
    assert.equal(bad.filter((s) => rendererViolations(s)).length, 4);
    const good = importsOf('renderer/y.ts', "import type { Result } from '../../preload/contract';\nimport { create } from 'zustand';");
    assert.equal(good.filter((s) => rendererViolations(s)).length, 0);
  });

  it('the renderer imports nothing from main/, no Node built-ins, and from preload/ only the contract', () => {
    // vite.config.ts is build tooling that runs in Node, not part of the page.
    const files = sourceFiles('renderer').filter((f) => !f.endsWith('vite.config.ts'));
    assert.ok(files.length > 5, 'renderer sources found');
    const violations = files.flatMap((f) => importsOf(f)).map((s) => ({ s, why: rendererViolations(s) })).filter((v) => v.why);
    assert.deepEqual(violations.map((v) => `${v.s.file}: ${v.s.specifier} (${v.why})`), []);
  });

  it('main/ never imports the renderer', () => {
    const offenders = sourceFiles('main').flatMap((f) => importsOf(f)).filter((s) => /(^|\/)renderer\//.test(s.specifier));
    assert.deepEqual(offenders.map((s) => `${relative(ROOT, s.file)}: ${s.specifier}`), []);
  });

  it('the browser bridge imports only the contract', () => {
    assert.deepEqual(importsOf('preload/web-bridge.ts').map((s) => s.specifier), ['./contract']);
  });
});
