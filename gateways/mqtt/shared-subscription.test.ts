/**
 * Gateways that share the load (issue 20): N instances in one MQTT 5 shared-subscription group split the
 * uplinks, each on its own persistent session with PUBACK-after-commit. Two instances as real child processes on
 * one PostgreSQL store: one is SIGKILLed mid-stream and restarted, and billing still gets 0 lost, 0 duplicated.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import mqtt from 'mqtt';
import { serviceAvailable } from '../../core/testing/services.ts';
import { openDatabase } from '../../core/db/database.ts';
import { createPgDatabase } from '../../core/ledger/testing/databases.ts';
import { createReadingPipeline } from '../../core/readings/pipeline.ts';
import { tempSqlite } from '../../core/readings/testing/fixtures.ts';
import { buildReadReply, DI, toHex } from '../../core/telemetry/index.ts';
import { startGateway, type GatewayChild } from '../../core/chaos/gateway-child.ts';
import { MqttSimulator } from '../sim/mqtt-simulator.ts';
import { WebhookBilling } from '../testing/billing.ts';
import { PrivateMosquitto } from '../testing/mosquitto.ts';
import { MqttGateway } from './mqtt-gateway.ts';

describe('MQTT shared subscriptions', async () => {
  const available = (await serviceAvailable('mosquitto')) && (await serviceAvailable('postgres'));
  let broker: PrivateMosquitto;

  beforeAll(async () => {
    if (available) broker = await PrivateMosquitto.start({ persistence: true });
  });
  afterAll(async () => {
    await broker?.destroy();
  });

  it(
    'two instances in one group split the uplinks: each message reaches exactly one of them',
    { timeout: 60_000 },
    async (ctx) => {
      if (!available) ctx.skip();
      const temp = tempSqlite();
      const db = temp.open();
      const pipeline = createReadingPipeline({ database: db, dispatcher: { pollMs: 20 } });
      await pipeline.start();
      const gws = ['split-a', 'split-b'].map(
        (id) =>
          new MqttGateway({
            url: broker.url,
            gatewayId: id,
            database: db,
            pipeline,
            profile: 'chint',
            shareGroup: 'split',
          }),
      );
      for (const g of gws) await g.start();
      const pub = await mqtt.connectAsync(broker.url, { clientId: 'split-pub', protocolVersion: 5 });
      const N = 60;
      for (let i = 0; i < N; i++) {
        const meter = `3700${String(i).padStart(10, '0')}`;
        const frame = buildReadReply(
          meter,
          DI.CURRENT,
          1,
          {
            cumulative: `${100 + i}.00`,
            settlement: '1.00',
            meterTime: '2025-01-01T00:00:00',
            status: { valve: 'open' },
          },
          'chint',
        );
        await pub.publishAsync(gws[0]!.topics.up(`dev${i}`), JSON.stringify({ v: 1, frames: [toHex(frame)] }), {
          qos: 1,
        });
      }
      await pub.endAsync();
      const end = Date.now() + 30_000;
      while (pipeline.counters.inserted < N && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
      const [a, b] = gws.map((g) => g.counters.uplinks) as [number, number];
      for (const g of gws) await g.stop();
      await pipeline.close();
      await db.close();
      await temp.drop();
      // Without $share each instance would get all 60 (120 in total); with it the group gets each message once.
      expect(a + b).toBe(N);
      expect(a).toBeGreaterThan(0);
      expect(b).toBeGreaterThan(0);
      expect(pipeline.counters.inserted).toBe(N);
      expect(pipeline.counters.duplicates).toBe(0);
    },
  );

  describe('one of two instances SIGKILLed mid-stream', () => {
    const webhook = new WebhookBilling();
    let dir: string;
    let pgDb: { url: string; drop(): Promise<void> } | null = null;
    const gws: Record<string, GatewayChild | null> = { a: null, b: null };
    const configs: Record<string, string> = {};

    beforeAll(async () => {
      if (!available) return;
      await webhook.start();
      pgDb = await createPgDatabase();
      dir = mkdtempSync(join(tmpdir(), 'mh-share-'));
      for (const k of ['a', 'b']) {
        configs[k] = join(dir, `gateway-${k}.json`);
        writeFileSync(
          configs[k]!,
          JSON.stringify({
            gatewayId: `share-${k}`,
            database: pgDb.url,
            profile: 'chint',
            mqtt: { url: broker.url, shareGroup: 'readers' },
            sinks: { webhook: { url: webhook.url, readingsPerPost: 20 } },
            dispatcher: { pollMs: 50, leaseMs: 3000, retry: { baseMs: 100, maxMs: 1000, maxAttempts: 1000 } },
          }),
        );
      }
    });

    afterAll(async () => {
      if (!available) return;
      for (const g of Object.values(gws)) if (g && g.child.exitCode === null) g.child.kill('SIGKILL');
      for (const g of Object.values(gws)) if (g) await g.exited;
      await webhook.close();
      await pgDb?.drop();
      rmSync(dir, { recursive: true, force: true });
    });

    it(
      'billing gets 0 lost, 0 duplicated; the survivor keeps reading while the other restarts',
      { timeout: 240_000 },
      async (ctx) => {
        if (!available) ctx.skip();
        // Started one after the other: both migrate the same database.
        gws.a = await startGateway(configs.a!);
        gws.b = await startGateway(configs.b!);
        const meters = Array.from({ length: 5 }, (_, i) => `3510${String(i + 1).padStart(10, '0')}`);
        const concentrators = [0, 1, 2].map((c) => ({
          id: `sc${c}`,
          meters: Array.from({ length: 40 }, (_, i) => `36${c}5${String(i + 1).padStart(10, '0')}`),
        }));
        const sim = new MqttSimulator({ url: broker.url, profile: 'chint', meters, concentrators, batch: 20 });
        await sim.connect();
        let billedAtKill = -1;
        let killSignal = null as string | null;
        let restart = null as Promise<void> | null;
        await sim.run(16, {
          paceMs: 50,
          onRound: async (r) => {
            if (r !== 5) return;
            billedAtKill = webhook.byKey.size;
            const child = gws.a!.child;
            const exited = new Promise<void>((res) =>
              child.once('exit', (_c, sig) => {
                killSignal = sig;
                res();
              }),
            );
            child.kill('SIGKILL');
            await exited;
            // Restarted later on the same session (as systemd would): the broker redelivers what it never acked.
            restart = (async () => {
              await new Promise((res) => setTimeout(res, 1500));
              gws.a = await startGateway(configs.a!);
            })();
          },
        });
        await restart;
        expect(await sim.settled(90_000)).toBe(true);
        const expected = sim.allIds;
        expect(expected.size).toBe(16 * 125);
        expect(killSignal).toBe('SIGKILL');
        expect(billedAtKill).toBeLessThan(expected.size);

        expect(await webhook.waitFor(expected, 120_000)).toBe(true);
        expect(new Set(webhook.byKey.keys())).toEqual(expected);
        expect(webhook.conflicts).toBe(0);
        ctx.annotate?.(`redeliveries absorbed by the per-reading id: ${webhook.duplicates}`);

        for (const k of ['a', 'b']) {
          const child = gws[k]!.child;
          const exited = new Promise<number | null>((res) => child.once('exit', (code) => res(code)));
          child.kill('SIGTERM');
          expect(await exited).toBe(0);
        }
        const db = openDatabase({ url: pgDb!.url });
        try {
          const n = await db.db
            .selectFrom('readings')
            .select((eb) => eb.fn.countAll().as('n'))
            .executeTakeFirstOrThrow();
          expect(Number(n.n)).toBe(expected.size);
          const pending = await db.db
            .selectFrom('reading_outbox')
            .select((eb) => eb.fn.countAll().as('n'))
            .where('sink', '=', 'webhook')
            .executeTakeFirstOrThrow();
          expect(Number(pending.n)).toBe(0);
        } finally {
          await db.close();
          await sim.close();
        }
      },
    );
  });
});
