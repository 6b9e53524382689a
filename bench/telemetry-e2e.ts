/**
 * End-to-end readings/s: concentrator uplinks over a real Mosquitto → MqttGateway (decode, PUBACK after
 * commit) → durable SQLite store + outbox (synchronous=FULL, group commit) → billing sink.
 * Target ≥ 0.85 of the smaller of two ceilings measured in the same run (bench/run-all.ts says why):
 *   transport ceiling — the same uplinks to a plain QoS 1 subscriber doing nothing;
 *   store ceiling     — the same readings submitted straight to the pipeline (no MQTT).
 * Billing = the REST cursor feed (billing pulls pages); the webhook is measured separately, one POST per
 * reading and batched (WEBHOOK_PER_POST readings per POST), each against the store ceiling of the same run.
 *
 * Run: npx tsx bench/telemetry-e2e.ts [readings=100000] [--webhook-only]
 *   --webhook-only: only the store ceiling and the two webhook runs (section `e2e-webhook`).
 */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import mqtt from 'mqtt';
import { createReadingPipeline } from '../core/readings/pipeline.ts';
import { WebhookSink } from '../core/readings/sinks/webhook-sink.ts';
import { tempSqlite } from '../core/readings/testing/fixtures.ts';
import { DI, buildReadReply, decodeAll, frameToReading, toHex, type UnifiedReading } from '../core/telemetry/index.ts';
import { MqttGateway } from '../gateways/mqtt/mqtt-gateway.ts';
import { simClock } from '../gateways/sim/mqtt-simulator.ts';
import { PrivateMosquitto } from '../gateways/testing/mosquitto.ts';
import { fmt, writeSection } from './telemetry-results.ts';
import { bundledPluginProfiles } from '../core/plugins/plugin-profiles.ts';

// The bench's own registry: every bundled dialect whatever ops enabled; the measured dialect is resolved once.
const chint = bundledPluginProfiles().get('chint');

const args = process.argv.slice(2);
const WEBHOOK_ONLY = args.includes('--webhook-only');
const N = Number(args.find((a) => /^\d+$/.test(a)) ?? 100_000);
const WEBHOOK_PER_POST = Number(process.env.WEBHOOK_PER_POST ?? 500);
const BATCH = 100; // frames per concentrator uplink
const METERS = 1000;

function buildPayloads(seed: number): { payloads: string[]; readings: UnifiedReading[] } {
  const hex: string[] = [];
  const readings: UnifiedReading[] = [];
  for (let i = 0; i < N; i++) {
    const meter = `37${String(seed * METERS + (i % METERS)).padStart(12, '0')}`;
    const k = Math.floor(i / METERS);
    const frame = buildReadReply(
      meter,
      DI.CURRENT,
      k & 0xff,
      {
        cumulative: `${1000 + k}.${String(i % 100).padStart(2, '0')}`,
        settlement: '1000.00',
        meterTime: simClock(Date.UTC(2025, 0, 1) + k * 60_000),
        status: { valve: 'open' },
      },
      chint,
    );
    hex.push(toHex(frame));
    if (readings.length < N) {
      const ev = decodeAll(frame, chint)[0]!;
      if (ev.type === 'frame') readings.push(frameToReading(ev.frame, chint, { source: 'mqtt', raw: ev.raw }));
    }
  }
  const payloads: string[] = [];
  for (let i = 0; i < hex.length; i += BATCH) payloads.push(JSON.stringify({ v: 1, frames: hex.slice(i, i + BATCH) }));
  return { payloads, readings };
}

async function publishAll(url: string, topic: string, payloads: string[]): Promise<void> {
  const c = mqtt.connect(url, { clientId: `bench-pub-${Math.random().toString(16).slice(2)}`, protocolVersion: 5 });
  await new Promise<void>((r) => c.once('connect', () => r()));
  let next = 0;
  // A window of in-flight QoS 1 publishes, like a concentrator uploading its backlog.
  await Promise.all(
    Array.from({ length: 64 }, async () => {
      while (next < payloads.length) {
        const p = payloads[next++]!;
        await c.publishAsync(topic, p, { qos: 1 });
      }
    }),
  );
  await c.endAsync();
}

async function transportCeiling(broker: PrivateMosquitto, payloads: string[]): Promise<number> {
  const sub = mqtt.connect(broker.url, {
    clientId: 'bench-plain-sub',
    clean: false,
    protocolVersion: 5,
    properties: { sessionExpiryInterval: 60 },
  });
  await new Promise<void>((r) => sub.once('connect', () => r()));
  await sub.subscribeAsync('bench/plain/+', { qos: 1 });
  let got = 0;
  const done = new Promise<void>((r) =>
    sub.on('message', () => {
      if (++got === payloads.length) r();
    }),
  );
  const t0 = performance.now();
  await publishAll(broker.url, 'bench/plain/c1', payloads);
  await done;
  const ms = performance.now() - t0;
  await sub.endAsync();
  return (N / ms) * 1000;
}

