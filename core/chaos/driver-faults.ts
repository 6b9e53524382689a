/**
 * Driver faults through the real card API: a `meterhub serve` child with the fault builds
 * (build/native/faults, 替身库 on the kingcard layout) as plugins. Each injected fault is one HTTP call that
 * must fail with the right error (crash → 503 DRIVER_CRASHED, hang → 503 DRIVER_TIMEOUT, malformed output →
 * DRIVER_OUTPUT_INVALID (502 over HTTP, no Retry-After: the library will answer the same again), a library
 * claiming every card → 409 CARD_CONFLICT), record nothing in the ledger, and leave the server process alive
 * and serving: the same pid answers /v1/health and a sale on a healthy maker, and the faulty driver is respawned
 * and answers its working functions again.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openServerDatabase } from '../server/server.ts';
import { TokenStore } from '../auth/token-store.ts';
import { faultPlugin } from '../testing/fault-plugin.ts';
import { call, ROOT, startServe, type ServeChild } from './serve-child.ts';
import { budgetSpent, newReport, type CampaignContext, type CampaignReport } from './types.ts';

export const DRIVER_FAULT_KINDS = ['segv', 'abort', 'hang', 'overrun', 'garbage', 'claim_all'] as const;
type Kind = (typeof DRIVER_FAULT_KINDS)[number];

const EXPECTED: Record<Kind, { status: number; code: string; respawn: boolean }> = {
  segv: { status: 503, code: 'DRIVER_CRASHED', respawn: true },
  abort: { status: 503, code: 'DRIVER_CRASHED', respawn: true },
  hang: { status: 503, code: 'DRIVER_TIMEOUT', respawn: true },
  // Malformed card data: 502 and no Retry-After, as core/driver/driver-errors.ts declares
  // (the library will answer the same).
  overrun: { status: 502, code: 'DRIVER_OUTPUT_INVALID', respawn: false },
  garbage: { status: 502, code: 'DRIVER_OUTPUT_INVALID', respawn: false },
  claim_all: { status: 409, code: 'CARD_CONFLICT', respawn: false },
};

const pluginId = (k: Kind) => `fault-${k.replace('_', '-')}`;
/** A healthy 4442 maker whose layout differs from the fault builds' (kingcard) one. */
const GOOD = 'chint';

