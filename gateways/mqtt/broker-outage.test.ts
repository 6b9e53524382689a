/**
 * Broker outage against a real Mosquitto we own: it is cut mid-stream (killed and restarted) while
 * meters and concentrators publish. Billing (webhook + MQTT sinks) must receive every reading: 0 lost,
 * 0 duplicated after the idempotency key. A valve command issued while the broker is down waits in the
 * gateway's durable queue and completes once the broker is back.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serviceAvailable } from '../../core/testing/services.ts';
import type { MeterHubDatabase } from '../../core/db/database.ts';
import { createReadingPipeline, type ReadingPipeline } from '../../core/readings/pipeline.ts';
import { MqttSink } from '../../core/readings/sinks/mqtt-sink.ts';
import { WebhookSink } from '../../core/readings/sinks/webhook-sink.ts';
import { tempSqlite, type TempDatabase } from '../../core/readings/testing/fixtures.ts';
import { CommandTimeout } from '../../core/readings/errors.ts';
import { MqttSimulator } from '../sim/mqtt-simulator.ts';
import { MqttBilling, WebhookBilling } from '../testing/billing.ts';
import { PrivateMosquitto } from '../testing/mosquitto.ts';
import { MqttGateway } from './mqtt-gateway.ts';

const meters = Array.from({ length: 10 }, (_, i) => `3300${String(i + 1).padStart(10, '0')}`);
const concentrators = [0, 1].map((c) => ({
  id: `conc${c}`,
  meters: Array.from({ length: 40 }, (_, i) => `34${c}0${String(i + 1).padStart(10, '0')}`),
}));
const ROUNDS = 12;

describe('MQTT: broker cut mid-stream', async () => {
  // The private broker is spawned here; the shared one only tells us Mosquitto is installed and expected.
  const available = await serviceAvailable('mosquitto');
  let broker: PrivateMosquitto;
  let temp: TempDatabase;
  let db: MeterHubDatabase;
  let pipeline: ReadingPipeline;
  let gw: MqttGateway;
  let sim: MqttSimulator;
  const webhook = new WebhookBilling();
  const mqttBilling = new MqttBilling();

  beforeAll(async () => {
    if (!available) return;
    broker = await PrivateMosquitto.start({ persistence: true });
    await webhook.start();
    await mqttBilling.start(broker.url);
    temp = tempSqlite();
    db = temp.open();
    pipeline = createReadingPipeline({
      database: db,
      sinks: [
        new WebhookSink({ url: webhook.url }),
        new MqttSink({ url: broker.url, clientId: 'outage-billing-sink', timeoutMs: 3000 }),
      ],
      dispatcher: { pollMs: 50, leaseMs: 10_000, retry: { baseMs: 100, maxMs: 1000, maxAttempts: 1000 } },
    });
    await pipeline.start();
    gw = new MqttGateway({
      url: broker.url,
      gatewayId: 'outage',
      database: db,
      pipeline,
      profile: 'chint',
      commandTimeoutMs: 20_000,
    });
    await gw.start();
    sim = new MqttSimulator({ url: broker.url, profile: 'chint', meters, concentrators, batch: 20 });
    await sim.connect();
  });

  afterAll(async () => {
    if (!available) return;
    await sim?.close();
    await gw?.stop().catch(() => {});
    await pipeline?.close();
    await db?.close();
    await temp?.drop();
    await mqttBilling.close();
    await webhook.close();
    await broker?.destroy();
  });

  it(
    'delivers every reading to billing exactly once across a broker kill + restart',
    { timeout: 180_000 },
    async (ctx) => {
      if (!available) ctx.skip();
      let valve = null as Promise<unknown> | null;
      let cut = null as Promise<void> | null;
      await sim.run(ROUNDS, {
        paceMs: 60,
        onRound: (r) => {
          if (r === 3) {
            cut = (async () => {
              await broker.stop('SIGTERM');
              // Issued while the broker is down: must wait in the durable queue, not in mqtt.js memory.
              valve = gw.valve(meters[2]!, 'close', 15_000);
              await new Promise((res) => setTimeout(res, 1500));
              await broker.start();
            })();
          }
        },
      });
      await cut;
      expect(await sim.settled(60_000)).toBe(true);
      const expected = sim.allIds;
      expect(expected.size).toBe(ROUNDS * (meters.length + 80));

      expect(await webhook.waitFor(expected, 60_000)).toBe(true);
      expect(await mqttBilling.waitFor(expected, 60_000)).toBe(true);
      expect(await pipeline.drained(30_000)).toBe(true);

      // 0 lost, 0 duplicated (after the idempotency key), nothing billing did not expect.
      expect(new Set(webhook.byKey.keys())).toEqual(expected);
      expect(new Set(mqttBilling.byKey.keys())).toEqual(expected);
      expect(webhook.conflicts).toBe(0);
      expect(await pipeline.store.count()).toBe(expected.size);
      // The outage really happened and was ridden out.
      expect(broker.starts).toBe(2);
      expect(gw.counters.connects).toBeGreaterThanOrEqual(2);
      ctx.annotate?.(
        `raw duplicate deliveries absorbed by Idempotency-Key: webhook ${webhook.duplicates}, mqtt ${mqttBilling.messages - mqttBilling.byKey.size}; redelivered uplinks deduped ${pipeline.counters.duplicates}`,
      );

      const result = (await valve) as { valve: string; confirmed: boolean };
      expect(result).toMatchObject({ valve: 'closed', confirmed: true });
      expect(sim.valves.get(meters[2]!)).toBe('closed');
    },
  );

  it('valve round trip over MQTT, and a command nobody answers times out and is never sent late', async (ctx) => {
    if (!available) ctx.skip();
    const r = await gw.valve(concentrators[1]!.meters[5]!, 'close', 10_000);
    expect(r).toMatchObject({ valve: 'closed', confirmed: true });
    const row = await gw.commands.get(r.commandId);
    expect(row).toMatchObject({ status: 'replied', transport: 'mqtt' });
    expect(sim.valves.get(concentrators[1]!.meters[5]!)).toBe('closed');

    const err = await gw.valve('39999999999999', 'open', 800).catch((e) => e);
    expect(CommandTimeout.is(err)).toBe(true);
    const timedOut = await db.db
      .selectFrom('meter_commands')
      .selectAll()
      .where('meter_id', '=', '39999999999999')
      .execute();
    expect(timedOut.map((x) => x.status)).toEqual(['timeout']);
    // Device online state comes from retained status + LWT.
    expect(gw.deviceOnline(meters[0]!)).toBe(true);
    expect(gw.deviceOnline('conc1')).toBe(true);
  });
});
