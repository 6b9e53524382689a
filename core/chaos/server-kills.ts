/**
 * SIGKILL of a real `meterhub serve` child during concurrent purchases. Counter clients sell gas card after
 * card (purchase with an Idempotency-Key → confirm with the read-back → the meter takes the card), and retry
 * the same request with the same key whenever the server is gone. Kills alternate between a random moment
 * (external SIGKILL) and the worst moment (METERHUB_FAULT=kill-after-ledger-commit: the sale is durable, the
 * answer never leaves). Then the ledger is audited against what the clients were told:
 *   lost        — a client got 201 for a transaction the ledger does not hold (or holds with other gas);
 *   duplicated  — two live purchases for one (card, count), or for one Idempotency-Key;
 *   orphaned    — a sale in the ledger no client was ever told about;
 * and `meterhub audit verify` must pass on the same data.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openServerDatabase } from '../server/server.ts';
import { TokenStore } from '../auth/token-store.ts';
import { createPgDatabase } from '../ledger/testing/databases.ts';
import { freePort } from '../../gateways/testing/mosquitto.ts';
import { meterWriteBack } from '../testing/stand-in-meter.ts';
import { call, ROOT, startServe, type HttpResult, type ServeChild } from './serve-child.ts';
import { budgetSpent, newReport, sleep, timeLeft, type CampaignContext, type CampaignReport } from './types.ts';
import { environment } from '../config/environment.ts';

const MAKER = 'kingcard';

export interface ServerKillOptions {
  kills: number;
  database: 'sqlite' | 'postgres';
  clients: number;
  cardsPerClient: number;
}

interface Ack {
  txId: string;
  maker: string;
  cardNo: string;
  count: number;
  gas: number;
  key: string;
  replayed: boolean;
}

export async function serverKillCampaign(o: ServerKillOptions, ctx: CampaignContext): Promise<CampaignReport> {
  const report = newReport('server-kills', o.kills);
  report.variant = o.database;
  const f = (report.figures = {
    kills: 0,
    externalKills: 0,
    commitPointKills: 0,
    restarts: 0,
    requestRetries: 0,
    salesAcknowledged: 0,
    replayedAfterKill: 0,
    purchasesInLedger: 0,
    purchasesLost: 0,
    purchasesDuplicated: 0,
    purchasesOrphaned: 0,
    gasMismatchCards: 0,
    unexpectedErrors: 0,
    auditVerifyFailed: 0,
  });
  const dataDir = mkdtempSync(join(tmpdir(), `mh-chaos-kill-${o.database}-`));
  let databaseUrl: string | undefined;
  let drop = async () => {};
  if (o.database === 'postgres') {
    const p = await createPgDatabase();
    databaseUrl = p.url;
    drop = p.drop;
  }
  const dbOpts = { dataDir, ...(databaseUrl ? { databaseUrl } : {}) };
  const setup = await openServerDatabase(dbOpts);
  const token = (await new TokenStore(setup).create('chaos-counter', 'counter')).token;
  await setup.close();
  const port = await freePort();
  let server: ServeChild | null = null;
  let lastStartAt = Date.now();
  const url = `http://127.0.0.1:${port}`;
  const start = async (fault?: string) => {
    for (let attempt = 0; ; attempt++) {
      try {
        server = await startServe({ ...dbOpts, port, ...(fault ? { fault } : {}) });
        lastStartAt = Date.now();
        return server;
      } catch (e) {
        // The killed process's port can take a moment to be free again.
        if (attempt >= 5) throw e;
        await sleep(200);
      }
    }
  };
  const acks: Ack[] = [];
  let stopping = false;
  // Generous: a client never gives up while the campaign runs (a quick run may outlive its deadline on a loaded
  // machine); the grace counts from the last restart, so only a server that does not come back fails a client.
  const giveUpAt = () => Math.max(ctx.deadline, lastStartAt) + 60_000;

  /** One request, retried with the same key until the server answers with something other than "gone". */
  async function reliably(path: string, body: unknown, key?: string): Promise<HttpResult> {
    for (;;) {
      try {
        const r = await call(url, 'POST', path, token, body, key, 15_000);
        if (r.status !== 503) return r;
      } catch {
        f.requestRetries++;
      }
      if (Date.now() > giveUpAt()) throw new Error(`${path}: server did not come back`);
      await sleep(100 + Math.floor(ctx.rand() * 150));
    }
  }

  try {
    await start();
    f.restarts = 0;
    // Cards: issued, confirmed and taken by the meter before the storm.
    const cards: Array<{ cardNo: string; data: string }> = [];
    const prefix = (Date.now() % 1e6).toString().padStart(6, '0');
    for (let i = 0; i < o.clients * o.cardsPerClient; i++) {
      const cardNo = `${prefix}${String(i).padStart(4, '0')}`;
      const r = await reliably(
        '/v1/cards/issue',
        { maker: MAKER, cardType: '4442', cardNo, gas: 0, meterKind: 1 },
        `chaos-issue-${cardNo}`,
      );
      if (r.status !== 201) throw new Error(`issue: ${r.status} ${JSON.stringify(r.body).slice(0, 200)}`);
      const c = await reliably(`/v1/transactions/${r.body.transactionId}/confirm`, { data: r.body.data });
      if (c.status !== 200) throw new Error(`confirm: ${c.status}`);
      cards.push({ cardNo, data: meterWriteBack(MAKER, '4442', r.body.data) });
    }

    const client = async (k: number) => {
      const mine = cards.slice(k * o.cardsPerClient, (k + 1) * o.cardsPerClient);
      for (let n = 0; !stopping; n++) {
        const card = mine[n % mine.length]!;
        const sale = Math.floor(n / mine.length);
        const key = `chaos-${card.cardNo}-${sale}`;
        const gas = 5 + ((k * 7 + n) % 20);
        const p = await reliably(
          '/v1/cards/purchase',
          { cardType: '4442', data: card.data, cardNo: card.cardNo, gas },
          key,
        );
        if (p.status !== 201) {
          f.unexpectedErrors++;
          report.violations.push(`purchase ${key}: ${p.status} ${p.body?.error?.code ?? ''}`);
          return;
        }
        const replayed = p.headers.get('idempotent-replayed') === 'true';
        if (replayed) f.replayedAfterKill++;
        acks.push({
          txId: p.body.transactionId,
          maker: MAKER,
          cardNo: card.cardNo,
          count: p.body.count,
          gas,
          key,
          replayed,
        });
        const c = await reliably(`/v1/transactions/${p.body.transactionId}/confirm`, { data: p.body.data });
        if (c.status !== 200) {
          f.unexpectedErrors++;
          report.violations.push(`confirm ${p.body.transactionId}: ${c.status} ${c.body?.error?.code ?? ''}`);
          return;
        }
        card.data = meterWriteBack(MAKER, '4442', p.body.data);
      }
    };
    const clients = Array.from({ length: o.clients }, (_, k) => client(k));

    for (let i = 0; i < o.kills; i++) {
      if (budgetSpent(ctx, i)) {
        report.notes.push(`time budget reached after ${i} of ${o.kills} kills`);
        break;
      }
      await sleep(300 + Math.floor(ctx.rand() * (ctx.quick ? 500 : 1500)));
      const s = server as ServeChild | null;
      if (i % 2 === 0) {
        // A random moment, with sales in flight.
        const x = await s!.kill('SIGKILL');
        if (x.signal !== 'SIGKILL')
          report.violations.push(`kill ${i}: server ended by ${x.code ?? x.signal}, not SIGKILL`);
        f.externalKills++;
      } else {
        // The worst moment: a restart armed to die right after its first ledger commit.
        await s!.kill('SIGTERM');
        const armed = await start('kill-after-ledger-commit');
        let timer: NodeJS.Timeout | undefined;
        const x = await Promise.race([
          armed.exited,
          new Promise<null>((r) => {
            timer = setTimeout(() => r(null), Math.max(5_000, timeLeft(ctx)));
          }),
        ]);
        clearTimeout(timer);
        if (!x) {
          await armed.kill('SIGKILL');
          report.notes.push(`kill ${i}: no commit within the budget, killed from outside`);
        } else if (x.signal !== 'SIGKILL')
          report.violations.push(`kill ${i}: armed server ended by ${x.code ?? x.signal}`);
        f.commitPointKills++;
      }
      f.kills++;
      report.injected++;
      await sleep(100 + Math.floor(ctx.rand() * 400));
      await start();
      f.restarts++;
    }
    // Let the clients sell a little on the last server, then stop after their current sale.
    await sleep(ctx.quick ? 300 : 1000);
    stopping = true;
    await Promise.all(clients);
    f.salesAcknowledged = acks.length;
  } finally {
    await (server as ServeChild | null)?.kill('SIGTERM');
  }

  try {
    await audit(report, acks, dbOpts);
    const v = await auditVerify(dataDir, databaseUrl);
    if (!v.ok) {
      f.auditVerifyFailed = 1;
      report.violations.push(`meterhub audit verify failed: ${v.output.slice(0, 300)}`);
    } else report.notes.push(`meterhub audit verify: ${v.output.trim()}`);
  } finally {
    await drop();
    rmSync(dataDir, { recursive: true, force: true });
  }
  report.notes.push(
    `${o.database}; ${o.clients} clients × ${o.cardsPerClient} cards; every request carries an Idempotency-Key and is retried with it`,
  );
  return report;
}

