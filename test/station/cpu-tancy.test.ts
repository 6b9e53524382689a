/**
 * A Tancy CPU-card counter flow through the station, with the maker's library called locally through the
 * Mono-run .NET bridge (plugins/tancy/bridge loading the C# stand-in assembly, 替身库) — the way a counter PC
 * runs Tancy's .NET-only library. The simulated CPU card and PSAM are the stand-in's (shared card-file format).
 * The ledger is the central server's (a real `meterhub serve` process): the station prepares there before the
 * library writes, and confirms with the library's read-back. Maker id "tancy" on both sides: the server knows
 * the maker from its bundled manifest (rules, card types), the station drives the bridge.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  cleanup,
  ROOT,
  server,
  startCentral,
  startTestStation,
  type CentralProcess,
  type TestStation,
} from './support.ts';

const monoPresent = spawnSync('mono', ['--version']).status === 0;
if (!monoPresent && process.env.CI === 'true') throw new Error('mono is required in CI (apt mono-runtime mono-mcs)');

const work = mkdtempSync(join(tmpdir(), 'mh-station-tancy-'));
const platform = `${process.platform}-${process.arch}`;
let central: CentralProcess;
let st: TestStation;

/** The card's transactions in the central server's ledger, as `operation:state:count`. */
async function ledger(cardNo: string): Promise<string[]> {
  const h = await server(central, 'GET', `/v1/transactions?maker=tancy&cardNo=${cardNo}`, central.counterToken);
  expect(h.status).toBe(200);
  return h.body.transactions.map((t: { operation: string; state: string; count: number; cardType: string }) => {
    expect(t.cardType).toBe('cpu');
    return `${t.operation}:${t.state}:${t.count}`;
  });
}

beforeAll(async () => {
  if (!monoPresent) return;
  const b = spawnSync(process.execPath, [join(ROOT, 'plugins/tancy/bridge/build.mjs')], {
    cwd: ROOT,
    encoding: 'utf8',
  });
  expect(b.status, b.stderr).toBe(0);
  const dir = join(work, 'makers', 'tancy');
  mkdirSync(dir, { recursive: true });
  const tancy = join(ROOT, 'plugins/tancy');
  writeFileSync(
    join(dir, 'meterhub-plugin.json'),
    JSON.stringify({
      id: 'tancy',
      name: { 'zh-CN': '天信（.NET 桥接）', en: 'Tancy (.NET bridge)' },
      cardTypes: ['cpu'],
      library: { [platform]: join(ROOT, 'build/tancy/Tancy.StandIn.dll') },
      libraryKind: { [platform]: 'dotnet' },
      bridge: { exe: { [platform]: 'mono' }, args: [join(ROOT, 'build/tancy/MeterHub.TancyBridge.exe')] },
      standIn: true,
      rules: { requireEmptyCardBeforePurchase: true },
      driver: { callTimeoutMs: 20000 },
      catalogues: {
        returnCodes: join(tancy, 'catalogues/return-codes.json'),
        toolCards: join(tancy, 'catalogues/tool-cards.json'),
      },
    }),
  );
  process.env.METERHUB_SIM_CPU_DIR = join(work, 'sim-cpu');
  central = await startCentral();
  // Only the bridge plugin: the station's CPU maker is Tancy through .NET.
  st = await startTestStation(central, { bundledPlugins: false, pluginPaths: [join(work, 'makers')], cpuCom: 2 });
}, 180_000);
afterAll(async () => {
  await st?.close();
  await central?.stop();
  if (central) cleanup(central.dataDir);
  cleanup(work);
});

