/**
 * Issue 13: the audit and the ledger record which clerk (营业员) made each sale, and the channel it came through
 * (station, or station-sim for training sales on the simulated reader). Contract with the station: it sends
 * X-MeterHub-Clerk (1-64 of [A-Za-z0-9_.:@-]) and X-MeterHub-Channel on its calls.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { meterWriteBack } from '../../core/testing/stand-in-meter.ts';
import { freshCardNo, startTestServer, type TestServer } from '../api/support.ts';

describe('issue 13: clerk and channel on every sale', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer();
  });
  afterAll(async () => s?.close());

  it('a purchase made with the clerk header is listed with its clerk and channel, and audited with them', async () => {
    const cardNo = freshCardNo();
    const headers = { 'x-meterhub-clerk': 'zhang.san@07', 'x-meterhub-channel': 'station-sim' };
    const iss = await s.call('POST', '/v1/cards/issue', {
      token: s.tokens.counter,
      headers,
      body: { maker: 'kingcard', cardType: '4442', cardNo, gas: 0, meterKind: 1 },
    });
    expect(iss.status).toBe(201);
    await s.call('POST', `/v1/transactions/${iss.body.transactionId}/confirm`, {
      token: s.tokens.counter,
      headers,
      body: { data: iss.body.data },
    });
    const card = meterWriteBack('kingcard', '4442', iss.body.data);
    const p = await s.call('POST', '/v1/cards/purchase', {
      token: s.tokens.counter,
      headers,
      body: { cardType: '4442', data: card, cardNo, gas: 9 },
    });
    expect(p.status).toBe(201);
    expect(p.body).toMatchObject({
      clerk: 'zhang.san@07',
      channel: 'station-sim',
      actor: { channel: 'station-sim', name: 'counter-t' },
    });

    const one = await s.call('GET', `/v1/transactions/${p.body.transactionId}`, { token: s.tokens.counter, headers });
    expect(one.body).toMatchObject({ clerk: 'zhang.san@07', channel: 'station-sim' });
    const list = await s.call('GET', `/v1/transactions?maker=kingcard&cardNo=${cardNo}`, { token: s.tokens.ops });
    const listed = list.body.transactions.find(
      (t: { transactionId: string }) => t.transactionId === p.body.transactionId,
    );
    expect(listed).toMatchObject({ operation: 'purchase', clerk: 'zhang.san@07', channel: 'station-sim' });
    const issued = await s.call('GET', `/v1/transactions/${iss.body.transactionId}`, { token: s.tokens.ops });
    expect(issued.body).toMatchObject({ clerk: 'zhang.san@07', channel: 'station-sim' });

    await s.app.meterhub.audit.flush();
    const rows = await s.db.database.db
      .selectFrom('audit_log')
      .selectAll()
      .where('tx_id', '=', p.body.transactionId)
      .execute();
    expect(rows.find((r) => r.path === '/v1/cards/purchase')).toMatchObject({
      clerk: 'zhang.san@07',
      channel: 'station-sim',
      status: 201,
    });
    expect(await s.app.meterhub.audit.verify()).toMatchObject({ ok: true });
  });

  it('a sale without a clerk says so (null); a malformed clerk header is a 400 naming the header', async () => {
    const cardNo = freshCardNo();
    const plain = await s.call('POST', '/v1/cards/issue', {
      token: s.tokens.counter,
      body: { maker: 'kingcard', cardType: '4442', cardNo, gas: 0, meterKind: 1 },
    });
    expect(plain.body).toMatchObject({ clerk: null, channel: 'counter' });
    for (const bad of ['zhang san', 'x'.repeat(65), 'a/b', 'clerk;drop']) {
      const r = await s.call('POST', '/v1/cards/issue', {
        token: s.tokens.counter,
        headers: { 'x-meterhub-clerk': bad },
        body: { maker: 'kingcard', cardType: '4442', cardNo: freshCardNo(), gas: 0, meterKind: 1 },
      });
      expect(r.status, bad).toBe(400);
      expect(r.body.error).toMatchObject({ code: 'BAD_INPUT', details: { field: 'headers.x-meterhub-clerk' } });
    }
  });
});