async function audit(
  report: CampaignReport,
  acks: Ack[],
  dbOpts: { dataDir: string; databaseUrl?: string },
): Promise<void> {
  const f = report.figures;
  const db = await openServerDatabase(dbOpts);
  try {
    const rows = await db.db
      .selectFrom('ledger_transactions')
      .select(['id', 'op', 'base_op', 'state', 'maker', 'card_no', 'count', 'gas', 'idem_key'])
      .where('base_op', '=', 'purchase')
      .execute();
    const live = rows.filter((r) => ['PREPARED', 'CONFIRMED', 'FAILED'].includes(r.state));
    f.purchasesInLedger = live.length;
    const byId = new Map(rows.map((r) => [r.id, r]));
    for (const a of acks) {
      const r = byId.get(a.txId);
      if (!r || r.card_no !== a.cardNo || r.count !== a.count || Number(r.gas) !== a.gas || r.state !== 'CONFIRMED') {
        f.purchasesLost!++;
        report.violations.push(
          `lost: client got 201 for ${a.txId} (${a.cardNo} #${a.count}, ${a.gas}) but the ledger has ${r ? `${r.state} ${r.gas}` : 'nothing'}`,
        );
      }
    }
    const dup = (key: (r: (typeof live)[number]) => string | null, what: string) => {
      const groups = new Map<string, number>();
      for (const r of live) {
        const k = key(r);
        if (k) groups.set(k, (groups.get(k) ?? 0) + 1);
      }
      for (const [k, n] of groups)
        if (n > 1) {
          f.purchasesDuplicated! += n - 1;
          report.violations.push(`duplicated: ${n} live purchases for ${what} ${k}`);
        }
    };
    dup((r) => `${r.maker}/${r.card_no}#${r.count}`, 'card count');
    dup((r) => (r.op === 'purchase' ? r.idem_key : null), 'Idempotency-Key');
    const told = new Set(acks.map((a) => a.txId));
    for (const r of live)
      if (r.op === 'purchase' && !told.has(r.id)) {
        f.purchasesOrphaned!++;
        report.violations.push(`orphaned: ${r.id} (${r.card_no} #${r.count}) is in the ledger but no client was told`);
      }
    // Gas per card: what the clients were told equals what the ledger will bill.
    const sum = (xs: Array<{ cardNo: string; gas: number }>) =>
      xs.reduce((m, x) => m.set(x.cardNo, (m.get(x.cardNo) ?? 0) + x.gas), new Map<string, number>());
    const told2 = sum(acks);
    const held = sum(live.filter((r) => r.op === 'purchase').map((r) => ({ cardNo: r.card_no!, gas: Number(r.gas) })));
    for (const [card, g] of new Map([...told2, ...held]))
      if ((told2.get(card) ?? 0) !== (held.get(card) ?? 0)) {
        f.gasMismatchCards!++;
        report.violations.push(
          `gas on ${card}: clients told ${told2.get(card) ?? 0}, ledger holds ${held.get(card) ?? 0} (${g})`,
        );
      }
  } finally {
    await db.close();
  }
}

function auditVerify(dataDir: string, databaseUrl?: string): Promise<{ ok: boolean; output: string }> {
  const env: NodeJS.ProcessEnv = { ...environment() };
  delete env.DATABASE_URL;
  if (databaseUrl) env.DATABASE_URL = databaseUrl;
  const p = spawn(process.execPath, [join(ROOT, 'bin', 'meterhub.mjs'), 'audit', 'verify', '--data', dataDir], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  p.stdout.on('data', (d) => {
    out += d;
  });
  p.stderr.on('data', (d) => {
    out += d;
  });
  return new Promise((resolve) => p.once('exit', (code) => resolve({ ok: code === 0, output: out })));
}
