/**
 * Full counter flows through the station's local API, the simulated reader and a real central server
 * process on SQLite: for every maker and memory card type it supports — issue, purchase, read back,
 * refund, reissue (count from the ledger), format — with the ledger checked from outside.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
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

const matrix: Array<{ maker: string; cardType: '4442' | '102' }> = [];
for (const d of readdirSync(join(ROOT, 'plugins')).sort()) {
  try {
    const m = JSON.parse(readFileSync(join(ROOT, 'plugins', d, 'meterhub-plugin.json'), 'utf8')) as {
      id: string;
      cardTypes: string[];
    };
    for (const t of m.cardTypes) if (t === '4442' || t === '102') matrix.push({ maker: m.id, cardType: t });
  } catch {
    /* not a plugin */
  }
}

let central: CentralProcess;
let st: TestStation;
beforeAll(async () => {
  central = await startCentral();
  st = await startTestStation(central);
}, 90_000);
afterAll(async () => {
  await st?.close();
  await central?.stop();
  if (central) cleanup(central.dataDir);
});

describe('station counter flows (sim reader, real central server)', () => {
  it('covers every maker × memory card type the plugins declare', () => {
    expect(matrix.map((m) => `${m.maker}/${m.cardType}`)).toEqual(
      expect.arrayContaining([
        'kingcard/4442',
        'kingcard/102',
        'zenner/102',
        'lanbaoshi/4442',
        'songchuan/4442',
        'songchuan/102',
        'chint/4442',
      ]),
    );
  });

  it('answers 404 with a clear message when there is no card, and serves OpenAPI at /docs', async () => {
    await st.call('POST', '/v1/station/sim/remove', {});
    const r = await st.call('GET', '/v1/station/card');
    expect(r.status).toBe(404);
    expect(r.body.error).toMatchObject({
      code: 'STATION_NO_CARD',
      messageZh: expect.stringContaining('没有卡片'),
      messageEn: expect.stringContaining('No card'),
    });
    const docs = await st.call('GET', '/docs/json');
    expect(docs.status).toBe(200);
    expect(Object.keys(docs.body.paths)).toEqual(
      expect.arrayContaining([
        '/v1/station/card',
        '/v1/station/purchase',
        '/v1/station/recover',
        '/v1/station/sim/insert',
      ]),
    );
  });

  for (const { maker, cardType } of matrix) {
    it(`${maker} ${cardType}: issue, meter, purchase, read back, refund, reissue, format`, async () => {
      const cardNo = freshCardNo();
      expect((await st.call('POST', '/v1/station/sim/insert', { cardType })).status).toBe(200);
      const blank = await st.call('GET', '/v1/station/card');
      expect(blank.body).toMatchObject({ cardType, kind: 'blank' });

      const issue = await st.call('POST', '/v1/station/issue', { maker, cardNo, gas: 20, meterKind: 1 });
      expect(issue.status, JSON.stringify(issue.body)).toBe(200);
      expect(issue.body).toMatchObject({
        ok: true,
        operation: 'issue',
        state: 'CONFIRMED',
        maker,
        cardNo,
        gas: 20,
        count: 1,
        standIn: true,
      });
      expect(JSON.stringify(issue.body)).not.toMatch(/oldKey|newKey/);

      const shown = await st.call('GET', '/v1/station/card');
      expect(shown.body).toMatchObject({
        cardType,
        kind: 'user',
        maker,
        cardNo,
        gas: 20,
        count: 1,
        meterKind: 1,
        ledger: { known: true, count: 1, pendingTransactionId: null },
      });

      // The meter takes the gas and writes back (stand-in meter), then a sale: the server decides count 2.
      expect(
        (await st.call('POST', '/v1/station/sim/meter', { status: 1, lastCode: 3, months: [[202510, 1234]] })).status,
      ).toBe(200);
      const buy = await st.call('POST', '/v1/station/purchase', { gas: 15 });
      expect(buy.status, JSON.stringify(buy.body)).toBe(200);
      expect(buy.body).toMatchObject({ operation: 'purchase', state: 'CONFIRMED', cardNo, gas: 15, count: 2 });

      const after = await st.call('GET', '/v1/station/card');
      expect(after.body).toMatchObject({
        kind: 'user',
        cardNo,
        gas: 15,
        count: 2,
        ledger: { count: 2, pendingTransactionId: null },
      });
      expect(after.body.writeBack).toMatchObject({ months: [{ month: '2025-10', usage: '12.34' }] });

      // The card still holds gas: a second sale is refused by the ledger and nothing is written.
      const before = await st.call('GET', '/v1/station/sim/card');
      const again = await st.call('POST', '/v1/station/purchase', { gas: 5 });
      expect(again.status).toBe(409);
      expect(again.body.error.code).toBe('CARD_NOT_EMPTY');
      expect((await st.call('GET', '/v1/station/sim/card')).body.image).toEqual(before.body.image);

      const refund = await st.call('POST', '/v1/station/refund', {});
      expect(refund.status, JSON.stringify(refund.body)).toBe(200);
      expect(refund.body).toMatchObject({ operation: 'refund', gas: 0, count: 2 });
      expect((await st.call('GET', '/v1/station/card')).body).toMatchObject({ gas: 0, count: 2 });

      // Lost card: a blank card becomes the replacement with the ledger's real count.
      await st.call('POST', '/v1/station/sim/insert', { cardType });
      const re = await st.call('POST', '/v1/station/reissue', { maker, cardNo, gas: 0, meterKind: 1 });
      expect(re.status, JSON.stringify(re.body)).toBe(200);
      expect(re.body).toMatchObject({ operation: 'reissue', state: 'CONFIRMED', count: 2, gas: 0 });
      expect((await st.call('GET', '/v1/station/card')).body).toMatchObject({ kind: 'user', cardNo, count: 2, gas: 0 });

      const fmt = await st.call('POST', '/v1/station/format', {});
      expect(fmt.status, JSON.stringify(fmt.body)).toBe(200);
      expect(fmt.body).toMatchObject({ operation: 'format', state: 'CONFIRMED' });
      const erased = await st.call('GET', '/v1/station/card');
      expect(erased.body).toMatchObject({ cardType, kind: 'blank', maker: null });
      // The factory password is back on the card.
      const raw = (await st.call('GET', '/v1/station/sim/card')).body;
      expect(raw.summary.attemptsLeft).toBe(cardType === '4442' ? 3 : 4);

      const h = await server(central, 'GET', `/v1/transactions?maker=${maker}&cardNo=${cardNo}`);
      expect(h.body.transactions.map((t: { operation: string; state: string }) => `${t.operation}:${t.state}`)).toEqual(
        ['issue:CONFIRMED', 'purchase:CONFIRMED', 'refund:CONFIRMED', 'reissue:CONFIRMED', 'format:CONFIRMED'],
      );
      // The transactions record the channel: these writes came from a station on the simulated (training) reader.
      expect(
        h.body.transactions.map(
          (t: { actor: { channel: string; role: string } }) => `${t.actor.role}/${t.actor.channel}`,
        ),
      ).toEqual(Array(5).fill('counter/station-sim'));
    });
  }

  it('makes a tool card on a blank card and refuses to issue onto a card that is not blank', async () => {
    await st.call('POST', '/v1/station/sim/insert', { cardType: '4442' });
    const t = await st.call('POST', '/v1/station/tool', { maker: 'chint', tool: 'CLEAR' });
    expect(t.status, JSON.stringify(t.body)).toBe(200);
    expect(t.body).toMatchObject({ operation: 'tool', state: 'CONFIRMED', maker: 'chint' });
    expect((await st.call('GET', '/v1/station/card')).body).toMatchObject({ kind: 'tool', maker: 'chint' });
    const before = (await st.call('GET', '/v1/station/sim/card')).body.image;
    const refused = await st.call('POST', '/v1/station/issue', { maker: 'kingcard', cardNo: freshCardNo(), gas: 1 });
    expect(refused.status).toBe(409);
    expect(refused.body.error).toMatchObject({
      code: 'STATION_CARD_NOT_BLANK',
      details: { maker: 'chint', kind: 'tool' },
    });
    expect((await st.call('GET', '/v1/station/sim/card')).body.image).toEqual(before);
  });

  it('shows the raw simulated card with counters and protection bits, passwords masked', async () => {
    await st.call('POST', '/v1/station/sim/insert', { cardType: '4442', psc: 'A1B2C3' });
    const r = await st.call('GET', '/v1/station/sim/card');
    expect(r.body).toMatchObject({ present: true, cardType: '4442', summary: { attemptsLeft: 3, locked: false } });
    expect(r.body.image).toMatchObject({ chip: 'sle4442', errorCounter: 7, psc: '******' });
    expect(r.body.image.protection).toMatch(/^[0-9A-F]{8}$/);
    expect(JSON.stringify(r.body)).not.toContain('A1B2C3');
  });

  it('sends card events and the progress of every step over the WebSocket', async () => {
    const ws = new WebSocket(`${st.url.replace('http', 'ws')}/v1/station/events`);
    const got: Array<Record<string, any>> = [];
    const hello = new Promise((r) =>
      ws.on('message', (m) => {
        got.push(JSON.parse(m.toString()));
        if (got.length === 1) r(null);
      }),
    );
    await new Promise((r) => ws.once('open', r));
    // The first message is the proof (a browser cannot put the key in a WebSocket header).
    ws.send(JSON.stringify({ type: 'auth', key: st.key }));
    await hello;
    await st.call('POST', '/v1/station/sim/remove', {});
    await st.call('POST', '/v1/station/sim/insert', { cardType: '4442' });
    const cardNo = freshCardNo();
    const r = await st.call('POST', '/v1/station/issue', { maker: 'kingcard', cardNo, gas: 3 });
    expect(r.status).toBe(200);
    await new Promise((res) => setTimeout(res, 100));
    ws.close();
    expect(got[0]).toMatchObject({ type: 'hello' });
    const types = got.map((e) => e.type);
    expect(types).toEqual(expect.arrayContaining(['card.removed', 'card.inserted', 'step', 'operation.done']));
    const steps = got
      .filter((e) => e.type === 'step' && e.operationId === r.body.operationId && e.status === 'ok')
      .map((e) => e.step);
    expect(steps).toEqual(
      expect.arrayContaining([
        'read-card',
        'server-prepare',
        'check-same-card',
        'card:verify-password',
        'card:write',
        'card:change-password',
        'card:read-back',
        'read-back',
        'confirm',
      ]),
    );
    expect(steps.indexOf('server-prepare')).toBeLessThan(steps.indexOf('card:write'));
    expect(steps.indexOf('card:read-back')).toBeLessThan(steps.indexOf('confirm'));
    expect(JSON.stringify(got)).not.toMatch(/oldKey|newKey|mht_/);
  });

  it('keeps tokens and keys out of its logs', async () => {
    const all = st.logs.join('');
    expect(all.length).toBeGreaterThan(0);
    expect(all).not.toContain(central.counterToken);
    expect(all).not.toContain(st.key);
    expect(all).not.toMatch(/"(oldKey|newKey)":"[0-9A-F]/);
  });
});
