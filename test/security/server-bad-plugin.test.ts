/**
 * Issue 13: a bad plugin never takes the platform down. One invalid meterhub-plugin.json on METERHUB_PLUGIN_PATH
 * made `meterhub serve` exit 2 and `plugins list` fail, so no maker could sell. Now it is listed with its error
 * (state `invalid`), never loaded; the others serve; /v1/ready and the ops view of /v1/health say `degraded`
 * and name it.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../api/support.ts';
import { sellCard, startOpsServer, tempDir, type OpsServer } from '../ops/support.ts';

describe('issue 13: an invalid plugin is listed, not loaded, and nothing else stops', () => {
  let dir: string;
  let s: OpsServer;
  beforeAll(async () => {
    dir = tempDir('mh-badplug-');
    mkdirSync(join(dir, 'not-json'));
    writeFileSync(join(dir, 'not-json', 'meterhub-plugin.json'), '{ "id": "not-json", oops');
    mkdirSync(join(dir, 'half-made'));
    writeFileSync(
      join(dir, 'half-made', 'meterhub-plugin.json'),
      JSON.stringify({ id: 'half-made', cardTypes: ['4442'] }),
    );
    // No driver required for readiness here: only the invalid plugins make it degraded.
    s = await startOpsServer({ pluginPaths: [dir], startDrivers: false, requiredPlugins: [] });
  });
  afterAll(async () => {
    await s?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('the REST list shows both with state invalid and their error; the makers still sell', async () => {
    const list = await s.call('GET', '/v1/plugins', { token: s.tokens.ops });
    expect(list.status).toBe(200);
    const byId = new Map(list.body.plugins.map((p: { id: string }) => [p.id, p]));
    for (const id of ['not-json', 'half-made']) {
      expect(byId.get(id), id).toMatchObject({
        state: 'invalid',
        enabled: false,
        error: { code: 'PLUGIN_MANIFEST_INVALID' },
      });
    }
    expect((byId.get('half-made') as { error: { messageEn: string } }).error.messageEn).toMatch(
      /name|library|catalogues/,
    );
    expect(byId.get('kingcard')).toMatchObject({ state: 'enabled', enabled: true });
    expect(s.server.pluginHost.get('half-made')).toBeUndefined();
    await sellCard(s, 'kingcard');
  });

  it('ready and the ops view of health are degraded and name it; anonymous health only says degraded', async () => {
    const ready = await s.call('GET', '/v1/ready', { token: null });
    expect(ready.status).toBe(200);
    expect(ready.body.status).toBe('degraded');
    expect(ready.body.checks.plugins.ok).toBe(false);
    expect(ready.body.checks.plugins.invalid).toEqual(
      expect.arrayContaining([
        { id: 'not-json', code: 'PLUGIN_MANIFEST_INVALID' },
        { id: 'half-made', code: 'PLUGIN_MANIFEST_INVALID' },
      ]),
    );
    const health = await s.call('GET', '/v1/health', { token: s.tokens.ops });
    expect(health.body.status).toBe('degraded');
    expect(health.body.invalidPlugins.map((p: { id: string }) => p.id).sort()).toEqual(['half-made', 'not-json']);
    expect((await s.call('GET', '/v1/health', { token: null })).body).toEqual({
      status: 'degraded',
      version: expect.any(String),
    });
  });

  it('`meterhub plugins list` lists it with its error instead of failing', () => {
    const env: NodeJS.ProcessEnv = { ...process.env, METERHUB_PLUGIN_PATH: dir };
    delete env.DATABASE_URL;
    const out = spawnSync(
      process.execPath,
      [
        join(ROOT, 'bin', 'meterhub.mjs'),
        'plugins',
        'list',
        '--json',
        '--no-probe',
        '--data',
        tempDir('mh-badplug-cli-'),
      ],
      { encoding: 'utf8', env, timeout: 60_000 },
    );
    expect(out.status, out.stderr).toBe(0);
    const plugins = JSON.parse(out.stdout).plugins as Array<{ id: string; state: string; error?: { code: string } }>;
    expect(plugins.find((p) => p.id === 'half-made')).toMatchObject({
      state: 'invalid',
      error: { code: 'PLUGIN_MANIFEST_INVALID' },
    });
    expect(plugins.find((p) => p.id === 'kingcard')).toMatchObject({ state: 'enabled' });
    const text = spawnSync(
      process.execPath,
      [join(ROOT, 'bin', 'meterhub.mjs'), 'plugins', 'list', '--no-probe', '--data', tempDir('mh-badplug-cli-')],
      { encoding: 'utf8', env, timeout: 60_000 },
    );
    expect(text.stdout).toMatch(/half-made\s+清单无效 invalid\s+PLUGIN_MANIFEST_INVALID/);
  });

  it('the ops console transaction list shows the clerk and channel of a sale', async () => {
    const cardNo = `${Date.now() % 1e9}`;
    const headers = { 'x-meterhub-clerk': 'li.si', 'x-meterhub-channel': 'station' };
    const iss = await s.call('POST', '/v1/cards/issue', {
      token: s.tokens.counter,
      headers,
      body: { maker: 'kingcard', cardType: '4442', cardNo, gas: 0, meterKind: 1 },
    });
    expect(iss.status).toBe(201);
    const list = await s.call('GET', `/v1/ops/transactions?maker=kingcard&cardNo=${cardNo}`, { token: s.tokens.ops });
    expect(list.body.transactions[0]).toMatchObject({
      transactionId: iss.body.transactionId,
      clerk: 'li.si',
      channel: 'station',
    });
  });
});
