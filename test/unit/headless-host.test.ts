import assert from 'node:assert/strict';
import { request } from 'node:http';
import { describe, it } from 'node:test';
import { CONTENT_SECURITY_POLICY } from '../../main/platform/content-security-policy';
import { IPC_PATH_PREFIX, isLoopbackHost, NonLoopbackBindError, SESSION_COOKIE, startHeadlessHost } from '../../main/host/headless-host';
import { BRIDGE_FILE, RENDERER_DIR } from '../../main/host/paths';
import { chromiumAvailable, launchChromium } from '../support/browser';
import { rendererBuilt, startTestHost } from '../support/host';

function call(url: string, options: { method?: string; headers?: Record<string, string>; body?: string } = {}) {
  return new Promise<{ status: number; headers: Record<string, unknown>; body: string }>((resolve, reject) => {
    const req = request(url, { method: options.method ?? 'GET', headers: options.headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

describe('headless host', { skip: !rendererBuilt() && 'renderer not built' }, () => {
  it('refuses to bind anything but loopback', async () => {
    assert.ok(isLoopbackHost('127.0.0.1') && isLoopbackHost('::1') && isLoopbackHost('127.0.0.5'));
    for (const host of ['0.0.0.0', '::', '192.168.1.10', '10.0.0.1', 'example.com']) {
      assert.equal(isLoopbackHost(host), false, host);
      await assert.rejects(
        startHeadlessHost({ router: undefined as never, rendererDir: RENDERER_DIR, bridgeFile: BRIDGE_FILE, host }),
        NonLoopbackBindError,
      );
    }
  });

  it('exchanges the one-time token for an HttpOnly SameSite=Strict cookie; a second load with it is refused', async () => {
    const h = await startTestHost();
    try {
      const first = await call(h.host.url);
      assert.equal(first.status, 200);
      assert.equal(first.headers['content-security-policy'], CONTENT_SECURITY_POLICY);
      const token = new URL(h.host.url).searchParams.get('token')!;
      assert.ok(!first.body.includes(token), 'the page does not carry the token');
      const setCookie = (first.headers['set-cookie'] as string[] | undefined)?.[0] ?? '';
      assert.match(setCookie, new RegExp(`^${SESSION_COOKIE}=[A-Za-z0-9_-]{43}; HttpOnly; SameSite=Strict; Path=/$`));
      const cookie = setCookie.split(';')[0]!;

      const reused = await call(h.host.url, { headers: { cookie } });
      assert.equal(reused.status, 403, 'the same token a second time');
      assert.match(reused.body, /already opened once/);
      assert.equal((await call(h.host.url)).status, 403, 'the same token from another browser');
      assert.equal((await call(`${h.host.origin}/?token=${'A'.repeat(32)}`)).status, 403, 'a made-up token');

      assert.equal((await call(`${h.host.origin}/`, { headers: { cookie } })).status, 200, 'reload with the cookie');
      assert.equal((await call(`${h.host.origin}/`)).status, 403, 'no cookie');
      assert.equal((await call(`${h.host.origin}/`, { headers: { cookie: `${SESSION_COOKIE}=${'x'.repeat(43)}` } })).status, 403, 'forged cookie');
      assert.equal((await call(`${h.host.origin}/__host/web-bridge.js`)).status, 403, 'bridge without the cookie');
      assert.equal((await call(`${h.host.origin}/__host/web-bridge.js`, { headers: { cookie } })).status, 200);
      assert.equal((await call(`${h.host.origin}/%2e%2e/%2e%2e/package.json`, { headers: { cookie } })).status, 404);

      const second = await call(h.host.newAccessUrl());
      assert.equal(second.status, 200, 'a fresh one-time address opens a second session');
      assert.notEqual((second.headers['set-cookie'] as string[])[0]!.split(';')[0], cookie);
    } finally {
      await h.stop();
    }
  });

  it('answers IPC only with the session cookie, from its own origin and Host', async () => {
    const h = await startTestHost();
    try {
      const first = await call(h.host.url);
      const cookie = (first.headers['set-cookie'] as string[])[0]!.split(';')[0]!;
      const page = { cookie, origin: h.host.origin };
      const url = `${h.host.origin}${IPC_PATH_PREFIX}vault.status`;
      const code = (r: { body: string }) => (JSON.parse(r.body) as { ok: boolean; error?: { code: string } }).error?.code ?? 'OK';
      assert.equal(code(await call(url, { method: 'POST', headers: { ...page, 'content-type': 'application/json' }, body: '{}' })), 'OK');
      assert.equal(code(await call(url, { method: 'POST', headers: { origin: h.host.origin }, body: '{}' })), 'FORBIDDEN_SENDER', 'missing cookie');
      assert.equal(code(await call(url, { method: 'POST', headers: { origin: h.host.origin, cookie: `${SESSION_COOKIE}=forged` }, body: '{}' })), 'FORBIDDEN_SENDER', 'forged cookie');
      const otherPort = h.host.origin.replace(/:(\d+)$/, (_m, p: string) => `:${Number(p) === 65535 ? 1 : Number(p) + 1}`);
      assert.equal(code(await call(url, { method: 'POST', headers: { cookie, origin: otherPort }, body: '{}' })), 'FORBIDDEN_SENDER', 'another loopback origin (same site, so it carries the cookie)');
      assert.equal(code(await call(url, { method: 'POST', headers: { cookie, origin: 'http://evil.example' }, body: '{}' })), 'FORBIDDEN_SENDER', 'foreign origin');
      assert.equal(code(await call(url, { method: 'POST', headers: { cookie }, body: '{}' })), 'FORBIDDEN_SENDER', 'no Origin header');
      const rebound = await call(url, { method: 'POST', headers: { ...page, host: 'attacker.example:80' }, body: '{}' });
      assert.equal(rebound.status, 421);
      assert.equal(code(await call(url, { method: 'POST', headers: page, body: '{oops' })), 'VALIDATION_FAILED');
      assert.equal(code(await call(`${h.host.origin}${IPC_PATH_PREFIX}vault.unlock`, { method: 'POST', headers: page, body: JSON.stringify({ passphrase: 'x'.repeat(300_000) }) })), 'PAYLOAD_TOO_LARGE');
      assert.equal(code(await call(`${h.host.origin}${IPC_PATH_PREFIX}vault.wipe`, { method: 'POST', headers: page, body: '{}' })), 'UNKNOWN_CHANNEL');
      assert.equal(h.services.vault.status().state, 'uninitialized');
    } finally {
      await h.stop();
    }
  });

  it('in a browser: the token leaves the address bar, the cookie is out of the page\'s reach, a second profile is refused', { skip: !chromiumAvailable() && 'chromium not installed' }, async () => {
    const h = await startTestHost();
    const browser = await launchChromium();
    try {
      const context = await browser.newContext();
      const page = await context.newPage();
      await page.goto(h.host.url);
      await page.getByRole('heading', { name: 'Create the vault' }).waitFor();
      assert.equal(page.url(), `${h.host.origin}/`, 'history.replaceState removed the token');
      assert.equal(await page.evaluate(() => document.cookie), '', 'HttpOnly: the page cannot read the cookie');
      const [cookie] = await context.cookies();
      assert.equal(cookie?.name, SESSION_COOKIE);
      assert.equal(cookie?.httpOnly, true);
      assert.equal(cookie?.sameSite, 'Strict');
      assert.equal(cookie?.domain, '127.0.0.1');
      assert.equal(cookie?.expires, -1, 'a session cookie');
      const status = await page.evaluate(async () => (await (window as unknown as { vaultkeeper: { vault: { status(r: object): Promise<{ ok: boolean }> } } }).vaultkeeper.vault.status({})).ok);
      assert.equal(status, true, 'the bridge reaches IPC with the cookie');
      await page.reload();
      await page.getByRole('heading', { name: 'Create the vault' }).waitFor();

      const other = await browser.newPage();
      const refused = await other.goto(h.host.url);
      assert.equal(refused?.status(), 403);
    } finally {
      await browser.close();
      await h.stop();
    }
  });
});
