/**
 * CPU cards (Tancy, C stand-in library / 替身库) when things go wrong between the server's PREPARE and the
 * confirm: the maker library hangs and is killed and respawned by its supervisor (SIGSTOP on the driver host at
 * the write, or at the read-back), a transaction made by another token, the central server down. The ledger is
 * a real `meterhub serve` process; the library runs in the station's driver host, as on a counter PC.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  cleanup,
  freshCardNo,
  ROOT,
  server,
  startCentral,
  startTestStation,
  type CentralProcess,
  type TestStation,
} from './support.ts';

const work = mkdtempSync(join(tmpdir(), 'mh-station-cpu-rec-'));
const platform = `${process.platform}-${process.arch}`;
const lib = join(
  ROOT,
  'plugins/tancy/lib',
  platform,
  process.platform === 'darwin' ? 'libgascard_tancy.dylib' : 'libgascard_tancy.so',
);
let central: CentralProcess;
let st: TestStation;

beforeAll(async () => {
  const dir = join(work, 'makers', 'tancy');
  mkdirSync(dir, { recursive: true });
  const tancy = join(ROOT, 'plugins/tancy');
  writeFileSync(
    join(dir, 'meterhub-plugin.json'),
    JSON.stringify({
      id: 'tancy',
      name: { 'zh-CN': '天信（替身库）', en: 'Tancy (stand-in)' },
      cardTypes: ['cpu'],
      library: { [platform]: lib },
      standIn: true,
      rules: { requireEmptyCardBeforePurchase: true },
      driver: { callTimeoutMs: 1500 },
      catalogues: {
        returnCodes: join(tancy, 'catalogues/return-codes.json'),
        toolCards: join(tancy, 'catalogues/tool-cards.json'),
      },
    }),
  );
  process.env.METERHUB_SIM_CPU_DIR = join(work, 'sim-cpu');
  central = await startCentral();
  st = await startTestStation(central, { bundledPlugins: false, pluginPaths: [join(work, 'makers')], cpuCom: 3 });
}, 120_000);
afterAll(async () => {
  await st?.close();
  await central?.stop();
  if (central) cleanup(central.dataDir);
  cleanup(work);
});

const tx = async (id: string) => (await server(central, 'GET', `/v1/transactions/${id}`, central.counterToken)).body;
const card = async () => (await st.call('GET', '/v1/station/sim/card')).body.data as string;

/** A new CPU card issued with no gas (ready for a sale), confirmed. */
async function emptyCard(): Promise<string> {
  const cardNo = freshCardNo('77');
  await st.call('POST', '/v1/station/sim/insert', { cardType: 'cpu' });
  const r = await st.call('POST', '/v1/station/issue', { maker: 'tancy', cardNo, gas: 0, meterKind: 1 });
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  expect(r.body).toMatchObject({ state: 'CONFIRMED', ledger: 'central-server', count: 1 });
  return cardNo;
}

/**
 * Freezes the maker library's driver host when `step` starts: the call times out and the host is killed and
 * respawned.
 */
function hangLibraryAt(step: string): () => void {
  const off = st.station.events.subscribe((e) => {
    if (e.type === 'step' && e.step === step && e.status === 'start') {
      off();
      const pid = st.station.pluginHost.driver('tancy').health().pid;
      if (pid) process.kill(pid, 'SIGSTOP');
    }
  });
  return off;
}

