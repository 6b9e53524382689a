/**
 * The console's server side on a real `meterhub serve` (no browser): the built app at /console with its
 * caching and CSP, and the ops routes (/v1/ops/*) — ops only, audited, stuck writes first, meter history
 * with exact volumes, conformance of the configured library run once and then served from cache.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fakeReading } from '../../core/readings/testing/fixtures.ts';
import { CONSOLE_CSP } from '../../core/server/console/static.ts';
import { buildConsole, makeTransactions, ROOT, startConsoleServer, type ConsoleServer } from './support.ts';

let s: ConsoleServer;

beforeAll(async () => {
  buildConsole();
  s = await startConsoleServer();
}, 120_000);
afterAll(async () => {
  await s?.close();
});

describe('the built console at /console', () => {
  it('serves index.html revalidated on every load, with the console CSP', async () => {
    const redirect = await fetch(`${s.server.url}/console`, { redirect: 'manual' });
    expect(redirect.status).toBe(302);
    expect(redirect.headers.get('location')).toBe('/console/');

    const r = await fetch(`${s.server.url}/console/`);
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toMatch(/^text\/html/);
    expect(r.headers.get('cache-control')).toBe('no-cache');
    expect(r.headers.get('content-security-policy')).toBe(CONSOLE_CSP);
    expect(CONSOLE_CSP).toContain("script-src 'self'");
    expect(CONSOLE_CSP).not.toMatch(/script-src[^;]*unsafe/);
    const html = await r.text();
    expect(html).toContain('<div id="root">');
    // Vite must not have emitted an inline script: only external module scripts under /console/assets/.
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    const etag = r.headers.get('etag');
    expect(etag).toBeTruthy();
    const again = await fetch(`${s.server.url}/console/`, { headers: { 'if-none-match': etag! } });
    expect(again.status).toBe(304);
  });

  it('serves hashed assets as immutable for a year, gzipped when the browser accepts it', async () => {
    const html = await (await fetch(`${s.server.url}/console/`)).text();
    const src = /src="(\/console\/assets\/[^"]+\.js)"/.exec(html)?.[1];
    expect(src).toBeTruthy();
    const plain = await fetch(s.server.url + src!, { headers: { 'accept-encoding': 'identity' } });
    expect(plain.status).toBe(200);
    expect(plain.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(plain.headers.get('content-type')).toMatch(/^text\/javascript/);
    expect(plain.headers.get('content-encoding')).toBeNull();
    const body = await plain.text();

    // The largest asset has a precompressed copy; fetch() decompresses it, so the text must be identical.
    const assets = readdirSync(join(ROOT, 'build', 'console', 'assets')).filter((f) => f.endsWith('.js.gz'));
    expect(assets.length).toBeGreaterThan(0);
    const gz = await fetch(s.server.url + src!, { headers: { 'accept-encoding': 'gzip' } });
    if (assets.includes(src!.split('/').pop() + '.gz')) {
      expect(gz.headers.get('content-encoding')).toBe('gzip');
      expect(gz.headers.get('vary')).toMatch(/accept-encoding/i);
    }
    expect(await gz.text()).toBe(body);
  });

  it('serves nothing outside the build and answers 404 for unknown files', async () => {
    for (const p of [
      '/console/..%2Fpackage.json',
      '/console/%2e%2e/%2e%2e/package.json',
      '/console/assets/nope.js',
      '/console/.build-stamp',
    ]) {
      const r = await fetch(s.server.url + p);
      expect(r.status, p).toBe(404);
      expect(await r.text()).not.toContain('"name": "meterhub"');
    }
  });
});

describe('ops routes', () => {
  it('are for the ops role only', async () => {
    for (const path of [
      '/v1/ops/transactions',
      '/v1/ops/gateway',
      '/v1/ops/meters',
      '/v1/ops/plugins/kingcard/conformance',
    ]) {
      expect((await s.call('GET', path, { token: null })).status, path).toBe(401);
      expect((await s.call('GET', path, { token: s.tokens.counter })).status, path).toBe(403);
      expect((await s.call('GET', path, { token: s.tokens.billing })).status, path).toBe(403);
      const ok = await s.call('GET', path);
      expect(ok.status, path).toBe(200);
      expect(ok.headers.get('cache-control')).toBe('no-store');
    }
  });

  it('list failed and unconfirmed writes first, each with the steps the ledger allows', async () => {
    const tx = await makeTransactions(s);
    const r = await s.call('GET', '/v1/ops/transactions');
    expect(r.status).toBe(200);
    const states = r.body.transactions.map((t: { state: string }) => t.state);
    const firstSettled = states.findIndex((x: string) => x !== 'FAILED' && x !== 'PREPARED');
    expect(states.slice(0, firstSettled).every((x: string) => x === 'FAILED' || x === 'PREPARED')).toBe(true);
    expect(states.slice(firstSettled).some((x: string) => x === 'FAILED' || x === 'PREPARED')).toBe(false);
    expect(states.indexOf('FAILED')).toBeLessThan(states.indexOf('PREPARED'));
    expect(r.body.attention).toBeGreaterThanOrEqual(2);

    const byId = new Map(r.body.transactions.map((t: any) => [t.transactionId, t]));
    const failed: any = byId.get(tx.failed);
    expect(failed).toMatchObject({
      state: 'FAILED',
      needsAttention: true,
      error: { code: 'WRITE_VERIFY_FAILED' },
      actor: { role: 'counter' },
    });
    expect(failed.nextSteps.map((n: any) => n.action).sort()).toEqual(['confirm', 'reverse', 'rewrite']);
    expect((byId.get(tx.prepared) as any).nextSteps.map((n: any) => n.action).sort()).toEqual([
      'confirm',
      'reverse',
      'rewrite',
    ]);
    expect(byId.get(tx.confirmed)).toMatchObject({ state: 'CONFIRMED', needsAttention: false, nextSteps: [] });
    // Card data and keys never appear in the ops list.
    expect(JSON.stringify(r.body)).not.toMatch(/"data"|oldKey|newKey|keys_enc/);

    const one = await s.call('GET', `/v1/ops/transactions?cardNo=${tx.cardNos[1]}&maker=kingcard`);
    expect(one.body.transactions.map((t: any) => t.transactionId)).toEqual([tx.prepared]);
    const onlyFailed = await s.call('GET', '/v1/ops/transactions?state=FAILED');
    expect(onlyFailed.body.transactions.length).toBeGreaterThan(0);
    expect(onlyFailed.body.transactions.every((t: any) => t.state === 'FAILED')).toBe(true);
    const bad = await s.call('GET', '/v1/ops/transactions?state=LOST');
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('BAD_INPUT');

    // Rewrite through the audited domain route: the old row points to its replacement, which is the next to confirm.
    const rw = await s.call('POST', `/v1/transactions/${tx.failed}/rewrite`, { idem: `rw-${tx.failed}` });
    expect(rw.status).toBe(201);
    const after = await s.call('GET', `/v1/ops/transactions?cardNo=${tx.cardNos[2]}`);
    const old = after.body.transactions.find((t: any) => t.transactionId === tx.failed);
    expect(old.state).toBe('REWRITTEN');
    expect(old.nextSteps).toEqual([
      { action: 'confirm-rewrite', where: 'station', transactionId: rw.body.transactionId },
    ]);
    expect(after.body.transactions[0]).toMatchObject({
      transactionId: rw.body.transactionId,
      state: 'PREPARED',
      operation: 'rewrite',
      refId: tx.failed,
    });

    // Every ops call is in the audit log with who made it.
    await s.server.app.meterhub.audit.flush();
    const audit = await s.server.database.db
      .selectFrom('audit_log')
      .selectAll()
      .where('path', '=', '/v1/ops/transactions')
      .where('actor', '=', 'console-ops')
      .execute();
    expect(audit.length).toBeGreaterThanOrEqual(3);
  });

  it('says plainly when no gateway runs in this process, and still shows the billing sinks', async () => {
    const r = await s.call('GET', '/v1/ops/gateway');
    expect(r.status).toBe(200);
    expect(r.body.inProcess).toBe(false);
    expect(r.body.message.zh).toMatch(/未运行网关/);
    expect(r.body.message.en).toMatch(/No gateway in this process/);
    expect(r.body.sinks.map((x: any) => x.sink)).toContain('rest');
  });

  it('gives one meter’s history oldest first with the volumes exactly as stored', async () => {
    const meter = '30000000009901';
    const readings = Array.from({ length: 6 }, (_, i) =>
      fakeReading(i, { meterId: meter, cumulative: `${(1000 + i * 1.25).toFixed(2)}`, source: 'serial' }),
    );
    // Submitted out of order: the chart is ordered by the meter's own time.
    const res = await s.server.readings.submit([...readings].reverse());
    expect(res.inserted.length).toBe(6);
    const list = await s.call('GET', '/v1/ops/meters');
    expect(list.body.meters.find((m: any) => m.meterId === meter)).toMatchObject({ readings: 6, maker: 'chint' });
    const h = await s.call('GET', `/v1/ops/meters/${meter}/readings`);
    expect(h.status).toBe(200);
    expect(h.body.readings.map((p: any) => p.cumulative)).toEqual([
      '1000.00',
      '1001.25',
      '1002.50',
      '1003.75',
      '1005.00',
      '1006.25',
    ]);
    expect(h.body.readings.map((p: any) => p.meterTime)).toEqual(readings.map((x) => x.meterTime));
    const last2 = await s.call('GET', `/v1/ops/meters/${meter}/readings?limit=2`);
    expect(last2.body.readings.map((p: any) => p.cumulative)).toEqual(['1005.00', '1006.25']);
    expect((await s.call('GET', '/v1/ops/meters/not-hex/readings')).status).toBe(400);
  });

  it('runs the conformance kit on the configured library once, then serves the result from cache', async () => {
    const before = await s.call('GET', '/v1/ops/plugins/kingcard/conformance');
    expect(before.body).toMatchObject({ plugin: 'kingcard', running: false, result: null });
    const run = await s.call('POST', '/v1/ops/plugins/kingcard/conformance');
    expect(run.status).toBe(200);
    expect(run.body.result).toMatchObject({
      plugin: 'kingcard',
      standIn: true,
      report: { passed: true, coreConformant: true },
    });
    expect(run.body.result.library).toMatch(/libgascard_kingcard/);
    expect(run.body.result.report.cardTypes).toEqual(['4442', '102']);
    // The other makers' libraries were checked: none of their cards is claimed.
    const peers = run.body.result.report.checks.filter((c: any) => /\.check\.other\./.test(c.id));
    expect(peers.length).toBeGreaterThan(0);
    expect(peers.every((c: any) => c.status === 'pass')).toBe(true);
    const cached = await s.call('GET', '/v1/ops/plugins/kingcard/conformance');
    expect(cached.body.result.finishedAt).toBe(run.body.result.finishedAt);
    expect((await s.call('GET', '/v1/ops/plugins/nosuchmaker/conformance')).status).toBe(404);
    const badPort = await s.call('POST', '/v1/ops/plugins/kingcard/conformance', { body: { com: 300 } });
    expect(badPort.status).toBe(400);
  }, 60_000);
});
