/**
 * Remote-read metrics on `serve` with an in-process gateway: a real serial bus on a socat pseudo-terminal
 * with simulated meters (one dead), and — when Mosquitto is up — the MQTT session. Polls, timeouts and the
 * dead meter's backoff come out per bus and meter; MQTT connection state and the outbound queue depth;
 * the outbox backlog and lag per billing sink.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BusSimulator } from '../../gateways/sim/bus-simulator.ts';
import { openPtyPair, type PtyPair } from '../../gateways/sim/pty.ts';
import { MQTT_URL, serviceAvailable } from '../../core/testing/services.ts';
import { sample, startOpsServer, type OpsServer } from './support.ts';

const mqttUp = await serviceAvailable('mosquitto');
const addr = (i: number) => `3100${String(i).padStart(10, '0')}`;
const LIVE = [addr(1), addr(2)];
const DEAD = addr(3);
const GATEWAY_ID = `metrics-${process.pid}`;
let pty: PtyPair;
let sim: BusSimulator;
let s: OpsServer;

beforeAll(async () => {
  pty = await openPtyPair();
  sim = new BusSimulator({
    path: pty.simPath,
    baudRate: 9600,
    profile: 'chint',
    meters: [
      { address: LIVE[0]!, kind: 'normal' },
      { address: LIVE[1]!, kind: 'normal' },
      { address: DEAD, kind: 'dead' },
    ],
  });
  await sim.open();
  s = await startOpsServer({
    requiredPlugins: [],
    gateway: {
      gatewayId: GATEWAY_ID,
      profile: 'chint',
      serial: [
        { path: pty.gatewayPath, baudRate: 9600, intervalMs: 400, stagger: false, retries: 1, meters: [...LIVE, DEAD] },
      ],
      ...(mqttUp ? { mqtt: { url: MQTT_URL, topicPrefix: `meterhub-metrics-${process.pid}-${Date.now()}` } } : {}),
    },
  });
}, 60_000);
afterAll(async () => {
  await s?.close();
  await sim?.close();
  await pty?.close();
});

async function scrapeUntil(ok: (text: string) => boolean, timeoutMs = 30_000): Promise<string> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    s.server.metrics!.invalidate();
    const r = await s.call('GET', '/metrics');
    expect(r.status).toBe(200);
    if (ok(r.text) || Date.now() > end) return r.text;
    await new Promise((res) => setTimeout(res, 200));
  }
}

describe('gateway metrics', () => {
  it('serial: polls and successes per live meter; timeouts and backoff for the dead one', async () => {
    const bus = pty.gatewayPath;
    const text = await scrapeUntil(
      (t) =>
        (sample(t, 'meterhub_serial_meter_suspect', { bus, meter: DEAD }) ?? 0) === 1 &&
        LIVE.every((m) => (sample(t, 'meterhub_serial_successes_total', { bus, meter: m }) ?? 0) >= 1),
    );
    for (const m of LIVE) {
      expect(sample(text, 'meterhub_serial_polls_total', { bus, meter: m })).toBeGreaterThanOrEqual(1);
      expect(sample(text, 'meterhub_serial_successes_total', { bus, meter: m })).toBeGreaterThanOrEqual(1);
    }
    expect(sample(text, 'meterhub_serial_successes_total', { bus, meter: DEAD })).toBe(0);
    // A dead meter: first poll 1 + 1 retry, both time out; then it waits out its backoff.
    expect(sample(text, 'meterhub_serial_timeouts_total', { bus, meter: DEAD })).toBeGreaterThanOrEqual(2);
    expect(sample(text, 'meterhub_serial_meter_suspect', { bus, meter: DEAD })).toBe(1);
    expect(sample(text, 'meterhub_serial_meter_backoff_sweeps', { bus, meter: DEAD })).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'meterhub_serial_meter_consecutive_failures', { bus, meter: DEAD })).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'meterhub_metrics_collector_up', { collector: 'gateway' })).toBe(1);
  }, 60_000);

  it('outbox: readings from the bus reach the REST feed sink; backlog and lag per sink; ingest counted', async () => {
    const text = await scrapeUntil(
      (t) => (sample(t, 'meterhub_readings_ingested_total', { result: 'inserted' }) ?? 0) >= 2,
    );
    expect(sample(text, 'meterhub_readings_ingested_total', { result: 'inserted' })).toBeGreaterThanOrEqual(2);
    // Every stored reading is queued for the REST feed sink: waiting there or already delivered to the feed.
    const inserted = sample(text, 'meterhub_readings_ingested_total', { result: 'inserted' })!;
    const backlog = sample(text, 'meterhub_outbox_backlog', { sink: 'rest' })!;
    const delivered = sample(text, 'meterhub_outbox_delivered_total', { sink: 'rest' })!;
    expect(backlog + delivered).toBeGreaterThanOrEqual(inserted);
    expect(sample(text, 'meterhub_outbox_lag_seconds', { sink: 'rest' })).toBeGreaterThanOrEqual(0);
    expect(sample(text, 'meterhub_outbox_dead_letters', { sink: 'rest' })).toBe(0);
  }, 60_000);

  it.skipIf(!mqttUp)(
    'MQTT: connected, reconnect count and outbound queue depth (needs Mosquitto at 127.0.0.1:1883)',
    async () => {
      const text = await scrapeUntil((t) => sample(t, 'meterhub_mqtt_connected', { gateway: GATEWAY_ID }) === 1);
      expect(sample(text, 'meterhub_mqtt_connected', { gateway: GATEWAY_ID })).toBe(1);
      expect(sample(text, 'meterhub_mqtt_connects_total', { gateway: GATEWAY_ID })).toBeGreaterThanOrEqual(1);
      expect(sample(text, 'meterhub_mqtt_outbound_backlog', { gateway: GATEWAY_ID })).toBe(0);
    },
    60_000,
  );
});