async function storeCeiling(readings: UnifiedReading[]): Promise<number> {
  const temp = tempSqlite();
  const db = temp.open();
  const pipeline = createReadingPipeline({ database: db, dispatcher: { pollMs: 20 } });
  await pipeline.start();
  const t0 = performance.now();
  const work: Promise<unknown>[] = [];
  for (let i = 0; i < readings.length; i += BATCH) work.push(pipeline.submit(readings.slice(i, i + BATCH)));
  await Promise.all(work);
  if (!(await pipeline.drained(120_000, 25))) throw new Error('store ceiling: not drained');
  const ms = performance.now() - t0;
  await pipeline.close();
  await db.close();
  await temp.drop();
  return (readings.length / ms) * 1000;
}

async function endToEnd(
  broker: PrivateMosquitto,
  payloads: string[],
  withWebhook: { url: string } | null,
  n: number,
  perPost = 1,
) {
  const temp = tempSqlite();
  const db = temp.open();
  const sink =
    perPost === 1
      ? new WebhookSink({ url: withWebhook?.url ?? 'http://127.0.0.1:1/', concurrency: 32, batchSize: 500 })
      : new WebhookSink({
          url: withWebhook?.url ?? 'http://127.0.0.1:1/',
          readingsPerPost: perPost,
          batchSize: perPost * 8,
          concurrency: 8,
          timeoutMs: 30_000,
          parallelLeases: 2,
        });
  const pipeline = createReadingPipeline({
    database: db,
    sinks: withWebhook ? [sink] : [],
    restFeed: !withWebhook,
    dispatcher: { pollMs: 20 },
  });
  await pipeline.start();
  const gw = new MqttGateway({
    url: broker.url,
    gatewayId: `bench-${withWebhook ? `wh${perPost}` : 'rest'}`,
    database: db,
    pipeline,
    profile: chint,
  });
  await gw.start();
  const t0 = performance.now();
  await publishAll(broker.url, gw.topics.up('conc-bench'), payloads);
  const tPublished = performance.now();
  const end = Date.now() + 600_000;
  // Cheap in-memory counter first; the (costly) SQL stats only once everything is in.
  for (;;) {
    if (pipeline.counters.inserted >= n && (await pipeline.stats()).every((x) => x.backlog === 0)) break;
    if (Date.now() > end) throw new Error(`e2e stuck at ${pipeline.counters.inserted}`);
    await new Promise((r) => setTimeout(r, 25));
  }
  if ((await pipeline.store.count()) !== n) throw new Error('e2e: stored count mismatch');
  const ms = performance.now() - t0;
  const stats = await pipeline.stats();
  const counters = { ...gw.counters, ...pipeline.counters };
  await gw.stop();
  await pipeline.close();
  await db.close();
  await temp.drop();
  return { rate: (n / ms) * 1000, ms, publishMs: tPublished - t0, stats, counters, posts: sink.posts };
}

/**
 * One webhook run with a fresh receiver in its own process (billing is another system: parsing what we send is
 * not our cost); checks billing got every reading, with repeats absorbed by the reading id.
 */
