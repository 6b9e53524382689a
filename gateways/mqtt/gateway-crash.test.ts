/**
 * Gateway crash: the gateway runs as a child process (`meterhub gateway run`), is SIGKILLed mid-stream
 * and restarted. Billing must receive every reading: 0 lost, 0 duplicated after the idempotency key.
 * What makes it hold: uplink PUBACKs only after commit (the broker redelivers the rest), the outbox's
 * expiring leases (undelivered rows are picked up again) and the reading id as Idempotency-Key.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serviceAvailable } from '../../core/testing/services.ts';
import { openDatabase } from '../../core/db/database.ts';
import { MqttSimulator } from '../sim/mqtt-simulator.ts';
import { startGateway, type GatewayChild } from '../../core/chaos/gateway-child.ts';
import { WebhookBilling } from '../testing/billing.ts';
import { PrivateMosquitto } from '../testing/mosquitto.ts';

describe('gateway process SIGKILLed mid-stream', async () => {
  const available = await serviceAvailable('mosquitto');
  let broker: PrivateMosquitto;
  const webhook = new WebhookBilling();
  let dir: string;
  let configPath: string;
  let dbPath: string;
  let gw: GatewayChild | null = null;

  beforeAll(async () => {
    if (!available) return;
    broker = await PrivateMosquitto.start({ persistence: true });
    await webhook.start();
    dir = mkdtempSync(join(tmpdir(), 'mh-crash-'));
    dbPath = join(dir, 'gateway.db');
    configPath = join(dir, 'gateway.json');
    writeFileSync(
      configPath,
      JSON.stringify({
        gatewayId: 'crash-test',
        database: dbPath,
        profile: 'chint',
        mqtt: { url: broker.url },
        sinks: { webhook: { url: webhook.url } },
        dispatcher: { pollMs: 50, leaseMs: 3000, retry: { baseMs: 100, maxMs: 1000, maxAttempts: 1000 } },
      }),
    );
  });

  afterAll(async () => {
    if (!available) return;
    if (gw && gw.child.exitCode === null) gw.child.kill('SIGKILL');
    await webhook.close();
    await broker?.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  it('0 lost, 0 duplicated at billing across SIGKILL + restart', { timeout: 180_000 }, async (ctx) => {
    if (!available) ctx.skip();
    gw = await startGateway(configPath);
    const meters = Array.from({ length: 5 }, (_, i) => `3500${String(i + 1).padStart(10, '0')}`);
    const concentrators = [0, 1].map((c) => ({
      id: `cc${c}`,
      meters: Array.from({ length: 50 }, (_, i) => `36${c}0${String(i + 1).padStart(10, '0')}`),
    }));
    const sim = new MqttSimulator({ url: broker.url, profile: 'chint', meters, concentrators, batch: 25 });
    await sim.connect();
    let billedAtKill = -1;
    let killSignal = null as string | null;
    let restart = null as Promise<void> | null;
    await sim.run(20, {
      paceMs: 50,
      onRound: async (r) => {
        if (r === 6) {
          billedAtKill = webhook.byKey.size;
          const child = gw!.child;
          const exited = new Promise<void>((res) =>
            child.once('exit', (_c, sig) => {
              killSignal = sig;
              res();
            }),
          );
          child.kill('SIGKILL');
          await exited;
          // Restart a little later, while the meters keep publishing into the gateway's broker session.
          restart = (async () => {
            await new Promise((res) => setTimeout(res, 800));
            gw = await startGateway(configPath);
          })();
        }
      },
    });
    await restart;
    expect(await sim.settled(60_000)).toBe(true);
    const expected = sim.allIds;
    expect(expected.size).toBe(20 * 105);
    expect(killSignal).toBe('SIGKILL');
    expect(billedAtKill).toBeGreaterThanOrEqual(0);
    expect(billedAtKill).toBeLessThan(expected.size); // the kill really was mid-stream

    expect(await webhook.waitFor(expected, 90_000)).toBe(true);
    expect(new Set(webhook.byKey.keys())).toEqual(expected);
    expect(webhook.conflicts).toBe(0);
    ctx.annotate?.(`raw duplicate POSTs absorbed by Idempotency-Key: ${webhook.duplicates}`);

    // Stop the second gateway cleanly and look at what it stored.
    const child = gw!.child;
    const exited = new Promise<number | null>((res) => child.once('exit', (code) => res(code)));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    const db = openDatabase({ url: dbPath });
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
  });
});
