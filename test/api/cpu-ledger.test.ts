/**
 * CPU cards (Tancy) in the central ledger, over HTTP, on SQLite and PostgreSQL: the station PREPAREs before the
 * maker library touches the card (no data, no keys), confirms with the library's read-back, and has rewrite
 * (掉气补气) and reverse (冲正) like memory cards. Same count rules, same concurrency guarantee, same audit.
 * The server never calls the CPU library here: the station does (test/station/cpu-*.test.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serviceAvailable } from '../../core/testing/services.ts';
import { freshCardNo, startTestServer, type TestServer } from './support.ts';

const pgOk = await serviceAvailable('postgres');
const M = 'tancy';

for (const kind of ['sqlite', 'postgres'] as const) {
  describe.skipIf(kind === 'postgres' && !pgOk)(`CPU cards in the ledger (${kind})`, () => {
    let s: TestServer;
    let k = 0;
    const key = () => `cpu-${kind}-${Date.now()}-${++k}`;
    beforeAll(async () => {
      s = await startTestServer({ db: kind, extraTokens: { 'counter-2': 'counter' } });
    });
    afterAll(async () => s?.close());

    const prepare = (
      body: Record<string, unknown>,
      o: { token?: string; idem?: string; headers?: Record<string, string> } = {},
    ) =>
      s.call('POST', '/v1/cards/cpu/prepare', {
        token: o.token ?? s.tokens.counter,
        body: { maker: M, ...body },
        ...(o.idem ? { idem: o.idem } : {}),
        ...(o.headers ? { headers: o.headers } : {}),
      });
    // Confirm is the owner's (same token and channel) or ops'.
    const confirm = (
      id: string,
      readBack: Record<string, unknown>,
      token = s.tokens.counter,
      headers: Record<string, string> = {},
    ) => s.call('POST', `/v1/transactions/${id}/confirm`, { token, body: { readBack }, headers });
    const user = (cardNo: string, gas: number, count: number, meterKind = 1) => ({ cardNo, gas, count, meterKind });

    /** A CPU card issued and confirmed with `gas`; the meter has taken it when `taken`. */
    async function issued(gas = 0): Promise<string> {
      const cardNo = freshCardNo();
      const r = await prepare({ operation: 'issue', cardNo, gas, meterKind: 1, observed: null });
      expect(r.status, JSON.stringify(r.body)).toBe(201);
      expect((await confirm(r.body.transactionId, user(cardNo, gas, 1))).status).toBe(200);
      return cardNo;
    }

    it("prepare records PREPARED with the server's count and no card data or keys; confirm checks the read-back", async () => {
      const cardNo = freshCardNo();
      const r = await prepare({ operation: 'issue', cardNo, gas: 30, meterKind: 2, observed: null }, { idem: key() });
      expect(r.status).toBe(201);
      expect(r.body).toMatchObject({
        operation: 'issue',
        state: 'PREPARED',
        cardType: 'cpu',
        maker: M,
        cardNo,
        gas: 30,
        count: 1,
        meterKind: 2,
        data: null,
        standIn: true,
      });
      expect(r.body).not.toHaveProperty('oldKey');
      expect(r.body).not.toHaveProperty('newKey');
      expect(r.body.links).toMatchObject({
        confirm: expect.any(String),
        rewrite: expect.any(String),
        reverse: expect.any(String),
      });
      const row = (await s.db.database.db
        .selectFrom('ledger_transactions' as never)
        .selectAll()
        .where('id' as never, '=', r.body.transactionId as never)
        .executeTakeFirst()) as Record<string, unknown>;
      expect(row).toMatchObject({ card_type: 'cpu', data: null, keys_enc: null, state: 'PREPARED' });

      // A read-back that does not say what was meant: FAILED, card blocked, the next step named.
      const bad = await confirm(r.body.transactionId, user(cardNo, 30, 1, 1));
      expect(bad.status).toBe(409);
      expect(bad.body.error).toMatchObject({
        code: 'WRITE_VERIFY_FAILED',
        details: { state: 'FAILED', nextStep: ['rewrite', 'reverse', 'confirm'] },
      });
      expect(bad.body.error.message).toMatch(/meterKind/);
      // Memory-card data is not a CPU read-back.
      const data = await s.call('POST', `/v1/transactions/${r.body.transactionId}/confirm`, {
        token: s.tokens.counter,
        body: { data: 'AB'.repeat(256) },
      });
      expect(data.status).toBe(400);
      expect(data.body.error.code).toBe('CPU_READ_BACK_REQUIRED');
      // The card does say it (a FAILED write can still be confirmed by a good read-back).
      const good = await confirm(r.body.transactionId, user(cardNo, 30, 1, 2));
      expect(good.status).toBe(200);
      expect(good.body).toMatchObject({ state: 'CONFIRMED' });
      const row2 = (await s.db.database.db
        .selectFrom('ledger_transactions' as never)
        .selectAll()
        .where('id' as never, '=', r.body.transactionId as never)
        .executeTakeFirst()) as Record<string, unknown>;
      expect(JSON.parse(row2.read_back as string)).toMatchObject({
        kind: 'user',
        cardNo,
        gas: 30,
        count: 1,
        meterKind: 2,
      });
      const card = await s.call('GET', `/v1/cards/${M}/${cardNo}`, { token: s.tokens.counter });
      expect(card.status).toBe(200);
      expect(card.body).toMatchObject({
        cardType: 'cpu',
        count: 1,
        openGas: 30,
        status: 'active',
        pendingTransaction: null,
      });
      expect(
        (await s.call('GET', `/v1/cards/${M}/${freshCardNo()}`, { token: s.tokens.counter })).body.error.code,
      ).toBe('LEDGER_CARD_NOT_FOUND');
    });

    it('purchase: count = card count + 1 following the ledger; empty card required (Tancy); refund at the same count', async () => {
      const cardNo = await issued(10);
      const full = await prepare({ operation: 'purchase', gas: 5, observed: user(cardNo, 10, 1) });
      expect(full.status).toBe(409);
      expect(full.body.error.code).toBe('CARD_NOT_EMPTY');
      const wrongCount = await prepare({ operation: 'purchase', gas: 5, observed: { ...user(cardNo, 0, 3) } });
      expect(wrongCount.body.error).toMatchObject({
        code: 'COUNT_MISMATCH',
        details: { cardCount: 3, ledgerCount: 1 },
      });
      const otherNo = await prepare({
        operation: 'purchase',
        cardNo: freshCardNo(),
        gas: 5,
        observed: user(cardNo, 0, 1),
      });
      expect(otherNo.body.error.code).toBe('CARD_NUMBER_MISMATCH');
      expect((await prepare({ operation: 'purchase', gas: 5, observed: null })).body.error.code).toBe(
        'CPU_OBSERVED_REQUIRED',
      );

      // The meter has written back: the 10 on the card counts as taken.
      const p = await prepare({ operation: 'purchase', gas: 12, observed: { ...user(cardNo, 10, 1), written: true } });
      expect(p.status, JSON.stringify(p.body)).toBe(201);
      expect(p.body).toMatchObject({ operation: 'purchase', state: 'PREPARED', count: 2, gas: 12 });
      // The card's last write is unconfirmed: refused with the next step.
      const blocked = await prepare({ operation: 'refund', observed: user(cardNo, 12, 2) });
      expect(blocked.status).toBe(409);
      expect(blocked.body.error).toMatchObject({
        code: 'LAST_WRITE_UNCONFIRMED',
        details: { transactionId: p.body.transactionId, nextStep: ['confirm', 'rewrite', 'reverse'] },
      });
      expect(
        (await s.call('GET', `/v1/cards/${M}/${cardNo}`, { token: s.tokens.counter })).body.pendingTransaction,
      ).toMatchObject({ transactionId: p.body.transactionId, state: 'PREPARED', operation: 'purchase' });
      expect((await confirm(p.body.transactionId, user(cardNo, 12, 2))).status).toBe(200);

      const r = await prepare({ operation: 'refund', observed: user(cardNo, 12, 2) });
      expect(r.body).toMatchObject({ operation: 'refund', count: 2, gas: 0, refundedGas: 12 });
      expect((await confirm(r.body.transactionId, user(cardNo, 0, 2))).status).toBe(200);
      expect((await prepare({ operation: 'refund', observed: user(cardNo, 0, 2) })).body.error.code).toBe(
        'NOTHING_TO_REFUND',
      );
    });

    it('reissue takes the ledger count (any other is refused); format retires the card; tool cards need a blank card', async () => {
      const cardNo = await issued(0);
      const p = await prepare({ operation: 'purchase', gas: 7, observed: user(cardNo, 0, 1) });
      await confirm(p.body.transactionId, user(cardNo, 7, 2));
      expect(
        (await prepare({ operation: 'reissue', cardNo, gas: 0, meterKind: 1, observed: user(cardNo, 7, 2) })).body.error
          .code,
      ).toBe('CPU_CARD_NOT_BLANK');
      expect(
        (await prepare({ operation: 'reissue', cardNo, gas: 0, meterKind: 1, count: 1, observed: null })).body.error
          .code,
      ).toBe('REISSUE_COUNT_MISMATCH');
      expect(
        (await prepare({ operation: 'reissue', cardNo, gas: 8, meterKind: 1, observed: null })).body.error.code,
      ).toBe('REISSUE_GAS_MISMATCH');
      const re = await prepare({ operation: 'reissue', cardNo, gas: 7, meterKind: 1, observed: null });
      expect(re.status, JSON.stringify(re.body)).toBe(201);
      expect(re.body).toMatchObject({ operation: 'reissue', count: 2, gas: 7 });
      await confirm(re.body.transactionId, user(cardNo, 7, 2));
      expect((await prepare({ operation: 'format', observed: user(cardNo, 7, 2) })).body.error.code).toBe(
        'CARD_NOT_EMPTY',
      );
      const f = await prepare({ operation: 'format', observed: { ...user(cardNo, 7, 2), written: true } });
      expect(f.status).toBe(201);
      expect((await confirm(f.body.transactionId, user(cardNo, 7, 2))).body.error.code).toBe('WRITE_VERIFY_FAILED');
      expect((await confirm(f.body.transactionId, { kind: 'blank' })).body.state).toBe('CONFIRMED');
      expect((await prepare({ operation: 'purchase', gas: 1, observed: user(cardNo, 0, 2) })).body.error.code).toBe(
        'CARD_FORMATTED',
      );

      expect((await prepare({ operation: 'tool', tool: 'CLEAR', observed: user(cardNo, 0, 2) })).body.error.code).toBe(
        'CPU_CARD_NOT_BLANK',
      );
      const t = await prepare({ operation: 'tool', tool: 'CLEAR', observed: null });
      expect(t.body).toMatchObject({ operation: 'tool', tool: 'CLEAR', cardNo: null, state: 'PREPARED' });
      expect((await confirm(t.body.transactionId, { kind: 'blank' })).status).toBe(409);
      expect((await confirm(t.body.transactionId, { kind: 'tool' })).body.state).toBe('CONFIRMED');
    });

    it('the maker must handle CPU cards; memory-card routes still refuse CPU cards, pointing to the CPU route', async () => {
      const k = await prepare({
        maker: 'kingcard',
        operation: 'issue',
        cardNo: freshCardNo(),
        gas: 1,
        meterKind: 1,
        observed: null,
      });
      expect(k.status).toBe(422);
      expect(k.body.error.code).toBe('CARD_TYPE_UNSUPPORTED');
      expect(
        (
          await prepare({
            maker: 'nosuch',
            operation: 'issue',
            cardNo: freshCardNo(),
            gas: 1,
            meterKind: 1,
            observed: null,
          })
        ).body.error.code,
      ).toBe('PLUGIN_UNKNOWN');
      const old = await s.call('POST', '/v1/cards/purchase', {
        token: s.tokens.counter,
        body: { cardType: 'cpu', data: '00', cardNo: '1', gas: 1 },
      });
      expect(old.body.error).toMatchObject({
        code: 'CPU_CARD_AT_STATION',
        details: { use: 'POST /v1/cards/cpu/prepare' },
      });
      const off = await s.call('POST', `/v1/plugins/${M}/disable`, { token: s.tokens.ops });
      expect(off.status).toBe(200);
      try {
        expect(
          (await prepare({ operation: 'issue', cardNo: freshCardNo(), gas: 1, meterKind: 1, observed: null })).body
            .error.code,
        ).toBe('PLUGIN_DISABLED');
      } finally {
        await s.call('POST', `/v1/plugins/${M}/enable`, { token: s.tokens.ops });
      }
    });

    it('banks (and billing) are refused for CPU cards; ops may prepare', async () => {
      for (const token of [s.tokens.bank, s.tokens.billing]) {
        const r = await prepare(
          { operation: 'issue', cardNo: freshCardNo(), gas: 1, meterKind: 1, observed: null },
          { token },
        );
        expect(r.status).toBe(403);
        expect(r.body.error.code).toBe('FORBIDDEN_CARD_TYPE');
      }
      expect(
        (
          await prepare(
            { operation: 'issue', cardNo: freshCardNo(), gas: 1, meterKind: 1, observed: null },
            { token: s.tokens.ops },
          )
        ).status,
      ).toBe(201);
      expect((await s.call('GET', `/v1/cards/${M}/1`, { token: s.tokens.bank })).status).toBe(403);
    });

    it('idempotent retry: same transaction, exactly one row; a different body under the key is refused', async () => {
      const cardNo = await issued(0);
      const idem = key();
      const body = { operation: 'purchase', gas: 9, observed: user(cardNo, 0, 1) };
      const a = await prepare(body, { idem });
      const b = await prepare(body, { idem });
      expect(a.status).toBe(201);
      expect(b.status).toBe(201);
      expect(b.headers.get('idempotent-replayed')).toBe('true');
      expect(b.body).toEqual(a.body);
      expect((await prepare({ ...body, gas: 10 }, { idem })).body.error.code).toBe('IDEMPOTENCY_KEY_REUSED');
      const h = await s.call('GET', `/v1/transactions?maker=${M}&cardNo=${cardNo}`, { token: s.tokens.counter });
      expect(h.body.transactions.filter((t: { operation: string }) => t.operation === 'purchase')).toHaveLength(1);
    });

    it('N concurrent CPU prepares on one card: exactly one wins, the rest get 409', async () => {
      const cardNo = await issued(0);
      const N = 10;
      const results = await Promise.all(
        Array.from({ length: N }, (_, i) =>
          prepare({ operation: 'purchase', gas: 20 + i, observed: user(cardNo, 0, 1) }, { idem: `${key()}-${i}` }),
        ),
      );
      expect(results.filter((r) => r.status === 201)).toHaveLength(1);
      const lost = results.filter((r) => r.status !== 201);
      expect(lost).toHaveLength(N - 1);
      for (const l of lost) expect(l.status).toBe(409);
      const h = await s.call('GET', `/v1/transactions?maker=${M}&cardNo=${cardNo}`, { token: s.tokens.counter });
      expect(h.body.transactions.filter((t: { operation: string }) => t.operation === 'purchase')).toHaveLength(1);
    });

    it("rewrite (掉气补气) replaces the write with the same values; the counter recovers its own, not another token's", async () => {
      const cardNo = await issued(0);
      const p = await prepare(
        { operation: 'purchase', gas: 15, observed: user(cardNo, 0, 1) },
        { headers: { 'x-meterhub-channel': 'station' } },
      );
      expect(p.status).toBe(201);
      // Another counter token, or the same token on another channel: 403.
      for (const o of [
        { token: s.tokens['counter-2']! },
        { token: s.tokens.counter, headers: { 'x-meterhub-channel': 'elsewhere' } },
      ]) {
        const other = await s.call('POST', `/v1/transactions/${p.body.transactionId}/rewrite`, o);
        expect(other.status).toBe(403);
        expect(other.body.error).toMatchObject({ code: 'FORBIDDEN', details: { reason: 'not-own-transaction' } });
      }
      const rw = await s.call('POST', `/v1/transactions/${p.body.transactionId}/rewrite`, {
        token: s.tokens.counter,
        headers: { 'x-meterhub-channel': 'station' },
        idem: key(),
      });
      expect(rw.status, JSON.stringify(rw.body)).toBe(201);
      expect(rw.body).toMatchObject({
        operation: 'rewrite',
        baseOperation: 'purchase',
        state: 'PREPARED',
        cardType: 'cpu',
        count: 2,
        gas: 15,
        refId: p.body.transactionId,
        data: null,
      });
      expect(rw.body).not.toHaveProperty('oldKey');
      expect(
        (await s.call('GET', `/v1/transactions/${p.body.transactionId}`, { token: s.tokens.counter })).body.state,
      ).toBe('REWRITTEN');
      expect(
        (
          await confirm(rw.body.transactionId, user(cardNo, 15, 2), s.tokens.counter, {
            'x-meterhub-channel': 'station',
          })
        ).body.state,
      ).toBe('CONFIRMED');
      // A confirmed sale is undone by a refund, not a reverse (even for the owner).
      const late = await s.call('POST', `/v1/transactions/${rw.body.transactionId}/reverse`, {
        token: s.tokens.counter,
        headers: { 'x-meterhub-channel': 'station' },
        body: { readBack: user(cardNo, 0, 1) },
      });
      expect(late.body.error.code).toBe('TRANSACTION_STATE');
    });

    it("reverse (冲正) needs a read-back showing the card as before the write; ops may reverse on the ledger's word", async () => {
      const cardNo = await issued(0);
      const p = await prepare({ operation: 'purchase', gas: 6, observed: user(cardNo, 0, 1) });
      const rev = (body: unknown, token = s.tokens.counter) =>
        s.call('POST', `/v1/transactions/${p.body.transactionId}/reverse`, {
          token,
          ...(body !== undefined ? { body } : {}),
        });
      expect((await rev(undefined)).body.error.code).toBe('REVERSE_NEEDS_READ_BACK');
      expect((await rev({ readBack: user(cardNo, 6, 2) })).body.error.code).toBe('REVERSE_REACHED_CARD');
      expect((await rev({ readBack: user(cardNo, 3, 2) })).body.error.code).toBe('REVERSE_CARD_CHANGED');
      expect((await rev({ readBack: user(cardNo, 0, 1) }, s.tokens['counter-2']!)).status).toBe(403);
      const ok = await rev({ readBack: user(cardNo, 0, 1) });
      expect(ok.status, JSON.stringify(ok.body)).toBe(200);
      expect(ok.body).toMatchObject({ state: 'REVERSED' });
      expect((await s.call('GET', `/v1/cards/${M}/${cardNo}`, { token: s.tokens.counter })).body).toMatchObject({
        count: 1,
        pendingTransaction: null,
      });
      // The count is sold again.
      const again = await prepare({ operation: 'purchase', gas: 6, observed: user(cardNo, 0, 1) });
      expect(again.body).toMatchObject({ count: 2 });
      const byOps = await s.call('POST', `/v1/transactions/${again.body.transactionId}/reverse`, {
        token: s.tokens.ops,
      });
      expect(byOps.status).toBe(200);
      expect(byOps.body.state).toBe('REVERSED');

      // A reversed issue removes the card; the audit trail names every step.
      const n = freshCardNo();
      const i = await prepare({ operation: 'issue', cardNo: n, gas: 1, meterKind: 1, observed: null });
      expect(
        (
          await s.call('POST', `/v1/transactions/${i.body.transactionId}/reverse`, {
            token: s.tokens.counter,
            body: { readBack: { kind: 'blank' } },
          })
        ).body.state,
      ).toBe('REVERSED');
      expect((await s.call('GET', `/v1/cards/${M}/${n}`, { token: s.tokens.counter })).status).toBe(404);
      await s.app.meterhub.audit.flush();
      const audit = await s.db.database.db
        .selectFrom('audit_log')
        .selectAll()
        .where('tx_id', '=', i.body.transactionId)
        .execute();
      expect(audit.map((a) => `${a.actor} ${a.status} ${a.route}`)).toEqual(
        expect.arrayContaining(['counter-t 201 /v1/cards/cpu/prepare', 'counter-t 200 /v1/transactions/:id/reverse']),
      );
    });
  });
}
