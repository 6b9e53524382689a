/**
 * Who may adopt (认领) a card unknown to the ledger: the configured policy, per role. Banks never; a counter only
 * under 'counter-with-reason' and with a reason; nobody under 'nobody'. A card the ledger holds under another
 * maker is refused with the difference.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adoptionPolicy } from '../../core/ledger/card-service.ts';
import { meterWriteBack } from '../../core/testing/stand-in-meter.ts';
import { freshCardNo, startTestServer, type TestServer } from '../api/support.ts';

/** A kingcard card at count 2 made on another server (so this one's ledger has never seen it). */
async function foreignCard(maker = 'kingcard'): Promise<{ cardNo: string; data: string }> {
  const other = await startTestServer();
  try {
    const cardNo = freshCardNo();
    const i = await other.call('POST', '/v1/cards/issue', {
      body: { maker, cardType: '4442', cardNo, gas: 5, meterKind: 1 },
    });
    await other.call('POST', `/v1/transactions/${i.body.transactionId}/confirm`, { body: { data: i.body.data } });
    const p = await other.call('POST', '/v1/cards/purchase', {
      body: { cardType: '4442', data: meterWriteBack(maker, '4442', i.body.data), cardNo, gas: 7 },
    });
    expect(p.body.count).toBe(2);
    return { cardNo, data: p.body.data };
  } finally {
    await other.close();
  }
}

describe('adoption policy', () => {
  let card: { cardNo: string; data: string };
  beforeAll(async () => {
    card = await foreignCard();
  }, 60_000);

  it('reads the policy from configuration text; a typo is refused', () => {
    expect(adoptionPolicy(undefined)).toBe('ops');
    expect(adoptionPolicy(' counter-with-reason ')).toBe('counter-with-reason');
    expect(() => adoptionPolicy('everyone')).toThrow(/METERHUB_ADOPTION/);
  });

  describe('nobody', () => {
    let s: TestServer;
    beforeAll(async () => {
      s = await startTestServer({ adoption: 'nobody' });
    });
    afterAll(async () => s?.close());
    it('even ops may not adopt', async () => {
      const r = await s.call('POST', '/v1/cards/adopt', {
        token: s.tokens.ops,
        body: { cardType: '4442', ...card, reason: 'x' },
      });
      expect(r.status).toBe(403);
      expect(r.body.error.code).toBe('ADOPTION_DISABLED');
    });
  });

  describe('counter-with-reason', () => {
    let s: TestServer;
    beforeAll(async () => {
      s = await startTestServer({ adoption: 'counter-with-reason' });
    });
    afterAll(async () => s?.close());
    it('a counter needs a reason; a bank and billing never adopt; the adoption carries the gas still on the card', async () => {
      expect(
        (
          await s.call('POST', '/v1/cards/adopt', {
            token: s.tokens.bank,
            body: { cardType: '4442', ...card, reason: 'x' },
          })
        ).status,
      ).toBe(403);
      expect(
        (
          await s.call('POST', '/v1/cards/adopt', {
            token: s.tokens.billing,
            body: { cardType: '4442', ...card, reason: 'x' },
          })
        ).status,
      ).toBe(403);
      const none = await s.call('POST', '/v1/cards/adopt', {
        token: s.tokens.counter,
        body: { cardType: '4442', ...card, reason: '  ' },
      });
      expect(none.status).toBe(400);
      expect(none.body.error.code).toBe('ADOPTION_REASON_REQUIRED');
      const wrongNo = await s.call('POST', '/v1/cards/adopt', {
        token: s.tokens.counter,
        body: { cardType: '4442', ...card, cardNo: '1', reason: 'r' },
      });
      expect(wrongNo.body.error.code).toBe('CARD_NUMBER_MISMATCH');
      const ok = await s.call('POST', '/v1/cards/adopt', {
        token: s.tokens.counter,
        body: { cardType: '4442', ...card, reason: '客户持卡，原系统漏导' },
      });
      expect(ok.status, JSON.stringify(ok.body)).toBe(201);
      expect(ok.body).toMatchObject({
        operation: 'adopt',
        count: 2,
        gas: 7,
        actor: { role: 'counter' },
        reason: '客户持卡，原系统漏导',
      });
      const row = await s.call('GET', `/v1/cards/kingcard/${card.cardNo}`, { token: s.tokens.counter });
      expect(row.body).toMatchObject({ count: 2, openGas: 7 });
    });

    it('a card number the ledger holds under another maker is refused with the difference', async () => {
      const other = await foreignCard('chint');
      await s.db.database.db
        .insertInto('ledger_cards')
        .values({
          maker: 'lanbaoshi',
          card_no: other.cardNo,
          card_type: '4442',
          meter_kind: 1,
          count: 2,
          open_gas: 0,
          reissues: 0,
          status: 'active',
          pending_tx_id: null,
          last_tx_id: null,
          version: 1,
          created_at: 'x',
          updated_at: 'x',
        })
        .execute();
      const r = await s.call('POST', '/v1/cards/adopt', { token: s.tokens.ops, body: { cardType: '4442', ...other } });
      expect(r.status).toBe(409);
      expect(r.body.error).toMatchObject({
        code: 'ADOPTION_CONTRADICTS_LEDGER',
        details: { differences: { maker: { ledger: ['lanbaoshi'], card: 'chint' } }, nextStep: 'reconcile' },
      });
    });
  });
});