describe.runIf(monoPresent)('Tancy CPU card at the station through the Mono-run .NET bridge', () => {
  it("the station's CPU driver is the .NET bridge", async () => {
    const info = await st.station.pluginHost.driver('tancy').info();
    expect(info.runtime).toMatch(/mono|\.net|clr/i);
  });

  it('checks the PSAM first: "PSAM 未插入 / PSAM missing", nothing recorded or written', async () => {
    await st.call('POST', '/v1/station/sim/insert', { cardType: 'cpu' });
    await st.call('POST', '/v1/station/sim/psam', { present: false });
    const r = await st.call('POST', '/v1/station/issue', { maker: 'tancy', cardNo: '7700001', gas: 30, meterKind: 2 });
    expect(r.status).toBe(409);
    expect(r.body.error).toMatchObject({
      code: 'STATION_PSAM_MISSING',
      messageZh: expect.stringContaining('PSAM 未插入'),
      messageEn: expect.stringContaining('PSAM missing'),
    });
    expect(await ledger('7700001')).toEqual([]);
    expect((await st.call('GET', '/v1/station/sim/card')).body.data).toBe('F'.repeat(512));
    // The library itself also refuses without the PSAM (the stand-in's -100) — after the server has the
    // transaction PREPARED: the station says so, and that the card was not written.
    st.sim.insertSam(1);
    const lib = await st.call('POST', '/v1/station/issue', {
      maker: 'tancy',
      cardNo: '7700001',
      gas: 30,
      meterKind: 2,
    });
    expect(lib.status).toBe(409);
    expect(lib.body.error).toMatchObject({
      code: 'STATION_WRITE_FAILED',
      details: {
        cardType: 'cpu',
        ledgerState: 'PREPARED',
        cardState: 'not-written',
        cause: { code: 'STATION_PSAM_MISSING', rc: -100 },
        recovery: ['retry', 'reverse'],
      },
    });
    expect(lib.body.error.messageZh).toContain('PSAM 未插入');
    expect(lib.body.error.messageZh).toContain('PREPARED');
    expect(await ledger('7700001')).toEqual(['issue:PREPARED:1']);
    expect((await st.call('GET', '/v1/station/sim/card')).body.data).toBe('F'.repeat(512));
    // The counter reverses its own transaction (no supervisor): the station reads the card (still blank) first.
    await st.call('POST', '/v1/station/sim/psam', { present: true });
    const rev = await st.call('POST', '/v1/station/recover', {
      transactionId: lib.body.error.details.transactionId,
      action: 'reverse',
    });
    expect(rev.status, JSON.stringify(rev.body)).toBe(200);
    expect(rev.body).toMatchObject({ action: 'reverse', state: 'REVERSED', cardSent: true });
    expect(await ledger('7700001')).toEqual(['issue:REVERSED:1']);
    expect((await server(central, 'GET', '/v1/cards/tancy/7700001', central.counterToken)).status).toBe(404);
  });

  it('issue, read, refund, purchase (count from card + ledger), format, reissue with the ledger count', async () => {
    const cardNo = '7700002';
    await st.call('POST', '/v1/station/sim/insert', { cardType: 'cpu' });
    const issue = await st.call('POST', '/v1/station/issue', { maker: 'tancy', cardNo, gas: 30, meterKind: 2 });
    expect(issue.status, JSON.stringify(issue.body)).toBe(200);
    expect(issue.body).toMatchObject({
      operation: 'issue',
      state: 'CONFIRMED',
      ledger: 'central-server',
      cardType: 'cpu',
      count: 1,
      standIn: true,
    });
    expect((await st.call('GET', '/v1/station/card')).body).toMatchObject({
      cardType: 'cpu',
      kind: 'user',
      maker: 'tancy',
      cardNo,
      gas: 30,
      count: 1,
      meterKind: 2,
      ledger: { known: true, where: 'central-server', count: 1, pendingTransactionId: null },
    });

    // Gas still on the card: the server's ledger refuses a sale (Tancy meters take exactly count + 1).
    const early = await st.call('POST', '/v1/station/purchase', { gas: 12 });
    expect(early.status).toBe(409);
    expect(early.body.error).toMatchObject({ code: 'CARD_NOT_EMPTY', details: { source: 'central-server' } });

    expect((await st.call('POST', '/v1/station/refund', {})).body).toMatchObject({
      operation: 'refund',
      gas: 0,
      count: 1,
    });
    const buy = await st.call('POST', '/v1/station/purchase', { gas: 12 });
    expect(buy.status, JSON.stringify(buy.body)).toBe(200);
    expect(buy.body).toMatchObject({ operation: 'purchase', gas: 12, count: 2 });
    expect((await st.call('GET', '/v1/station/card')).body).toMatchObject({ gas: 12, count: 2 });
    expect((await st.call('POST', '/v1/station/refund', {})).status).toBe(200);
    const fmt = await st.call('POST', '/v1/station/format', {});
    expect(fmt.status, JSON.stringify(fmt.body)).toBe(200);
    expect((await st.call('GET', '/v1/station/card')).body).toMatchObject({
      cardType: 'cpu',
      kind: 'blank-or-unknown',
    });

    // A blank card as the replacement: the count comes from the ledger (2), not from the request.
    await st.call('POST', '/v1/station/sim/insert', { cardType: 'cpu' });
    const re = await st.call('POST', '/v1/station/reissue', { maker: 'tancy', cardNo, gas: 0, meterKind: 2 });
    expect(re.status, JSON.stringify(re.body)).toBe(200);
    expect(re.body).toMatchObject({ operation: 'reissue', count: 2, gas: 0 });
    expect((await st.call('GET', '/v1/station/card')).body).toMatchObject({ cardNo, count: 2, gas: 0 });

    // The central server's ledger holds every CPU write, confirmed, with the counts the server set.
    expect(await ledger(cardNo)).toEqual([
      'issue:CONFIRMED:1',
      'refund:CONFIRMED:1',
      'purchase:CONFIRMED:2',
      'refund:CONFIRMED:2',
      'format:CONFIRMED:2',
      'reissue:CONFIRMED:2',
    ]);
    // The station's view of the same ledger, and the read-backs the server recorded.
    const local = (await st.call('GET', `/v1/station/cpu-ledger?maker=tancy&cardNo=${cardNo}`)).body;
    expect(local.where).toBe('central-server');
    expect(local.transactions).toHaveLength(6);
    expect((await server(central, 'GET', `/v1/cards/tancy/${cardNo}`, central.counterToken)).body).toMatchObject({
      cardType: 'cpu',
      count: 2,
      status: 'active',
      reissues: 1,
      pendingTransaction: null,
    });
  });
});
