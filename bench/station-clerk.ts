/**
 * The station flow as a clerk feels it: one clerk at the counter sells gas on an SLE4442 user card, one sale
 * after another — read the card (GET /v1/station/card: the reader reads the card, the central server looks it
 * up), then sell (POST /v1/station/purchase: prepare on the server, write the card, read it back, confirm).
 * The reader is the simulated one with the chip's byte timing at a real reader's speed (sim-link.ts
 * MINGWAH_9600), the server a real `meterhub serve` process on SQLite, the station in this process over real HTTP
 * (the same parts as test/station/).
 *
 * Bound: the card I/O time alone, computed from the bytes the sale's reader calls moved (counted by the sim reader,
 * per call: 1 function byte + 2 bytes per `__int16` parameter + data out; 2 status bytes + data back), at
 * 10 bits a byte at 9600 baud (8N1), plus 2.5 ms per EEPROM erase/write operation of the chip. Sources:
 * /work/shared/reference/card-domain.md §3 (Mingwah mwic_32 SDK calls: srd_4442, swr_4442, prd_4442, csc_4442,
 * rsct_4442, get_status, chk_card and their parameters) and §1 (SLE4442: "2.5 ms per byte for both erasing and
 * writing", Siemens data sheet text via seekic.com). The Mingwah serial frame and the reader's own processing
 * time are not in the references and count 0, so the bound is a lower bound and the ratio errs low.
 * Ratio = bound / measured time per sale (1.0 = the sale takes exactly as long as its card I/O).
 * The meter's use of the card between sales (the stand-in meter takes the gas) is not timed.
 *
 * The bound counts the bytes the flow chooses to move, so reading the card more often than needed raises the bound
 * and the ratio with it. Context figure against that: the card I/O of a minimal sale — one full read (srd 0..255),
 * one PSC verification, the bytes the sale programmed written once and read back once, one protection read — with
 * the same link model; the flow's card I/O over it says how much of the clerk's wait is card I/O we could skip.
 *
 * Run: npx tsx bench/station-clerk.ts [sales=20]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import type pino from 'pino';
import { MINGWAH_9600, linkMs, noCost, type LinkCost } from '../core/station/readers/sim/sim-link.ts';
import { SimReader } from '../core/station/readers/sim/sim-reader.ts';
import { createStationLogger } from '../core/station/station.ts';
import { cleanup, freshCardNo, startCentral, startTestStation } from '../test/station/support.ts';

const SALES = Number(process.argv[2] ?? 20);
const WARMUP = 3;
const MAKER = 'kingcard';

const sum = (a: LinkCost, b: LinkCost): LinkCost => ({
  commands: a.commands + b.commands,
  sent: a.sent + b.sent,
  received: a.received + b.received,
  programmed: a.programmed + b.programmed,
});
const r = (x: number, d = 1) => +x.toFixed(d);

const central = await startCentral();
const reader = new SimReader({ link: { ...MINGWAH_9600 } });
const st = await startTestStation(central, {
  reader,
  // Warnings and errors only: debug logging per call would be our cost, not the card's.
  logger: createStationLogger({ level: 'warn', destination: process.stderr }) as pino.Logger,
});

async function ok(method: string, path: string, body?: unknown): Promise<any> {
  const res = await st.call(method, path, body);
  if (res.status !== 200) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

type Sale = { readMs: number; buyMs: number; read: LinkCost; buy: LinkCost; calls: Record<string, number> };

/** A minimal sale's card I/O (see the header): verify is 2 EEPROM operations, the rest are bytes written. */
function minimalSale(programmed: number): LinkCost {
  const w = Math.max(0, programmed - 2);
  return {
    commands: 5, // srd 0..255, csc, swr, srd of the written bytes, prd
    sent: 5 + 6 + (5 + w) + 5 + 3,
    received: 258 + 2 + 2 + (2 + w) + 6,
    programmed,
  };
}

