import assert from 'node:assert/strict';
import { request } from 'node:http';
import { describe, it } from 'node:test';
import { CONTENT_SECURITY_POLICY } from '../../main/platform/content-security-policy';
import { IPC_PATH_PREFIX, isLoopbackHost, NonLoopbackBindError, startHeadlessHost, TOKEN_HEADER } from '../../main/host/headless-host';
import { BRIDGE_FILE, RENDERER_DIR } from '../../main/host/paths';
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

  it('serves the page only with the run token, always with the CSP', async () => {
    const h = await startTestHost();
    try {
      const withToken = await call(h.host.url);
      assert.equal(withToken.status, 200);
      assert.equal(withToken.headers['content-security-policy'], CONTENT_SECURITY_POLICY);
      assert.ok(withToken.body.includes(h.host.token));
      const without = await call(`${h.host.origin}/`);
      assert.equal(without.status, 403);
      assert.ok(!without.body.includes(h.host.token));
      assert.equal((await call(`${h.host.origin}/%2e%2e/%2e%2e/package.json`)).status, 404);
    } finally {
      await h.stop();
    }
  });

  it('answers IPC only with the token, from its own origin and Host', async () => {
    const h = await startTestHost();
    try {
      const url = `${h.host.origin}${IPC_PATH_PREFIX}vault.status`;
      const good = await call(url, { method: 'POST', headers: { [TOKEN_HEADER]: h.host.token, 'content-type': 'application/json' }, body: '{}' });
      assert.equal(JSON.parse(good.body).ok, true);
      const noToken = await call(url, { method: 'POST', body: '{}' });
      assert.equal(JSON.parse(noToken.body).error.code, 'FORBIDDEN_SENDER');
      const foreignOrigin = await call(url, { method: 'POST', headers: { [TOKEN_HEADER]: h.host.token, origin: 'http://evil.example' }, body: '{}' });
      assert.equal(JSON.parse(foreignOrigin.body).error.code, 'FORBIDDEN_SENDER');
      const rebound = await call(url, { method: 'POST', headers: { [TOKEN_HEADER]: h.host.token, host: 'attacker.example:80' }, body: '{}' });
      assert.equal(rebound.status, 421);
      const notJson = await call(url, { method: 'POST', headers: { [TOKEN_HEADER]: h.host.token }, body: '{oops' });
      assert.equal(JSON.parse(notJson.body).error.code, 'VALIDATION_FAILED');
      const huge = await call(`${h.host.origin}${IPC_PATH_PREFIX}vault.unlock`, { method: 'POST', headers: { [TOKEN_HEADER]: h.host.token }, body: JSON.stringify({ passphrase: 'x'.repeat(300_000) }) });
      assert.equal(JSON.parse(huge.body).error.code, 'PAYLOAD_TOO_LARGE');
      const unknown = await call(`${h.host.origin}${IPC_PATH_PREFIX}vault.wipe`, { method: 'POST', headers: { [TOKEN_HEADER]: h.host.token }, body: '{}' });
      assert.equal(JSON.parse(unknown.body).error.code, 'UNKNOWN_CHANNEL');
      assert.equal(h.services.vault.status().state, 'uninitialized');
    } finally {
      await h.stop();
    }
  });
});
