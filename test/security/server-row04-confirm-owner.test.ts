/**
 * Issue 13 #4: only the token that made a write (or ops) may confirm it or fail it. Another counter used to
 * read the write's data from the card's history and confirm it (200), or send a wrong read-back and turn the
 * owner's write FAILED (422), blocking the card — while rewrite and reverse were already the owner's alone.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { meterWriteBack } from '../../core/testing/stand-in-meter.ts';
import { freshCardNo, startTestServer, type TestServer } from '../api/support.ts';

describe('issue 13 #4: confirm and fail belong to the owner or ops', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer({ extraTokens: { 'counter-b': 'counter' } });
  });
  afterAll(async () => s?.close());

  async function pendingPurchase() {
    const a = s.tokens.counter;
    const cardNo = freshCardNo();
    const iss = await s.call('POST', '/v1/cards/issue', {
      token: a,
      body: { maker: 'kingcard', cardType: '4442', cardNo, gas: 0, meterKind: 1 },
    });
    expect(iss.status).toBe(201);
    expect(
      (
        await s.call('POST', `/v1/transactions/${iss.body.transactionId}/confirm`, {
          token: a,
          body: { data: iss.body.data },
        })
      ).status,
    ).toBe(200);
    const card = meterWriteBack('kingcard', '4442', iss.body.data);
    const p = await s.call('POST', '/v1/cards/purchase', {
      token: a,
      body: { cardType: '4442', data: card, cardNo, gas: 5 },
    });
    expect(p.status).toBe(201);
    return { cardNo, tx: p.body.transactionId as string, data: p.body.data as string };
  }

  it('another counter can neither confirm nor fail it; the owner and ops can', async () => {
    const { cardNo, tx, data } = await pendingPurchase();
    const b = s.tokens['counter-b'];
    // B finds the data in the card's history, as in the report.
    const hist = await s.call('GET', `/v1/transactions?maker=kingcard&cardNo=${cardNo}`, { token: b });
    expect(hist.body.transactions.find((t: { transactionId: string }) => t.transactionId === tx).data).toBe(data);

    const confirmByB = await s.call('POST', `/v1/transactions/${tx}/confirm`, { token: b, body: { data } });
    expect(confirmByB.status).toBe(403);
    expect(confirmByB.body.error).toMatchObject({ code: 'FORBIDDEN', details: { reason: 'not-own-transaction' } });
    const failByB = await s.call('POST', `/v1/transactions/${tx}/confirm`, {
      token: b,
      body: { data: 'F'.repeat(512) },
    });
    expect(failByB.status).toBe(403);
    expect((await s.call('GET', `/v1/transactions/${tx}`, { token: s.tokens.counter })).body.state).toBe('PREPARED');

    // The same token on another channel is not the owner either (as for rewrite and reverse).
    const otherChannel = await s.call('POST', `/v1/transactions/${tx}/confirm`, {
      token: s.tokens.counter,
      body: { data },
      headers: { 'x-meterhub-channel': 'counter-99' },
    });
    expect(otherChannel.status).toBe(403);

    const own = await s.call('POST', `/v1/transactions/${tx}/confirm`, { token: s.tokens.counter, body: { data } });
    expect(own.status).toBe(200);
    expect(own.body.state).toBe('CONFIRMED');
  });

  it("ops may confirm or fail anyone's write", async () => {
    const one = await pendingPurchase();
    const fail = await s.call('POST', `/v1/transactions/${one.tx}/confirm`, {
      token: s.tokens.ops,
      body: { data: 'F'.repeat(512) },
    });
    expect(fail.body.error).toMatchObject({ code: 'WRITE_VERIFY_FAILED', details: { state: 'FAILED' } });
    const rescued = await s.call('POST', `/v1/transactions/${one.tx}/confirm`, {
      token: s.tokens.ops,
      body: { data: one.data },
    });
    expect(rescued.body.state).toBe('CONFIRMED');
  });
});
