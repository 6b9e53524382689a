/**
 * A Tancy CPU-card counter flow through the station, with the maker's library called locally through the
 * Mono-run .NET bridge (plugins/tancy/bridge loading the C# stand-in assembly, 替身库) — the way a counter PC
 * runs Tancy's .NET-only library. The simulated CPU card and PSAM are the stand-in's (shared card-file format).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanup, ROOT, startCentral, startTestStation, type CentralProcess, type TestStation } from './support.ts';

const monoPresent = spawnSync('mono', ['--version']).status === 0;
if (!monoPresent && process.env.CI === 'true') throw new Error('mono is required in CI (apt mono-runtime mono-mcs)');

const work = mkdtempSync(join(tmpdir(), 'mh-station-tancy-'));
const platform = `${process.platform}-${process.arch}`;
let central: CentralProcess;
let st: TestStation;

beforeAll(async () => {
  if (!monoPresent) return;
  const b = spawnSync(process.execPath, [join(ROOT, 'plugins/tancy/bridge/build.mjs')], { cwd: ROOT, encoding: 'utf8' });
  expect(b.status, b.stderr).toBe(0);
  const dir = join(work, 'makers', 'tancy-net');
  mkdirSync(dir, { recursive: true });
  const tancy = join(ROOT, 'plugins/tancy');
  writeFileSync(join(dir, 'meterhub-plugin.json'), JSON.stringify({
    id: 'tancy-net', name: { 'zh-CN': '天信（.NET 桥接）', en: 'Tancy (.NET bridge)' }, cardTypes: ['cpu'],
    library: { [platform]: join(ROOT, 'build/tancy/Tancy.StandIn.dll') },
    bridge: { exe: { [platform]: 'mono' }, args: [join(ROOT, 'build/tancy/MeterHub.TancyBridge.exe')] },
    standIn: true, rules: { requireEmptyCardBeforePurchase: true }, driver: { callTimeoutMs: 20000 },
    catalogues: { returnCodes: join(tancy, 'catalogues/return-codes.json'), toolCards: join(tancy, 'catalogues/tool-cards.json') },
  }));
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
  it('the station\'s CPU driver is the .NET bridge', async () => {
    const info = await st.station.pluginHost.driver('tancy-net').info();
    expect(info.runtime).toMatch(/mono|\.net|clr/i);
  });

  it('checks the PSAM first: "PSAM 未插入 / PSAM missing", nothing recorded or written', async () => {
    await st.call('POST', '/v1/station/sim/insert', { cardType: 'cpu' });
    await st.call('POST', '/v1/station/sim/psam', { present: false });
    const r = await st.call('POST', '/v1/station/issue', { maker: 'tancy-net', cardNo: '7700001', gas: 30, meterKind: 2 });
    expect(r.status).toBe(409);
    expect(r.body.error).toMatchObject({ code: 'STATION_PSAM_MISSING', messageZh: expect.stringContaining('PSAM 未插入'), messageEn: expect.stringContaining('PSAM missing') });
    expect((await st.call('GET', '/v1/station/cpu-ledger?maker=tancy-net&cardNo=7700001')).body.transactions).toEqual([]);
    expect((await st.call('GET', '/v1/station/sim/card')).body.data).toBe('F'.repeat(512));
    // The library itself also refuses without the PSAM (the stand-in's -100), and the station says the same.
    st.sim.insertSam(1);
    const lib = await st.call('POST', '/v1/station/issue', { maker: 'tancy-net', cardNo: '7700001', gas: 30, meterKind: 2 });
    expect(lib.status).toBe(409);
    expect(lib.body.error).toMatchObject({ code: 'STATION_PSAM_MISSING', details: { rc: -100 } });
    expect((await st.call('GET', '/v1/station/cpu-ledger?maker=tancy-net&cardNo=7700001')).body.transactions.map((t: { state: string }) => t.state)).toEqual(['FAILED']);
    await st.call('POST', '/v1/station/sim/psam', { present: true });
  });

  it('issue, read, refund, purchase (count from card + ledger), format, reissue with the ledger count', async () => {
    const cardNo = '7700002';
    await st.call('POST', '/v1/station/sim/insert', { cardType: 'cpu' });
    const issue = await st.call('POST', '/v1/station/issue', { maker: 'tancy-net', cardNo, gas: 30, meterKind: 2 });
    expect(issue.status, JSON.stringify(issue.body)).toBe(200);
    expect(issue.body).toMatchObject({ operation: 'issue', state: 'CONFIRMED', ledger: 'station-local', cardType: 'cpu', count: 1, standIn: true });
    expect((await st.call('GET', '/v1/station/card')).body).toMatchObject({ cardType: 'cpu', kind: 'user', maker: 'tancy-net', cardNo, gas: 30, count: 1, meterKind: 2, ledger: { known: true, count: 1 } });

    // Gas still on the card: the ledger refuses a sale (Tancy meters take exactly count + 1).
    const early = await st.call('POST', '/v1/station/purchase', { gas: 12 });
    expect(early.status).toBe(409);
    expect(early.body.error.details.reason).toBe('CARD_NOT_EMPTY');

    expect((await st.call('POST', '/v1/station/refund', {})).body).toMatchObject({ operation: 'refund', gas: 0, count: 1 });
    const buy = await st.call('POST', '/v1/station/purchase', { gas: 12 });
    expect(buy.status, JSON.stringify(buy.body)).toBe(200);
    expect(buy.body).toMatchObject({ operation: 'purchase', gas: 12, count: 2 });
    expect((await st.call('GET', '/v1/station/card')).body).toMatchObject({ gas: 12, count: 2 });
    expect((await st.call('POST', '/v1/station/refund', {})).status).toBe(200);
    const fmt = await st.call('POST', '/v1/station/format', {});
    expect(fmt.status, JSON.stringify(fmt.body)).toBe(200);
    expect((await st.call('GET', '/v1/station/card')).body).toMatchObject({ cardType: 'cpu', kind: 'blank-or-unknown' });

    // A blank card as the replacement: the count comes from the ledger (2), not from the request.
    await st.call('POST', '/v1/station/sim/insert', { cardType: 'cpu' });
    const re = await st.call('POST', '/v1/station/reissue', { maker: 'tancy-net', cardNo, gas: 0, meterKind: 2 });
    expect(re.status, JSON.stringify(re.body)).toBe(200);
    expect(re.body).toMatchObject({ operation: 'reissue', count: 2, gas: 0 });
    expect((await st.call('GET', '/v1/station/card')).body).toMatchObject({ cardNo, count: 2, gas: 0 });

    const h = (await st.call('GET', `/v1/station/cpu-ledger?maker=tancy-net&cardNo=${cardNo}`)).body.transactions;
    expect(h.map((t: { operation: string; state: string; count: number }) => `${t.operation}:${t.state}:${t.count}`)).toEqual([
      'issue:CONFIRMED:1', 'refund:CONFIRMED:1', 'purchase:CONFIRMED:2', 'refund:CONFIRMED:2', 'format:CONFIRMED:2', 'reissue:CONFIRMED:2',
    ]);
  });
});