export async function driverFaultCampaign(count: number, ctx: CampaignContext): Promise<CampaignReport> {
  const report = newReport('driver-faults', count);
  const f = (report.figures = {
    injected: 0,
    survived: 0,
    rightError: 0,
    wrongError: 0,
    respawns: 0,
    expectedRespawns: 0,
    serverRestarts: 0,
    ledgerRowsFromFailedCalls: 0,
    healthyCallsAfterFault: 0,
  });
  const missing = DRIVER_FAULT_KINDS.filter(
    (k) => !existsSync(join(ROOT, 'build', 'native', 'faults', `libgascard_fault_${k}.so`)),
  );
  if (missing.length) throw new Error(`fault builds missing (${missing.join(', ')}): run npm run build:native`);

  const work = mkdtempSync(join(tmpdir(), 'mh-chaos-driver-'));
  const pluginDirs = DRIVER_FAULT_KINDS.map((k) => faultPlugin(k, pluginId(k), ['4442']));
  const db = await openServerDatabase({ dataDir: work });
  const tokens = new TokenStore(db);
  const ops = (await tokens.create('chaos-ops', 'ops')).token;
  const counter = (await tokens.create('chaos-counter', 'counter')).token;
  await db.close();
  let server: ServeChild | null = null;
  let seq = 0;
  const cardNo = () => `${(Date.now() % 1e6).toString().padStart(6, '0')}${String(++seq).padStart(4, '0')}`;
  try {
    server = await startServe({ dataDir: work, pluginPaths: pluginDirs });
    const s = server;
    const api = (method: string, path: string, token: string, body?: unknown, idem?: string) =>
      call(s.url, method, path, token, body, idem);
    // The kingcard stand-in shares the fault builds' layout: with both enabled every card would be a conflict.
    await expectOk(api('POST', '/v1/plugins/kingcard/disable', ops), 'disable kingcard');
    const restarts = async (id: string) =>
      (((await api('GET', '/v1/plugins', ops)).body.plugins as any[]) ?? []).find((p: { id: string }) => p.id === id)
        ?.driver?.restarts ?? 0;

    let order: Kind[] = [];
    for (let i = 0; i < count; i++) {
      if (budgetSpent(ctx, i)) {
        report.notes.push(`time budget reached after ${i} of ${count} faults`);
        break;
      }
      // Every kind once per cycle, in a seeded random order.
      if (i % DRIVER_FAULT_KINDS.length === 0) order = shuffled(DRIVER_FAULT_KINDS, ctx.rand);
      const kind = order[i % DRIVER_FAULT_KINDS.length]!;
      const id = pluginId(kind);
      const want = EXPECTED[kind];
      await expectOk(api('POST', `/v1/plugins/${id}/enable`, ops), `enable ${id}`);
      const before = await restarts(id);
      const no = cardNo();
      let got: { status: number; body: any; headers: Headers };
      let ledgerProbe: { maker: string; cardNo: string; op: string } | null = null;
      if (kind === 'overrun' || kind === 'garbage') {
        // WriteNew returns malformed card data: the issue must be refused before anything is recorded.
        got = await api(
          'POST',
          '/v1/cards/issue',
          counter,
          { maker: id, cardType: '4442', cardNo: no, gas: 5, meterKind: 1 },
          `chaos-df-${no}`,
        );
        ledgerProbe = { maker: id, cardNo: no, op: 'issue' };
      } else if (kind === 'claim_all') {
        const issued = await expectOk(
          api('POST', '/v1/cards/issue', counter, { maker: GOOD, cardType: '4442', cardNo: no, gas: 0, meterKind: 1 }),
          'issue good card',
        );
        got = await api('POST', '/v1/cards/read', counter, { cardType: '4442', data: issued.body.data });
        await api('POST', `/v1/transactions/${issued.body.transactionId}/reverse`, counter, {});
      } else {
        // WriteNew works in these builds; Read and Buy crash or hang. Alternate a card read and a write
        // confirmation (the read-back goes through Read): a failed confirmation must leave the write PREPARED.
        const issued = await expectOk(
          api('POST', '/v1/cards/issue', counter, { maker: id, cardType: '4442', cardNo: no, gas: 0, meterKind: 1 }),
          `issue on ${id}`,
        );
        if (i % 2 === 0) {
          got = await api('POST', '/v1/cards/read', counter, { cardType: '4442', data: issued.body.data });
        } else {
          got = await api('POST', `/v1/transactions/${issued.body.transactionId}/confirm`, counter, {
            data: issued.body.data,
          });
          const tx = await api('GET', `/v1/transactions/${issued.body.transactionId}`, counter);
          if (tx.body?.state !== 'PREPARED') {
            f.ledgerRowsFromFailedCalls++;
            report.violations.push(`${kind}: a failed confirmation moved the write to ${tx.body?.state}`);
          }
        }
        await api('POST', `/v1/transactions/${issued.body.transactionId}/reverse`, counter, {});
      }
      report.injected++;
      f.injected++;
      const code = got.body?.error?.code;
      const retryAfterOk = want.status !== 503 || Number(got.headers.get('retry-after')) >= 1;
      const right = got.status === want.status && code === want.code && retryAfterOk;
      if (right) f.rightError++;
      else {
        f.wrongError++;
        report.violations.push(
          `${kind}: expected ${want.status} ${want.code}, got ${got.status} ${code ?? JSON.stringify(got.body).slice(0, 120)}`,
        );
      }
      if (ledgerProbe) {
        const h = await api('GET', `/v1/transactions?maker=${ledgerProbe.maker}&cardNo=${ledgerProbe.cardNo}`, counter);
        const rows = ((h.body?.transactions ?? []) as Array<{ operation: string }>).filter(
          (t) => t.operation === ledgerProbe.op,
        );
        if (rows.length) {
          f.ledgerRowsFromFailedCalls += rows.length;
          report.violations.push(`${kind}: a failed ${ledgerProbe.op} left ${rows.length} ledger row(s)`);
        }
      }
      // The faulty driver comes back: a working function of the same library answers again.
      let driverBack = true;
      if (want.respawn) {
        f.expectedRespawns++;
        const again = await api('POST', '/v1/cards/issue', counter, {
          maker: id,
          cardType: '4442',
          cardNo: cardNo(),
          gas: 0,
          meterKind: 1,
        });
        driverBack = again.status === 201;
        if (driverBack) await api('POST', `/v1/transactions/${again.body.transactionId}/reverse`, counter, {});
        const delta = (await restarts(id)) - before;
        f.respawns += delta;
        if (delta < 1) report.violations.push(`${kind}: driver host was not respawned`);
        if (!driverBack) report.violations.push(`${kind}: respawned driver did not serve WriteNew (${again.status})`);
      }
      await expectOk(api('POST', `/v1/plugins/${id}/disable`, ops), `disable ${id}`);
      // The server itself: same process, healthy, still sells on a healthy maker.
      const health = await api('GET', '/v1/health', ops);
      const good = await api('POST', '/v1/cards/issue', counter, {
        maker: GOOD,
        cardType: '4442',
        cardNo: cardNo(),
        gas: 0,
        meterKind: 1,
      });
      const read =
        good.status === 201
          ? await api('POST', '/v1/cards/read', counter, { cardType: '4442', data: good.body.data })
          : good;
      if (good.status === 201) await api('POST', `/v1/transactions/${good.body.transactionId}/reverse`, counter, {});
      const serverOk = s.alive() && health.status === 200 && good.status === 201 && read.status === 200;
      if (serverOk) f.healthyCallsAfterFault++;
      else
        report.violations.push(
          `${kind}: server not serving after the fault (alive ${s.alive()}, health ${health.status}, issue ${good.status}, read ${read.status})`,
        );
      if (right && serverOk && driverBack) f.survived++;
    }
    if (!s.alive()) f.serverRestarts++;
  } finally {
    await server?.kill('SIGTERM');
    for (const d of pluginDirs) rmSync(d, { recursive: true, force: true });
    rmSync(work, { recursive: true, force: true });
  }
  report.notes.push(
    `server pid unchanged across ${f.injected} faults; fault plugins enabled one at a time through the ops API (kingcard disabled: same layout)`,
  );
  return report;
}

async function expectOk<T extends { status: number; body: any }>(p: Promise<T>, what: string): Promise<T> {
  const r = await p;
  if (r.status >= 300) throw new Error(`${what}: HTTP ${r.status} ${JSON.stringify(r.body).slice(0, 200)}`);
  return r;
}

function shuffled<T>(items: readonly T[], rand: () => number): T[] {
  const a = [...items];
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}
