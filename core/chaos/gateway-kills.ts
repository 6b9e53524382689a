/**
 * Gateway kills: `meterhub gateway run` as a child process (MQTT uplinks → SQLite store → webhook billing) is
 * SIGKILLed at random moments mid-stream and restarted on the same database, while the meters keep
 * publishing into its persistent broker session. Billing must end with every reading exactly once by id.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatabase } from '../db/database.ts';
import { MqttSimulator } from '../../gateways/sim/mqtt-simulator.ts';
import { WebhookBilling } from '../../gateways/testing/billing.ts';
import { PrivateMosquitto } from '../../gateways/testing/mosquitto.ts';
import { auditWebhook } from './billing-audit.ts';
import { startGateway, type GatewayChild } from './gateway-child.ts';
import { budgetSpent, newReport, sleep, type CampaignContext, type CampaignReport } from './types.ts';

export async function gatewayKillCampaign(kills: number, ctx: CampaignContext): Promise<CampaignReport> {
  const report = newReport('gateway-kills', kills);
  const broker = await PrivateMosquitto.start({ persistence: true });
  const webhook = new WebhookBilling();
  const dir = mkdtempSync(join(tmpdir(), 'mh-chaos-gw-'));
  const dbPath = join(dir, 'gateway.db');
  const configPath = join(dir, 'gateway.json');
  let gw: GatewayChild | null = null;
  let sim: MqttSimulator | null = null;
  try {
    await webhook.start();
    writeFileSync(
      configPath,
      JSON.stringify({
        gatewayId: 'chaos-gw',
        database: dbPath,
        profile: 'chint',
        mqtt: { url: broker.url },
        sinks: { webhook: { url: webhook.url }, rest: false },
        dispatcher: { pollMs: 50, leaseMs: 3000, retry: { baseMs: 100, maxMs: 1000, maxAttempts: 1000 } },
      }),
    );
    gw = await startGateway(configPath);
    const meters = Array.from({ length: 5 }, (_, i) => `3500${String(i + 1).padStart(10, '0')}`);
    const concentrators = Array.from({ length: ctx.quick ? 1 : 2 }, (_, c) => ({
      id: `chaos-cc${c}`,
      meters: Array.from({ length: ctx.quick ? 30 : 50 }, (_, i) => `36${c}0${String(i + 1).padStart(10, '0')}`),
    }));
    sim = new MqttSimulator({ url: broker.url, profile: ctx.profiles.get('chint'), meters, concentrators, batch: 25 });
    await sim.connect();
    const paceMs = 50;
    // Each kill: a random moment, ≤ 1 s down, then a restart (tsx start-up ≈ 1–3 s on a loaded box).
    const rounds = Math.max(10, Math.ceil((kills * 3500) / paceMs) + 6);
    const billedAtKill: number[] = [];
    const killer = (async () => {
      for (let i = 0; i < kills; i++) {
        await sleep(300 + Math.floor(ctx.rand() * 1000));
        if (budgetSpent(ctx, i)) {
          report.notes.push(`time budget reached after ${i} of ${kills} kills`);
          return;
        }
        billedAtKill.push(webhook.byKey.size);
        const g = gw!;
        g.child.kill('SIGKILL');
        const how = await g.exited;
        if (how !== 'SIGKILL') report.violations.push(`kill ${i}: gateway ended by ${how}, not SIGKILL`);
        report.injected++;
        await sleep(200 + Math.floor(ctx.rand() * 800));
        gw = await startGateway(configPath);
      }
    })();
    await sim.run(rounds, { paceMs });
    await killer;
    const graceEnd = Date.now() + (ctx.quick ? 45_000 : 90_000);
    const left = () => Math.max(1000, graceEnd - Date.now());
    const allAcked = await sim.settled(left());
    // MeterHub answers for what the broker acknowledged (see broker-outages.ts).
    const expected = sim.ackedIds;
    const neverAcked = [...sim.allIds].filter((id) => !expected.has(id)).length;
    if (!allAcked)
      report.notes.push(
        `${neverAcked} readings were never acknowledged by the broker within the grace (still held by the simulated meters' MQTT client)`,
      );
    await webhook.waitFor(expected, left());
    const midStream = billedAtKill.filter((n) => n < expected.size).length;
    const wh = auditWebhook(expected, webhook, report.violations, 'webhook billing');
    // Billing has everything; let the gateway mark its last deliveries done before stopping it cleanly.
    const outboxPending = async () => {
      const db = openDatabase({ url: dbPath });
      try {
        return Number(
          (
            await db.db
              .selectFrom('reading_outbox')
              .select((eb) => eb.fn.countAll().as('n'))
              .where('sink', '=', 'webhook')
              .executeTakeFirstOrThrow()
          ).n,
        );
      } finally {
        await db.close();
      }
    };
    for (const end = Math.min(graceEnd, Date.now() + 15_000); Date.now() < end && (await outboxPending()) > 0;)
      await sleep(100);
    // Stop the last gateway cleanly, then look at what it stored.
    const last = gw!;
    last.child.kill('SIGTERM');
    const code = await last.exited;
    if (code !== 0) report.violations.push(`last gateway did not stop cleanly (${code})`);
    gw = null;
    const db = openDatabase({ url: dbPath });
    let stored = 0;
    let pending = 0;
    try {
      stored = Number(
        (
          await db.db
            .selectFrom('readings')
            .select((eb) => eb.fn.countAll().as('n'))
            .executeTakeFirstOrThrow()
        ).n,
      );
      pending = Number(
        (
          await db.db
            .selectFrom('reading_outbox')
            .select((eb) => eb.fn.countAll().as('n'))
            .where('sink', '=', 'webhook')
            .executeTakeFirstOrThrow()
        ).n,
      );
    } finally {
      await db.close();
    }
    const storeDup = Math.max(0, stored - sim.allIds.size);
    if (storeDup) report.violations.push(`store: ${stored} rows for ${sim.allIds.size} readings`);
    if (stored < expected.size) report.violations.push(`store: only ${stored} of ${expected.size} readings stored`);
    if (pending) report.violations.push(`outbox: ${pending} webhook deliveries still pending`);
    report.figures = {
      kills: report.injected,
      killsMidStream: midStream,
      readingsSent: sim.allIds.size,
      readingsAckedByBroker: expected.size,
      readingsNeverAckedByBroker: neverAcked,
      readingsStored: stored,
      billed: wh.billed,
      readingsLost: wh.lost,
      readingsDuplicated: wh.duplicated + storeDup,
      redeliveriesAbsorbed: wh.redeliveriesAbsorbed,
      outboxPending: pending,
    };
    report.notes.push(
      `${meters.length} MQTT meters + ${concentrators.length} concentrators × ${concentrators[0]!.meters.length} meters, ${rounds} rounds every ${paceMs} ms`,
    );
  } finally {
    if (gw) {
      gw.child.kill('SIGKILL');
      await gw.exited;
    }
    await sim?.close().catch(() => {});
    await webhook.close();
    await broker.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
  return report;
}
