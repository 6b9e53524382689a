/**
 * GET /v1/ready on the real serve path: 503 with the failed check named while a required driver's library
 * is missing or the database is closed, 200 once the database answers and every required driver is up.
 * GET /v1/health keeps its liveness answer.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { faultPlugin, removeDir } from '../api/support.ts';
import { startOpsServer, type OpsServer } from './support.ts';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function start(o: Parameters<typeof startOpsServer>[0]): Promise<OpsServer> {
  const s = await startOpsServer(o);
  cleanups.push(() => s.close());
  return s;
}

/** Polls until the probe answers `status` (drivers start on the first probe). */
async function readyStatus(s: OpsServer, status: number, timeoutMs = 20_000) {
  const end = Date.now() + timeoutMs;
  let r = await s.call('GET', '/v1/ready', { token: null });
  while (r.status !== status && Date.now() < end) {
    await new Promise((res) => setTimeout(res, 100));
    r = await s.call('GET', '/v1/ready', { token: null });
  }
  return r;
}

describe('GET /v1/ready', () => {
  it("serve starts every enabled plugin's driver host at start, before any probe or card call", async () => {
    const s = await start({});
    const expected = s.server.pluginHost.list().filter((p) => p.enabled && p.libraryFound);
    expect(expected.map((p) => p.id)).toEqual(expect.arrayContaining(['kingcard', 'chint']));
    // Created with the server: none of these waits for its first sale.
    for (const p of expected) expect(p.driver, p.id).toBeDefined();
    const end = Date.now() + 30_000;
    const notReady = () =>
      s.server.pluginHost
        .list()
        .filter((p) => p.enabled && p.libraryFound && p.driver?.state !== 'ready')
        .map((p) => p.id);
    while (notReady().length > 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
    expect(notReady()).toEqual([]);
  }, 60_000);

  it('by default requires every enabled plugin with a library; without startDrivers the probe starts them and turns 200 once they are up', async () => {
    const s = await start({ startDrivers: false });
    const first = await s.call('GET', '/v1/ready', { token: null });
    // Nothing has used a driver yet: the probe starts them and says so.
    expect(first.status).toBe(503);
    expect(first.body.checks.drivers.requiredBy).toBe('default');
    expect(first.body.checks.drivers.required).toEqual(expect.arrayContaining(['kingcard', 'chint']));
    expect(first.body.checks.drivers.plugins.find((p: { plugin: string }) => p.plugin === 'kingcard')).toMatchObject({
      ok: false,
      reason: 'starting',
    });
    const r = await readyStatus(s, 200);
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({
      status: 'ready',
      checks: { database: { ok: true, dialect: 'sqlite' }, drivers: { ok: true } },
    });
    expect(r.headers.get('cache-control')).toBe('no-store');
    expect(r.headers.get('x-request-id')).toBeTruthy();
  }, 60_000);

  it('503 naming the plugin while a required driver library is missing; the rest of the server still serves', async () => {
    const dir = faultPlugin('segv', 'needed-maker');
    cleanups.push(() => removeDir(dir));
    const s = await start({ pluginPaths: [dir], requiredPlugins: ['kingcard', 'needed-maker'] });
    await s.server.pluginHost.enable('needed-maker');
    const ok = await readyStatus(s, 200);
    expect(ok.status).toBe(200);
    expect(ok.body.checks.drivers).toMatchObject({ requiredBy: 'config', required: ['kingcard', 'needed-maker'] });

    // Ops lose the library file (a bad deploy, a deleted DLL).
    rmSync(join(dir, 'needed-maker', 'lib'), { recursive: true, force: true });
    const r = await s.call('GET', '/v1/ready', { token: null });
    expect(r.status).toBe(503);
    expect(r.body.status).toBe('not-ready');
    expect(r.body.checks.database.ok).toBe(true);
    expect(r.body.checks.drivers.ok).toBe(false);
    expect(r.body.checks.drivers.plugins).toEqual([
      expect.objectContaining({ plugin: 'kingcard', ok: true }),
      expect.objectContaining({ plugin: 'needed-maker', ok: false, reason: 'library-missing' }),
    ]);
    // Liveness: 200, degraded; anonymous callers see only that, ops see which plugin.
    const anon = await s.call('GET', '/v1/health', { token: null });
    expect(anon.status).toBe(200);
    expect(anon.body).toEqual({ status: 'degraded', version: expect.any(String) });
    const h = await s.call('GET', '/v1/health', { token: s.tokens.ops });
    expect(h.status).toBe(200);
    expect(h.body).toMatchObject({ status: 'degraded', database: { ok: true } });
    expect(h.body.plugins.find((p: { id: string }) => p.id === 'needed-maker')).toMatchObject({
      enabled: true,
      libraryFound: false,
    });
  }, 60_000);

  it('503 for a required plugin that is disabled or not installed', async () => {
    const s = await start({ requiredPlugins: ['kingcard', 'no-such-maker'] });
    await s.server.pluginHost.disable('kingcard');
    const r = await s.call('GET', '/v1/ready', { token: null });
    expect(r.status).toBe(503);
    expect(r.body.checks.drivers.plugins).toEqual([
      expect.objectContaining({ plugin: 'kingcard', ok: false, reason: 'disabled' }),
      expect.objectContaining({ plugin: 'no-such-maker', ok: false, reason: 'not-installed' }),
    ]);
  }, 60_000);

  it('503 while the database is closed, with no driver required', async () => {
    const s = await start({ requiredPlugins: [] });
    expect((await s.call('GET', '/v1/ready', { token: null })).status).toBe(200);
    await s.server.database.close();
    const r = await s.call('GET', '/v1/ready', { token: null });
    expect(r.status).toBe(503);
    expect(r.body.checks.database.ok).toBe(false);
    expect(r.body.checks.drivers).toMatchObject({ ok: true, required: [] });
    // The liveness probe reports the database too (unchanged behaviour).
    const h = await s.call('GET', '/v1/health', { token: null });
    expect(h.status).toBe(503);
    expect(h.body.status).toBe('down');
  }, 60_000);

  it('METERHUB_REQUIRED_PLUGINS: a list, or none', async () => {
    const { parseRequiredPlugins } = await import('../../core/ops/readiness.ts');
    expect(parseRequiredPlugins(undefined)).toBeUndefined();
    expect(parseRequiredPlugins('none')).toEqual([]);
    expect(parseRequiredPlugins(' kingcard, chint ,kingcard')).toEqual(['kingcard', 'chint']);
  });
});
