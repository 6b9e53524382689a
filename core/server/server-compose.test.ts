/**
 * The server's graph is built in one place (startServer) from a validated configuration, and a test replaces
 * one part by handing it in, instead of patching modules (issue 15). Here: a key vault held in memory and a
 * plugin host with no plugins replace the ones startServer would build.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { loadServerConfig } from '../config/load-config.ts';
import { KeyVault } from '../ledger/key-vault.ts';
import { createPluginHost } from '../plugins/plugin-host.ts';
import { startServer, type RunningServer } from './server.ts';

describe('startServer is the composition root', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mh-compose-'));
  let server: RunningServer | undefined;
  afterAll(async () => {
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('uses the parts it is given and the configuration it is passed', async () => {
    const lines: Array<Record<string, unknown>> = [];
    const sink = new Writable({
      write(c, _e, cb) {
        for (const l of String(c).split('\n').filter(Boolean)) lines.push(JSON.parse(l));
        cb();
      },
    });
    const vault = KeyVault.random();
    const pluginHost = await createPluginHost({ bundledDir: null, ignoreEnv: true, dataDir: dir });
    // The configuration, not the environment, decides: port 0 and no bootstrap token come from it.
    const config = loadServerConfig({
      flags: { port: '0', host: '127.0.0.1', data: dir, bootstrapToken: false },
      env: {},
    });
    server = await startServer({
      config,
      parts: { vault, pluginHost },
      logger: pino({ level: 'info' }, sink),
      metrics: false,
      startDrivers: false,
    });

    expect(server.pluginHost).toBe(pluginHost);
    const loaded = lines.filter((l) => l.msg === 'ledger key loaded');
    expect(loaded).toHaveLength(1);
    expect(loaded[0]).toMatchObject({ keyId: vault.keyId, source: 'memory' });
    // The vault startServer would have built writes <data>/ledger.key on first start; the given one does not.
    expect(existsSync(join(dir, 'ledger.key'))).toBe(false);
    expect(server.url).not.toMatch(/:8080$/);
  });
});
