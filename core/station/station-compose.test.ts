/**
 * The station's graph is built in one place (startStation), and a test replaces one part by handing it in instead
 * of patching modules (issue 15), as core/server/server-compose.test.ts does for the server. Here the central-server
 * client is a recording stand-in: the station's sale goes to it, and never to the `server` URL it was started with.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createPluginHost } from '../plugins/plugin-host.ts';
import { CentralClient, type CallOptions } from './central-client.ts';
import { createStationLogger, startStation, type RunningStation } from './station.ts';
import { createPairing } from './station-pairing.ts';

/** Records every call and answers none: the flow stops at its first call to the server. */
class RecordingCentral extends CentralClient {
  readonly calls: string[] = [];
  override async call<T>(method: string, path: string, _o?: CallOptions): Promise<T> {
    this.calls.push(`${method} ${path}`);
    throw new Error('the recording central client answers nothing');
  }
}

describe('startStation is the composition root', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mh-station-compose-'));
  let station: RunningStation | undefined;
  afterAll(async () => {
    await station?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('uses the central client and plugin host it is given', async () => {
    const { key } = createPairing(dir, 'compose-test');
    const central = new RecordingCentral({ url: 'http://central.invalid', token: 'counter-token' });
    const pluginHost = await createPluginHost({ bundledDir: null, ignoreEnv: true, dataDir: dir });
    station = await startStation({
      // Nothing listens here: were this URL used, the sale would fail as unreachable without reaching `central`.
      server: 'http://127.0.0.1:1',
      token: 'counter-token',
      reader: 'sim',
      port: 0,
      dataDir: dir,
      logger: createStationLogger({ level: 'silent' }),
      parts: { central, pluginHost },
    });
    expect(station.pluginHost).toBe(pluginHost);

    const call = async (method: string, path: string, body?: unknown) => {
      const res = await fetch(station!.url + path, {
        method,
        headers: {
          authorization: `Bearer ${key}`,
          'x-meterhub-clerk': 'clerk-0107',
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
      return { status: res.status, body: (await res.json()) as Record<string, any> };
    };

    const health = await call('GET', '/v1/station/health');
    expect(health.body.server).toBe('http://central.invalid');
    // The given host has no plugins; the one startStation builds would list the bundled CPU-card plugins.
    expect(health.body.plugins).toEqual([]);

    expect((await call('POST', '/v1/station/sim/insert', { cardType: '4442' })).status).toBe(200);
    const sale = await call('POST', '/v1/station/issue', { maker: 'kingcard', cardNo: '00000001', gas: 4 });
    expect(sale.status).toBeGreaterThanOrEqual(400);
    expect(central.calls).toEqual(['POST /v1/cards/issue']);
  });
});
