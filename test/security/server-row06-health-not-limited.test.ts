/**
 * Issue 13 #6: /v1/health and /v1/ready shared the anonymous per-address bucket, so 620 anonymous calls made
 * /v1/ready answer 429 for a minute — behind nginx one client could get the instance dropped by its load
 * balancer. Probes are never limited now; behind a proxy, `trustProxy` makes the limit per real client.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, startTestServer, type TestServer } from '../api/support.ts';

describe('issue 13 #6: health and readiness are never rate-limited', () => {
  let s: TestServer;
  beforeAll(async () => {
    // No driver required: /v1/ready is 503 by design until required drivers are up, which is not this test.
    s = await startTestServer({
      rateLimit: { max: 3, timeWindow: 60_000, anonymousMax: 3 },
      config: { trustProxy: '127.0.0.1', requiredPlugins: [] },
    });
  });
  afterAll(async () => s?.close());

  it('anonymous callers exhaust their bucket; the probes still answer', async () => {
    const makers: number[] = [];
    for (let i = 0; i < 5; i++) makers.push((await s.call('GET', '/v1/makers', { token: null })).status);
    expect(makers.slice(3)).toEqual([429, 429]);
    for (let i = 0; i < 12; i++) {
      expect((await s.call('GET', '/v1/health', { token: null })).status).toBe(200);
      expect((await s.call('GET', '/v1/ready', { token: null })).status).toBe(200);
    }
  });

  it('behind a trusted proxy each client has its own bucket (X-Forwarded-For)', async () => {
    const from = (ip: string) => s.call('GET', '/v1/makers', { token: null, headers: { 'x-forwarded-for': ip } });
    for (let i = 0; i < 3; i++) expect((await from('198.51.100.7')).status).toBe(401);
    expect((await from('198.51.100.7')).status).toBe(429);
    expect((await from('198.51.100.8')).status).toBe(401);
  });

  it('the nginx deployment documents trustProxy', () => {
    const doc = readFileSync(join(ROOT, 'docs', 'deploy', 'central-server-linux.md'), 'utf8');
    expect(doc).toMatch(/METERHUB_TRUST_PROXY=127\.0\.0\.1/);
    expect(readFileSync(join(ROOT, 'docs', 'deploy', 'nginx-meterhub.conf'), 'utf8')).toMatch(/X-Forwarded-For/i);
  });
});
