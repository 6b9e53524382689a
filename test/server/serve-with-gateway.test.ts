/**
 * `meterhub serve` runs the remote-read gateway on its own database: meters publish over the real Mosquitto,
 * readings reach billing through GET /v1/readings (billing role), and the same server sells gas.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../../core/server/server.ts';
import { TokenStore } from '../../core/auth/token-store.ts';
import { MqttSimulator } from '../../gateways/sim/mqtt-simulator.ts';
import { MQTT_URL, serviceAvailable } from '../../core/testing/services.ts';

const mqttUp = await serviceAvailable('mosquitto');
const dataDir = mkdtempSync(join(tmpdir(), 'mh-serve-gw-'));
const prefix = `meterhub-test-${process.pid}-${Date.now()}`;
let server: RunningServer;
let billing: string;
let counter: string;

beforeAll(async () => {
  if (!mqttUp) return;
  server = await startServer({
    port: 0,
    dataDir,
    bootstrapToken: false,
    logLevel: 'warn',
    gateway: { gatewayId: `serve-test-${process.pid}`, profile: 'chint', mqtt: { url: MQTT_URL, topicPrefix: prefix } },
  });
  const tokens = new TokenStore(server.database);
  billing = (await tokens.create('billing-1', 'billing')).token;
  counter = (await tokens.create('counter-1', 'counter')).token;
}, 60_000);
afterAll(async () => {
  await server?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

describe.skipIf(!mqttUp)('serve + in-process gateway (needs Mosquitto at 127.0.0.1:1883)', () => {
  it('delivers every MQTT reading to billing through the REST cursor, once', async () => {
    const meters = Array.from({ length: 5 }, (_, i) => `0000000000${String(i + 1).padStart(4, '0')}`);
    const sim = new MqttSimulator({ url: MQTT_URL, profile: 'chint', topicPrefix: prefix, meters });
    await sim.connect();
    try {
      await sim.run(4);
    } finally {
      await sim.close();
    }
    const seen: string[] = [];
    let cursor = '';
    const deadline = Date.now() + 30_000;
    while (seen.length < sim.allIds.size && Date.now() < deadline) {
      const r = await fetch(
        `${server.url}/v1/readings?limit=100${cursor ? `&after=${encodeURIComponent(cursor)}` : ''}`,
        { headers: { authorization: `Bearer ${billing}` } },
      );
      expect(r.status).toBe(200);
      const page = (await r.json()) as {
        items: Array<{ id: string; meterId: string; cumulative: string | null }>;
        nextCursor: string;
      };
      for (const it of page.items) {
        seen.push(it.id);
        expect(meters).toContain(it.meterId);
        expect(it.cumulative).toMatch(/^\d+\.\d{2}$/);
      }
      cursor = page.nextCursor;
      if (!page.items.length) await new Promise((res) => setTimeout(res, 200));
    }
    expect(seen).toHaveLength(20);
    expect(new Set(seen).size).toBe(20);
    expect(new Set(seen)).toEqual(sim.allIds);
  }, 90_000);

  it('refuses the feed to a counter token, and gives ops the sink lag and backlog', async () => {
    const r = await fetch(`${server.url}/v1/readings`, { headers: { authorization: `Bearer ${counter}` } });
    expect(r.status).toBe(403);
    const ops = (await new TokenStore(server.database).create('ops-1', 'ops')).token;
    const s = await fetch(`${server.url}/v1/readings/sinks`, { headers: { authorization: `Bearer ${ops}` } });
    expect(s.status).toBe(200);
    expect(JSON.stringify(await s.json())).toContain('backlog');
  });
});