try {
  await ok('POST', '/v1/station/sim/insert', { cardType: '4442' });
  await ok('POST', '/v1/station/issue', { maker: MAKER, cardNo: freshCardNo('47'), gas: 10, meterKind: 1 });
  const sales: Sale[] = [];
  for (let i = 0; i < WARMUP + SALES; i++) {
    // The customer's meter takes the gas between visits (not timed, not card I/O of the counter).
    await ok('POST', '/v1/station/sim/meter', { status: 1, lastCode: 3, months: [[202510, 1000 + i]] });
    reader.resetLinkCost();
    const t0 = performance.now();
    const card = await ok('GET', '/v1/station/card');
    const t1 = performance.now();
    const read = reader.linkCost();
    const calls: Record<string, number> = { ...reader.linkCalls() };
    reader.resetLinkCost();
    const buy = await ok('POST', '/v1/station/purchase', { gas: 10 });
    const t2 = performance.now();
    if (card.kind !== 'user' || buy.state !== 'CONFIRMED')
      throw new Error(`sale ${i}: card ${card.kind}, purchase ${buy.state}`);
    for (const [k, v] of Object.entries(reader.linkCalls())) calls[k] = (calls[k] ?? 0) + v;
    if (i >= WARMUP) sales.push({ readMs: t1 - t0, buyMs: t2 - t1, read, buy: reader.linkCost(), calls });
  }

  const t = MINGWAH_9600;
  const totalMs = sales.reduce((a, s) => a + s.readMs + s.buyMs, 0);
  const readMs = sales.reduce((a, s) => a + s.readMs, 0);
  const buyMs = sales.reduce((a, s) => a + s.buyMs, 0);
  const readCost = sales.reduce((a, s) => sum(a, s.read), noCost());
  const buyCost = sales.reduce((a, s) => sum(a, s.buy), noCost());
  const readBound = linkMs(t, readCost);
  const buyBound = linkMs(t, buyCost);
  const bound = readBound + buyBound;
  const perSale = sales.map((s) => s.readMs + s.buyMs).sort((a, b) => a - b);
  const n = sales.length;
  const all = sum(readCost, buyCost);
  const minimalMs = sales.reduce((a, s) => a + linkMs(t, minimalSale(s.read.programmed + s.buy.programmed)), 0) / n;
  const out = {
    settings: { sales: n, warmup: WARMUP, maker: MAKER, cardType: '4442', store: 'sqlite', link: t },
    machine: { cpus: cpus().length, cpu: cpus()[0]?.model ?? 'unknown', node: process.version, load: loadavg() },
    perSale: {
      measuredMs: r(totalMs / n),
      p50Ms: r(perSale[Math.floor(n / 2)]!),
      maxMs: r(perSale[n - 1]!),
      boundMs: r(bound / n),
      ratio: r(bound / totalMs, 3),
      bytes: { commands: all.commands / n, sent: all.sent / n, received: all.received / n },
      programmed: all.programmed / n,
    },
    read: { measuredMs: r(readMs / n), boundMs: r(readBound / n), ratio: r(readBound / readMs, 3) },
    purchase: { measuredMs: r(buyMs / n), boundMs: r(buyBound / n), ratio: r(buyBound / buyMs, 3) },
    /** Reader calls of the last sale, by driver method: where the card time goes. */
    callsPerSale: sales[n - 1]!.calls,
    minimalSale: { boundMs: r(minimalMs), flowOverMinimal: r(bound / n / minimalMs, 2) },
  };
  console.log(
    `${n} sales at 1 clerk: ${out.perSale.measuredMs} ms per sale (p50 ${out.perSale.p50Ms}, max ${out.perSale.maxMs}); ` +
      `card I/O bound ${out.perSale.boundMs} ms (${r(all.commands / n, 1)} reader calls, ${r(all.sent / n)} + ` +
      `${r(all.received / n)} bytes, ${r(all.programmed / n)} EEPROM operations per sale); ratio ${out.perSale.ratio}`,
  );
  console.log(
    `  read ${out.read.measuredMs} ms vs ${out.read.boundMs} ms card I/O; purchase ${out.purchase.measuredMs} ms vs ${out.purchase.boundMs} ms`,
  );
  console.log(
    `  a minimal sale's card I/O: ${out.minimalSale.boundMs} ms (the flow moves ${out.minimalSale.flowOverMinimal}× that); calls per sale ${JSON.stringify(out.callsPerSale)}`,
  );
  const results = join(import.meta.dirname, 'results');
  mkdirSync(results, { recursive: true });
  writeFileSync(join(results, 'station-clerk.json'), JSON.stringify(out, null, 2) + '\n');
  if (process.env.METERHUB_BENCH_OUT)
    writeFileSync(process.env.METERHUB_BENCH_OUT, JSON.stringify(out, null, 2) + '\n');
} finally {
  await st.close();
  await central.stop();
  cleanup(central.dataDir);
}
