/**
 * Broker outages during telemetry: our own Mosquitto (gateways/testing/mosquitto.ts, a free loopback port) is
 * stopped and started again while MQTT meters and concentrators publish. The gateway (PUBACK only after the
 * durable commit) feeds the reading store and two billing sinks — a webhook and an MQTT topic on the same
 * broker, so billing delivery rides the outages too. Billing must end with every reading exactly once by id.
 *
 * Outages are clean broker stops (SIGTERM: Mosquitto saves its persistence file). A SIGKILLed Mosquitto loses
 * whatever it acknowledged since its last autosave — a property of the broker, outside MeterHub's guarantee.
 */
import type { MeterHubDatabase } from '../db/database.ts';
import { createReadingPipeline, type ReadingPipeline } from '../readings/pipeline.ts';
import { MqttSink } from '../readings/sinks/mqtt-sink.ts';
import { WebhookSink } from '../readings/sinks/webhook-sink.ts';
import { tempSqlite } from '../readings/testing/fixtures.ts';
import { MqttGateway } from '../../gateways/mqtt/mqtt-gateway.ts';
import { MqttSimulator } from '../../gateways/sim/mqtt-simulator.ts';
import { MqttBilling, WebhookBilling } from '../../gateways/testing/billing.ts';
import { PrivateMosquitto } from '../../gateways/testing/mosquitto.ts';
import { auditWebhook, countLostById } from './billing-audit.ts';
import { budgetSpent, newReport, sleep, type CampaignContext, type CampaignReport } from './types.ts';

export async function brokerOutageCampaign(outages: number, ctx: CampaignContext): Promise<CampaignReport> {
  const report = newReport('broker-outages', outages);
  const tag = Math.floor(ctx.rand() * 1e6).toString(36);
  const chint = ctx.profiles.get('chint');
  const meters = Array.from({ length: ctx.quick ? 5 : 10 }, (_, i) => `3300${String(i + 1).padStart(10, '0')}`);
  const concentrators = Array.from({ length: ctx.quick ? 1 : 3 }, (_, c) => ({
    id: `chaos-c${c}`,
    meters: Array.from({ length: ctx.quick ? 20 : 40 }, (_, i) => `34${c}0${String(i + 1).padStart(10, '0')}`),
  }));
  const paceMs = 60;
  // Enough rounds that every outage (≤ 2.5 s with its gap) happens while the meters publish.
  const rounds = Math.max(8, Math.ceil((outages * 2500) / paceMs) + 4);

  const broker = await PrivateMosquitto.start({ persistence: true });
  const webhook = new WebhookBilling();
  const mqttBilling = new MqttBilling();
  const temp = tempSqlite();
  let db: MeterHubDatabase | null = null;
  let pipeline: ReadingPipeline | null = null;
  let gw: MqttGateway | null = null;
  let sim: MqttSimulator | null = null;
  try {
    await webhook.start();
    await mqttBilling.start(broker.url, 'meterhub/v1/billing/readings/#', `chaos-billing-${tag}`);
    db = temp.open();
    pipeline = createReadingPipeline({
      database: db,
      sinks: [
        new WebhookSink({ url: webhook.url }),
        new MqttSink({ url: broker.url, clientId: `chaos-billing-sink-${tag}`, timeoutMs: 3000 }),
      ],
      dispatcher: { pollMs: 50, leaseMs: 10_000, retry: { baseMs: 100, maxMs: 1000, maxAttempts: 1000 } },
    });
    await pipeline.start();
    gw = new MqttGateway({
      url: broker.url,
      gatewayId: `chaos-outage-${tag}`,
      database: db,
      pipeline,
      profile: chint,
    });
    await gw.start();
    sim = new MqttSimulator({ url: broker.url, profile: chint, meters, concentrators, batch: 20 });
    await sim.connect();

    let downMsTotal = 0;
    const cutter = (async () => {
      for (let i = 0; i < outages; i++) {
        await sleep(200 + Math.floor(ctx.rand() * 600));
        if (budgetSpent(ctx, i)) {
          report.notes.push(`time budget reached after ${i} of ${outages} outages`);
          return;
        }
        await broker.stop('SIGTERM');
        const down = 300 + Math.floor(ctx.rand() * 1200);
        await sleep(down);
        downMsTotal += down;
        await broker.start();
        report.injected++;
      }
    })();
    await sim.run(rounds, { paceMs });
    await cutter;
    // One grace period for all the waiting below, so verification stays bounded too.
    const graceEnd = Date.now() + (ctx.quick ? 45_000 : 90_000);
    const left = () => Math.max(1000, graceEnd - Date.now());
    const allAcked = await sim.settled(left());
    // MeterHub answers for what the broker acknowledged; an uplink the broker never acknowledged is still the
    // meter's (a QoS 1 sender keeps it and sends it again), so it is counted, not called lost.
    const expected = sim.ackedIds;
    const neverAcked = [...sim.allIds].filter((id) => !expected.has(id)).length;
    if (!allAcked)
      report.notes.push(
        `${neverAcked} readings in ${sim.counters.published - sim.counters.acked} uplinks were never acknowledged by the broker within the grace (still held by the simulated meters' MQTT client)`,
      );
    await webhook.waitFor(expected, left());
    await mqttBilling.waitFor(expected, left());
    await pipeline.drained(left());

    const wh = auditWebhook(expected, webhook, report.violations, 'webhook billing');
    const mq = countLostById(expected, mqttBilling.byKey);
    if (mq.lost) report.violations.push(`MQTT billing: ${mq.lost} readings lost`);
    if (mq.phantom) report.violations.push(`MQTT billing: ${mq.phantom} readings no meter sent`);
    const stored = await pipeline.store.count();
    const storeDup = Math.max(0, stored - sim.allIds.size);
    if (storeDup) report.violations.push(`store: ${stored} rows for ${sim.allIds.size} readings`);
    report.figures = {
      outages: report.injected,
      brokerStarts: broker.starts,
      brokerDownMs: downMsTotal,
      gatewayReconnects: Math.max(0, gw.counters.connects - 1),
      readingsSent: sim.allIds.size,
      readingsAckedByBroker: expected.size,
      readingsNeverAckedByBroker: neverAcked,
      readingsStored: stored,
      billedWebhook: wh.billed,
      billedMqtt: mqttBilling.byKey.size,
      readingsLost: Math.max(wh.lost, mq.lost),
      readingsDuplicated: wh.duplicated + mq.phantom + storeDup,
      redeliveriesAbsorbed: wh.redeliveriesAbsorbed + mq.redeliveries + pipeline.counters.duplicates,
    };
    if (report.injected > 0 && broker.starts !== report.injected + 1)
      report.violations.push(`broker started ${broker.starts} times for ${report.injected} outages`);
    report.notes.push(
      `${meters.length} MQTT meters + ${concentrators.length} concentrators × ${concentrators[0]!.meters.length} meters, ${rounds} rounds every ${paceMs} ms; billing = webhook + MQTT topic`,
    );
  } finally {
    await sim?.close().catch(() => {});
    await gw?.stop().catch(() => {});
    await pipeline?.close().catch(() => {});
    await db?.close().catch(() => {});
    await temp.drop();
    await mqttBilling.close().catch(() => {});
    await webhook.close();
    await broker.destroy();
  }
  return report;
}
