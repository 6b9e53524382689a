/** Plugin routes through fastify's app.inject against the real host and stand-in libraries. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPluginHost } from './plugin-host.ts';
import type { PluginHost } from './plugin-types.ts';
import { pluginRoutes } from './routes.ts';

const dataDir = mkdtempSync(join(tmpdir(), 'mh-routes-'));
let host: PluginHost;
const app = Fastify();

beforeAll(async () => {
  host = await createPluginHost({
    dataDir,
    bundledDir: resolve(import.meta.dirname, '../../plugins'),
    ignoreEnv: true,
  });
  await app.register(pluginRoutes, {
    host,
    authorizeWrite: async (req, reply) => {
      if (req.headers['x-role'] !== 'ops') return reply.code(403).send({ error: { code: 'FORBIDDEN' } });
    },
  });
});
afterAll(async () => {
  await app.close();
  await host.close();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('GET /v1/plugins and enable/disable', () => {
  it('lists the six makers with stand-in labels and library state', async () => {
    const r = await app.inject({ method: 'GET', url: '/v1/plugins' });
    expect(r.statusCode).toBe(200);
    const { plugins } = r.json();
    expect(plugins.map((p: { id: string }) => p.id)).toEqual([
      'chint',
      'kingcard',
      'lanbaoshi',
      'songchuan',
      'tancy',
      'zenner',
    ]);
    for (const p of plugins)
      expect(p).toMatchObject({
        enabled: true,
        standIn: true,
        libraryFound: true,
        library: 'stand-in library / 替身库',
      });
  });

  it('disables a maker so it is no longer asked, and enables it again', async () => {
    const card = await host.driver('lanbaoshi').writeNew('4442', { cardNo: '77', gas: 1, count: 1, meterKind: 1 });
    expect((await app.inject({ method: 'POST', url: '/v1/plugins/lanbaoshi/disable' })).statusCode).toBe(403);
    const off = await app.inject({
      method: 'POST',
      url: '/v1/plugins/lanbaoshi/disable',
      headers: { 'x-role': 'ops' },
    });
    expect(off.json()).toMatchObject({ id: 'lanbaoshi', enabled: false });
    await expect(host.identify('4442', card.data)).rejects.toMatchObject({ code: 'CARD_UNKNOWN' });
    expect(() => host.driver('lanbaoshi')).toThrow(expect.objectContaining({ code: 'PLUGIN_DISABLED' }));
    const on = await app.inject({ method: 'POST', url: '/v1/plugins/lanbaoshi/enable', headers: { 'x-role': 'ops' } });
    expect(on.json()).toMatchObject({ enabled: true });
    await expect(host.identify('4442', card.data)).resolves.toMatchObject({ maker: 'lanbaoshi' });
  });

  it('answers 404 for an unknown maker and 400 for a malformed id', async () => {
    const unknown = await app.inject({
      method: 'POST',
      url: '/v1/plugins/nosuch/enable',
      headers: { 'x-role': 'ops' },
    });
    expect(unknown.statusCode).toBe(404);
    const bad = await app.inject({ method: 'POST', url: '/v1/plugins/Bad!/enable', headers: { 'x-role': 'ops' } });
    expect(bad.statusCode).toBe(400);
  });
});