async function webhookRun(broker: PrivateMosquitto, payloads: string[], n: number, perPost: number) {
  const child = fork(fileURLToPath(new URL('./webhook-receiver.ts', import.meta.url)), {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const next = <T>() => new Promise<T>((r) => child.once('message', (m) => r(m as T)));
  const { url } = await next<{ url: string }>();
  try {
    const r = await endToEnd(broker, payloads, { url }, n, perPost);
    child.send({ cmd: 'stats' });
    const billed = await next<{ byKey: number; duplicates: number; conflicts: number; posts: number }>();
    // At least once: repeats (a POST that timed out after billing took it) are absorbed by the reading id and
    // reported; a missing reading or a body that changed between deliveries fails the run.
    if (billed.byKey !== n || billed.conflicts !== 0) {
      throw new Error(
        `webhook ${perPost}/POST: billed ${billed.byKey}/${n}, duplicates ${billed.duplicates}, conflicts ${billed.conflicts}`,
      );
    }
    return { ...r, billed: billed.byKey, duplicates: billed.duplicates, perPost };
  } finally {
    const gone = new Promise((res) => child.once('exit', res));
    child.send({ cmd: 'close' });
    await gone;
  }
}

const broker = await PrivateMosquitto.start({ maxInflight: 1000, persistence: true });
try {
  const a = buildPayloads(1);
  const whN = Math.min(N, 20_000);
  if (WEBHOOK_ONLY) {
    const store = await storeCeiling(a.readings);
    console.log(`store ceiling ${fmt(store)} readings/s`);
    const single = await webhookRun(broker, buildPayloads(3).payloads.slice(0, whN / BATCH), whN, 1);
    console.log(
      `e2e webhook, 1 reading per POST: ${fmt(single.rate)} readings/s (${fmt(single.posts)} POSTs) = ${(single.rate / store).toFixed(2)} of store`,
    );
    const batched = await webhookRun(broker, buildPayloads(4).payloads.slice(0, whN / BATCH), whN, WEBHOOK_PER_POST);
    console.log(
      `e2e webhook, ${WEBHOOK_PER_POST} per POST: ${fmt(batched.rate)} readings/s (${fmt(batched.posts)} POSTs) = ${(batched.rate / store).toFixed(2)} of store`,
    );
    writeSection('e2e-webhook', {
      title: 'Webhook billing at volume / 计费 Webhook 批量推送',
      rows: [
        {
          metric: `store ceiling: ${fmt(N)} readings straight into the pipeline (no MQTT)`,
          value: `${fmt(store)} readings/s`,
          bound: 'measured',
        },
        {
          metric: `MQTT → store → webhook, 1 reading per POST, ${fmt(whN)} readings`,
          value: `${fmt(single.rate)} readings/s`,
          bound: `store ceiling ${fmt(store)}`,
          ratio: (single.rate / store).toFixed(2),
          note: `${fmt(single.posts)} POSTs`,
        },
        {
          metric: `MQTT → store → webhook, ${WEBHOOK_PER_POST} readings per POST, ${fmt(whN)} readings`,
          value: `${fmt(batched.rate)} readings/s`,
          bound: `store ceiling ${fmt(store)}`,
          ratio: (batched.rate / store).toFixed(2),
          note: `${fmt(batched.posts)} POSTs; target ≥ 0.8 ${batched.rate / store >= 0.8 ? 'met' : 'NOT met'}`,
        },
      ],
      data: { N, whN, batch: BATCH, perPost: WEBHOOK_PER_POST, store, single, batched },
    });
  } else {
    const b = buildPayloads(2);
    const transport = await transportCeiling(broker, a.payloads);
    console.log(`transport ceiling ${fmt(transport)} readings/s`);
    const store = await storeCeiling(a.readings);
    console.log(`store ceiling ${fmt(store)} readings/s`);
    const e2e = await endToEnd(broker, b.payloads, null, N);
    console.log(`e2e (REST feed billing) ${fmt(e2e.rate)} readings/s in ${fmt(e2e.ms)} ms`);
    const e2eWh = await webhookRun(broker, buildPayloads(3).payloads.slice(0, whN / BATCH), whN, 1);
    console.log(`e2e (webhook billing, 1 POST per reading) ${fmt(e2eWh.rate)} readings/s`);
    const e2eWhBatch = await webhookRun(broker, buildPayloads(4).payloads.slice(0, whN / BATCH), whN, WEBHOOK_PER_POST);
    console.log(`e2e (webhook billing, ${WEBHOOK_PER_POST} per POST) ${fmt(e2eWhBatch.rate)} readings/s`);
    const bound = Math.min(transport, store);
    writeSection('e2e', {
      title: 'End-to-end MQTT → durable store → billing / 端到端吞吐',
      rows: [
        {
          metric: `MQTT → SQLite (FULL sync) → outbox → REST feed, ${fmt(N)} readings in ${fmt(N / BATCH)} uplinks`,
          value: `${fmt(e2e.rate)} readings/s`,
          bound: `ceiling ${fmt(bound)} (min of the two below)`,
          ratio: (e2e.rate / bound).toFixed(3),
          note: e2e.rate / bound >= 0.85 ? 'target ≥ 0.85 met' : 'target ≥ 0.85 NOT met',
        },
        {
          metric: 'transport ceiling: same uplinks to a do-nothing QoS 1 subscriber',
          value: `${fmt(transport)} readings/s`,
          bound: 'measured',
        },
        {
          metric: 'store ceiling: same readings straight into the pipeline (no MQTT)',
          value: `${fmt(store)} readings/s`,
          bound: 'measured',
        },
        {
          metric: `MQTT → store → webhook (one POST per reading, Idempotency-Key), ${fmt(whN)} readings`,
          value: `${fmt(e2eWh.rate)} readings/s`,
          bound: `store ceiling ${fmt(store)}`,
          ratio: (e2eWh.rate / store).toFixed(2),
          note: 'HTTP per reading dominates; webhook receiver in its own process',
        },
        {
          metric: `MQTT → store → webhook (${WEBHOOK_PER_POST} readings per POST), ${fmt(whN)} readings`,
          value: `${fmt(e2eWhBatch.rate)} readings/s`,
          bound: `store ceiling ${fmt(store)}`,
          ratio: (e2eWhBatch.rate / store).toFixed(2),
          note: 'target ≥ 0.8 of the store ceiling',
        },
      ],
      data: { N, batch: BATCH, transport, store, e2e, e2eWebhook: e2eWh, e2eWebhookBatch: e2eWhBatch },
    });
  }
} finally {
  await broker.destroy();
}