describe('the maker library dies between prepare and confirm', () => {
  it('during the write: PREPARED, card state unknown, next steps named; the card is blocked; rewrite (掉气补气) finishes it', async () => {
    const cardNo = await emptyCard();
    const before = await card();
    const restarts = st.station.pluginHost.driver('tancy').health().restarts;
    hangLibraryAt('write-card');
    const r = await st.call('POST', '/v1/station/purchase', { gas: 9 });
    expect(r.status).toBe(409);
    expect(r.body.error).toMatchObject({
      code: 'STATION_WRITE_FAILED',
      details: {
        cardType: 'cpu',
        ledgerState: 'PREPARED',
        cardState: 'unknown',
        failedStep: 'write-card',
        cause: { code: 'DRIVER_TIMEOUT' },
        recovery: ['confirm', 'rewrite', 'reverse'],
      },
    });
    expect(r.body.error.messageZh).toContain('卡上是否已写入未知');
    expect(r.body.error.messageEn).toContain('Do not sell again');
    const id = r.body.error.details.transactionId as string;
    expect(await tx(id)).toMatchObject({
      state: 'PREPARED',
      cardType: 'cpu',
      operation: 'purchase',
      count: 2,
      gas: 9,
      data: null,
    });
    expect(await card()).toBe(before); // the frozen library never wrote

    // The server refuses another sale on this card until the write is settled, and says how.
    const again = await st.call('POST', '/v1/station/purchase', { gas: 9 });
    expect(again.status).toBe(409);
    expect(again.body.error).toMatchObject({
      code: 'LAST_WRITE_UNCONFIRMED',
      details: { transactionId: id, nextStep: ['confirm', 'rewrite', 'reverse'], source: 'central-server' },
    });
    expect(st.station.pluginHost.driver('tancy').health().restarts).toBeGreaterThan(restarts);

    // Rewrite by the counter itself (no supervisor): a new server transaction, the library writes again, confirmed.
    const rw = await st.call('POST', '/v1/station/recover', { transactionId: id, action: 'rewrite' });
    expect(rw.status, JSON.stringify(rw.body)).toBe(200);
    expect(rw.body).toMatchObject({
      action: 'rewrite',
      operation: 'rewrite',
      state: 'CONFIRMED',
      replacedTransactionId: id,
      cardNo,
      gas: 9,
      count: 2,
    });
    expect(await tx(id)).toMatchObject({ state: 'REWRITTEN' });
    expect(await tx(rw.body.transactionId)).toMatchObject({
      operation: 'rewrite',
      baseOperation: 'purchase',
      state: 'CONFIRMED',
      refId: id,
      actor: { name: 'counter-t', channel: 'station-sim' },
    });
    expect((await st.call('GET', '/v1/station/card')).body).toMatchObject({
      cardNo,
      gas: 9,
      count: 2,
      ledger: { count: 2, pendingTransactionId: null },
    });
  });

  it('during the read-back: the card holds the sale, PREPARED; reverse is refused (it reached the card); confirm settles it', async () => {
    const cardNo = await emptyCard();
    hangLibraryAt('read-back');
    const r = await st.call('POST', '/v1/station/purchase', { gas: 5 });
    expect(r.status).toBe(409);
    expect(r.body.error.details).toMatchObject({
      cardState: 'written-unverified',
      failedStep: 'read-back',
      ledgerState: 'PREPARED',
      recovery: ['confirm', 'rewrite'],
    });
    const id = r.body.error.details.transactionId as string;
    expect((await tx(id)).state).toBe('PREPARED');

    const rev = await st.call('POST', '/v1/station/recover', { transactionId: id, action: 'reverse' });
    expect(rev.status).toBe(409);
    expect(rev.body.error).toMatchObject({ code: 'REVERSE_REACHED_CARD', details: { source: 'central-server' } });
    expect((await tx(id)).state).toBe('PREPARED');

    const ok = await st.call('POST', '/v1/station/recover', { transactionId: id, action: 'confirm' });
    expect(ok.status, JSON.stringify(ok.body)).toBe(200);
    expect(ok.body).toMatchObject({ action: 'confirm', transactionId: id, state: 'CONFIRMED' });
    expect(await tx(id)).toMatchObject({ state: 'CONFIRMED', count: 2, gas: 5 });
    expect((await st.call('GET', '/v1/station/card')).body).toMatchObject({ cardNo, gas: 5, count: 2 });
  });

  it("a transaction another token made: the station's counter token is refused (supervisor needed); a supervisor token works", async () => {
    const cardNo = await emptyCard();
    const p = await server(central, 'POST', '/v1/cards/cpu/prepare', central.opsToken, {
      operation: 'purchase',
      maker: 'tancy',
      gas: 4,
      observed: { cardNo, gas: 0, count: 1, meterKind: 1 },
    });
    expect(p.status).toBe(201);
    const id = p.body.transactionId as string;
    const own = await st.call('POST', '/v1/station/recover', { transactionId: id, action: 'reverse' });
    expect(own.status).toBe(403);
    expect(own.body.error.code).toBe('STATION_NEEDS_SUPERVISOR');
    const sup = await st.call('POST', '/v1/station/recover', {
      transactionId: id,
      action: 'reverse',
      supervisorToken: central.opsToken,
    });
    expect(sup.status, JSON.stringify(sup.body)).toBe(200);
    expect(sup.body).toMatchObject({ action: 'reverse', state: 'REVERSED' });
    const buy = await st.call('POST', '/v1/station/purchase', { gas: 4 });
    expect(buy.status, JSON.stringify(buy.body)).toBe(200);
    expect(buy.body).toMatchObject({ count: 2, state: 'CONFIRMED' });
    expect(JSON.stringify(st.logs)).not.toContain(central.opsToken);
  });
});

describe('central server down', () => {
  it('nothing is written to the CPU card and nothing is kept at the station', async () => {
    const cardNo = await emptyCard();
    const before = await card();
    await central.stop();
    const from = st.station.events.recent.at(-1)?.seq ?? 0;
    const r = await st.call('POST', '/v1/station/purchase', { gas: 6 });
    const steps = st.station.events.recent
      .filter((e) => e.seq > from && e.type === 'step')
      .map((e) => `${(e as { step: string }).step}:${(e as { status: string }).status}`);
    expect(steps).toContain('server-prepare:failed');
    expect(steps.some((x) => x.startsWith('write-card'))).toBe(false);
    expect(r.status).toBe(503);
    expect(r.body.error.code).toBe('STATION_SERVER_UNREACHABLE');
    expect(r.body.error.messageZh).toContain('卡片未写入任何内容');
    expect(await card()).toBe(before);
    expect((await st.call('GET', '/v1/station/card')).body).toMatchObject({
      cardNo,
      gas: 0,
      count: 1,
      ledger: { known: null, error: 'STATION_SERVER_UNREACHABLE' },
    });
  });
});
