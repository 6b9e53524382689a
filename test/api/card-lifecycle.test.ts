/**
 * End to end over a real HTTP port, with the real plugin host and the stand-in libraries (替身库): for every
 * maker and every memory card type it supports, one card's whole life. The card image is kept here and
 * every step feeds the previous one; the meter between purchases is the stand-in's StandInMeterWriteBack.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUNDLED_PLUGINS, freshCardNo, startTestServer, type TestServer } from './support.ts';
import { erased, meterWriteBack } from '../../core/testing/stand-in-meter.ts';

const matrix: Array<{ maker: string; cardType: '4442' | '102' }> = [];
for (const d of readdirSync(BUNDLED_PLUGINS).sort()) {
  try {
    const m = JSON.parse(readFileSync(join(BUNDLED_PLUGINS, d, 'meterhub-plugin.json'), 'utf8')) as {
      id: string;
      cardTypes: string[];
    };
    for (const t of m.cardTypes) if (t === '4442' || t === '102') matrix.push({ maker: m.id, cardType: t });
  } catch {
    /* not a plugin folder */
  }
}

describe('card life over HTTP, every maker × memory card type (stand-in libraries)', () => {
  let s: TestServer;
  let k = 0;
  const key = () => `life-${Date.now()}-${++k}`;
  beforeAll(async () => {
    s = await startTestServer();
  });
  afterAll(async () => s?.close());

  it('covers the expected makers', () => {
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

  for (const { maker, cardType } of matrix) {
    it(`${maker} ${cardType}: issue, 3 purchases, refund, replacement, cancelled replacement, format`, async () => {
      const counter = s.tokens.counter;
      const ops = s.tokens.ops;
      const hexLen = cardType === '4442' ? 512 : 300;
      const cardNo = freshCardNo();
      // Only the token that made a write (or ops) may confirm it.
      const confirm = async (txId: string, data: string, token = counter) => {
        const c = await s.call('POST', `/v1/transactions/${txId}/confirm`, { token, body: { data } });
        expect(c.status, JSON.stringify(c.body)).toBe(200);
        expect(c.body.state).toBe('CONFIRMED');
      };

      // Issue (count 1) and write it.
      const issue = await s.call('POST', '/v1/cards/issue', {
        token: counter,
        idem: key(),
        body: { maker, cardType, cardNo, gas: 10, meterKind: 1 },
      });
      expect(issue.status, JSON.stringify(issue.body)).toBe(201);
      expect(issue.body).toMatchObject({
        operation: 'issue',
        state: 'PREPARED',
        maker,
        cardType,
        cardNo,
        gas: 10,
        count: 1,
        standIn: true,
        library: 'stand-in library / 替身库',
      });
      expect(issue.body.data).toMatch(new RegExp(`^[0-9A-F]{${hexLen}}$`));
      expect(issue.body.oldKey).toMatch(/^[0-9A-F]{4,6}$/);
      expect(issue.body.newKey).toMatch(/^[0-9A-F]{4,6}$/);
      let card: string = issue.body.data;
      await confirm(issue.body.transactionId, card);

      // Identify: the maker claims it; a 102 public zone alone is enough and yields the zone password.
      const id = await s.call('POST', '/v1/cards/identify', {
        token: counter,
        body: { cardType, data: cardType === '102' ? card.slice(0, 44) : card },
      });
      expect(id.status).toBe(200);
      expect(id.body).toMatchObject({ maker, kind: 'user', standIn: true });
      if (cardType === '102') expect(id.body.oldKey).toMatch(/^[0-9A-F]{4}$/);

      // The meter takes the first gas and writes back; Read explains the last code from the catalogue.
      card = meterWriteBack(maker, cardType, card, {
        status: 1,
        lastCode: 3,
        months: [
          [202510, 1234],
          [202509, 99],
        ],
      });
      const read = await s.call('POST', '/v1/cards/read', { token: counter, body: { cardType, data: card } });
      expect(read.status).toBe(200);
      expect(read.body).toMatchObject({
        maker,
        cardNo,
        count: 1,
        gas: 10,
        meterKind: 1,
        ledger: { known: true, count: 1, pendingTransactionId: null },
      });
      expect(read.body.writeBack).toMatchObject({
        written: true,
        status: 1,
        months: [
          { month: '2025-10', usage: '12.34' },
          { month: '2025-09', usage: '0.99' },
        ],
      });
      expect(read.body.writeBack.lastCode).toMatchObject({ code: 3, known: true });
      expect(read.body.writeBack.lastCode.zh).toEqual(expect.any(String));

      // Three purchases: the server sets count = card count + 1 each time.
      for (let i = 1; i <= 3; i++) {
        const p = await s.call('POST', '/v1/cards/purchase', {
          token: counter,
          idem: key(),
          body: { cardType, data: card, cardNo, gas: 10 * i + 5 },
        });
        expect(p.status, JSON.stringify(p.body)).toBe(201);
        expect(p.body).toMatchObject({ operation: 'purchase', count: i + 1, gas: 10 * i + 5, state: 'PREPARED' });
        card = p.body.data;
        await confirm(p.body.transactionId, card);
        if (i < 3) card = meterWriteBack(maker, cardType, card, { lastCode: 0 });
      }

      // The gas of purchase 3 is still on the card (no meter yet): another sale is refused (卡内有气量).
      const again = await s.call('POST', '/v1/cards/purchase', {
        token: counter,
        body: { cardType, data: card, cardNo, gas: 5 },
      });
      expect(again.status).toBe(409);
      expect(again.body.error.code).toBe('CARD_NOT_EMPTY');

      // Refund: gas 0 at the same count.
      const refund = await s.call('POST', '/v1/cards/refund', {
        token: counter,
        idem: key(),
        body: { cardType, data: card, cardNo },
      });
      expect(refund.status, JSON.stringify(refund.body)).toBe(201);
      expect(refund.body).toMatchObject({ operation: 'refund', gas: 0, count: 4, refundedGas: 35 });
      card = refund.body.data;
      await confirm(refund.body.transactionId, card);
      const afterRefund = await s.call('POST', '/v1/cards/read', { token: counter, body: { cardType, data: card } });
      expect(afterRefund.body).toMatchObject({ gas: 0, count: 4 });

      // Replacement card (补卡): must carry the ledger count.
      const wrong = await s.call('POST', '/v1/cards/reissue', {
        token: counter,
        body: { maker, cardType, cardNo, gas: 0, meterKind: 1, count: 3 },
      });
      expect(wrong.status).toBe(409);
      expect(wrong.body.error).toMatchObject({ code: 'REISSUE_COUNT_MISMATCH', details: { ledgerCount: 4 } });
      const reissue = await s.call('POST', '/v1/cards/reissue', {
        token: counter,
        idem: key(),
        body: { maker, cardType, cardNo, gas: 0, meterKind: 1, count: 4 },
      });
      expect(reissue.status, JSON.stringify(reissue.body)).toBe(201);
      expect(reissue.body).toMatchObject({ operation: 'reissue', count: 4, gas: 0 });
      const replacement: string = reissue.body.data;
      await confirm(reissue.body.transactionId, replacement);

      // Cancel the replacement (补卡撤销): ops only; the card is erased, the erase confirmed.
      const denied = await s.call('POST', `/v1/transactions/${reissue.body.transactionId}/cancel-reissue`, {
        token: counter,
        body: { data: replacement },
      });
      expect(denied.status).toBe(403);
      const cancel = await s.call('POST', `/v1/transactions/${reissue.body.transactionId}/cancel-reissue`, {
        token: ops,
        idem: key(),
        body: { data: replacement },
      });
      expect(cancel.status, JSON.stringify(cancel.body)).toBe(201);
      expect(cancel.body).toMatchObject({ operation: 'cancel_reissue', state: 'PREPARED', data: null, newKey: null });
      expect(cancel.body.oldKey).toMatch(/^[0-9A-F]{4,6}$/);
      await confirm(cancel.body.transactionId, erased(cardType, replacement), ops);
      expect(
        (await s.call('GET', `/v1/transactions/${reissue.body.transactionId}`, { token: counter })).body.state,
      ).toBe('CANCELLED');

      // The original card goes on: one more sale (count 5), then the meter, then format it.
      const p5 = await s.call('POST', '/v1/cards/purchase', {
        token: counter,
        idem: key(),
        body: { cardType, data: card, cardNo, gas: 50 },
      });
      expect(p5.status, JSON.stringify(p5.body)).toBe(201);
      expect(p5.body.count).toBe(5);
      card = p5.body.data;
      await confirm(p5.body.transactionId, card);
      card = meterWriteBack(maker, cardType, card);
      const fmt = await s.call('POST', '/v1/cards/format', {
        token: counter,
        idem: key(),
        body: { cardType, data: card },
      });
      expect(fmt.status, JSON.stringify(fmt.body)).toBe(201);
      expect(fmt.body).toMatchObject({ operation: 'format', cardNo, data: null });
      const blank = erased(cardType, card);
      await confirm(fmt.body.transactionId, blank);
      const gone = await s.call('POST', '/v1/cards/identify', { token: counter, body: { cardType, data: blank } });
      expect(gone.status).toBe(422);
      expect(gone.body.error.code).toBe('CARD_UNKNOWN');

      // The ledger tells the whole story, with one live row per count.
      const h = await s.call('GET', `/v1/transactions?maker=${maker}&cardNo=${cardNo}`, { token: ops });
      expect(h.body.transactions.map((t: { operation: string; state: string }) => `${t.operation}:${t.state}`)).toEqual(
        [
          'issue:CONFIRMED',
          'purchase:CONFIRMED',
          'purchase:CONFIRMED',
          'purchase:CONFIRMED',
          'refund:CONFIRMED',
          'reissue:CANCELLED',
          'cancel_reissue:CONFIRMED',
          'purchase:CONFIRMED',
          'format:CONFIRMED',
        ],
      );
      const sales = h.body.transactions.filter(
        (t: { operation: string }) => t.operation === 'issue' || t.operation === 'purchase',
      );
      expect(sales.map((t: { count: number }) => t.count)).toEqual([1, 2, 3, 4, 5]);
      expect(JSON.stringify(h.body)).not.toMatch(/oldKey|newKey/);
    });

    it(`${maker} ${cardType}: a tool card from the catalogue is made, recorded and confirmed as a tool card`, async () => {
      const cat = await s.call('GET', `/v1/makers/${maker}/tool-cards`, { token: s.tokens.counter });
      expect(cat.status).toBe(200);
      const kind = (
        cat.body.toolCards as Array<{ kind: string; cardTypes: string[]; params?: Array<{ required?: boolean }> }>
      ).find((t) => t.cardTypes.includes(cardType) && !(t.params ?? []).some((p) => p.required));
      expect(kind).toBeDefined();
      const t = await s.call('POST', '/v1/cards/tool', {
        token: s.tokens.counter,
        idem: key(),
        body: { maker, cardType, tool: kind!.kind },
      });
      expect(t.status, JSON.stringify(t.body)).toBe(201);
      expect(t.body).toMatchObject({ operation: 'tool', tool: kind!.kind });
      const id = await s.call('POST', '/v1/cards/identify', {
        token: s.tokens.counter,
        body: { cardType, data: t.body.data },
      });
      expect(id.body).toMatchObject({ maker, kind: 'tool' });
      const c = await s.call('POST', `/v1/transactions/${t.body.transactionId}/confirm`, {
        token: s.tokens.counter,
        body: { data: t.body.data },
      });
      expect(c.status).toBe(200);
      expect(c.body.state).toBe('CONFIRMED');
    });
  }
});
