/**
 * The ledger's promises over HTTP, with the real plugin host and stand-in libraries (替身库):
 * idempotency, count sequencing, concurrency, confirm/rewrite/reverse, and the error contract.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { faultPlugin, freshCardNo, removeDir, startTestServer, type TestServer } from './support.ts';
import { meterWriteBack } from '../../core/testing/stand-in-meter.ts';
import { serviceAvailable } from '../../core/testing/services.ts';

const M = 'kingcard';
const T = '4442' as const;

describe('ledger over HTTP (SQLite, stand-in libraries)', () => {
  let s: TestServer;
  let k = 0;
  const key = () => `led-${Date.now()}-${++k}`;
  beforeAll(async () => {
    s = await startTestServer();
  });
  afterAll(async () => s?.close());

  /** An issued, confirmed card that the meter has taken (so it is empty and ready for a sale). */
  async function readyCard(): Promise<{ cardNo: string; card: string }> {
    const cardNo = freshCardNo();
    const r = await s.call('POST', '/v1/cards/issue', {
      token: s.tokens.counter,
      body: { maker: M, cardType: T, cardNo, gas: 5, meterKind: 1 },
    });
    expect(r.status).toBe(201);
    const c = await s.call('POST', `/v1/transactions/${r.body.transactionId}/confirm`, {
      token: s.tokens.counter,
      body: { data: r.body.data },
    });
    expect(c.status).toBe(200);
    return { cardNo, card: meterWriteBack(M, T, r.body.data) };
  }

  it('a retry with the same Idempotency-Key returns the same data and keys and never a second purchase', async () => {
    const { cardNo, card } = await readyCard();
    const idem = key();
    const body = { cardType: T, data: card, cardNo, gas: 12 };
    const a = await s.call('POST', '/v1/cards/purchase', { token: s.tokens.counter, idem, body });
    const b = await s.call('POST', '/v1/cards/purchase', { token: s.tokens.counter, idem, body });
    expect(a.status).toBe(201);
    expect(b.status).toBe(201);
    expect(b.headers.get('idempotent-replayed')).toBe('true');
    expect(a.headers.get('idempotent-replayed')).toBeNull();
    expect(b.body).toEqual(a.body);
    expect(b.body.oldKey).toBe(a.body.oldKey);
    const other = await s.call('POST', '/v1/cards/purchase', {
      token: s.tokens.counter,
      idem,
      body: { ...body, gas: 13 },
    });
    expect(other.status).toBe(422);
    expect(other.body.error.code).toBe('IDEMPOTENCY_KEY_REUSED');
    // Keys are per token: the same key from another token is a different request.
    const bank = await s.call('POST', '/v1/cards/purchase', { token: s.tokens.bank, idem, body });
    expect(bank.status).toBe(409);
    expect(bank.body.error.code).toBe('LAST_WRITE_UNCONFIRMED');
    const h = await s.call('GET', `/v1/transactions?maker=${M}&cardNo=${cardNo}`);
    expect(h.body.transactions.filter((t: { operation: string }) => t.operation === 'purchase')).toHaveLength(1);
  });

  it('N concurrent purchases on one card: exactly one wins, the rest get 409', async () => {
    const { cardNo, card } = await readyCard();
    const N = 10;
    const results = await Promise.all(
      Array.from({ length: N }, (_, i) =>
        s.call('POST', '/v1/cards/purchase', {
          token: s.tokens.counter,
          idem: `${key()}-${i}`,
          body: { cardType: T, data: card, cardNo, gas: 20 + i },
        }),
      ),
    );
    const won = results.filter((r) => r.status === 201);
    const lost = results.filter((r) => r.status !== 201);
    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(N - 1);
    for (const l of lost) {
      expect(l.status).toBe(409);
      expect(['LAST_WRITE_UNCONFIRMED', 'CONCURRENT_CARD_WRITE']).toContain(l.body.error.code);
    }
    const h = await s.call('GET', `/v1/transactions?maker=${M}&cardNo=${cardNo}`);
    const purchases = h.body.transactions.filter((t: { operation: string }) => t.operation === 'purchase');
    expect(purchases).toHaveLength(1);
    expect(purchases[0].count).toBe(2);
  });

  it('refuses a sale while the last write is unconfirmed, pointing to confirm / rewrite / reverse', async () => {
    const { cardNo, card } = await readyCard();
    const p = await s.call('POST', '/v1/cards/purchase', {
      token: s.tokens.counter,
      body: { cardType: T, data: card, cardNo, gas: 9 },
    });
    const again = await s.call('POST', '/v1/cards/purchase', {
      token: s.tokens.counter,
      body: { cardType: T, data: meterWriteBack(M, T, p.body.data), cardNo, gas: 9 },
    });
    expect(again.status).toBe(409);
    expect(again.body.error).toMatchObject({
      code: 'LAST_WRITE_UNCONFIRMED',
      details: { transactionId: p.body.transactionId, nextStep: ['confirm', 'rewrite', 'reverse'] },
    });
    expect(again.body.error.messageZh).toMatch(/确认/);
    expect(again.body.error.messageEn).toMatch(/confirm/);
  });

  it('a read-back that does not say what was written fails the transaction; rewrite (掉气补气) gives the same data, then confirms', async () => {
    const { cardNo, card } = await readyCard();
    const p = await s.call('POST', '/v1/cards/purchase', {
      token: s.tokens.counter,
      body: { cardType: T, data: card, cardNo, gas: 30 },
    });
    // The station "wrote" but the card still reads as before.
    const bad = await s.call('POST', `/v1/transactions/${p.body.transactionId}/confirm`, {
      token: s.tokens.counter,
      body: { data: card },
    });
    expect(bad.status).toBe(409);
    expect(bad.body.error).toMatchObject({
      code: 'WRITE_VERIFY_FAILED',
      details: { state: 'FAILED', expected: { count: 2, gas: 30 }, actual: { count: 1 } },
    });
    expect((await s.call('GET', `/v1/transactions/${p.body.transactionId}`)).body).toMatchObject({
      state: 'FAILED',
      error: { code: 'WRITE_VERIFY_FAILED' },
    });
    // Not the bank's transaction: it does not even see it. (The counter that made it could rewrite it itself.)
    const denied = await s.call('POST', `/v1/transactions/${p.body.transactionId}/rewrite`, { token: s.tokens.bank });
    expect(denied.status).toBe(404);
    const rw = await s.call('POST', `/v1/transactions/${p.body.transactionId}/rewrite`, {
      token: s.tokens.ops,
      idem: key(),
    });
    expect(rw.status, JSON.stringify(rw.body)).toBe(201);
    expect(rw.body).toMatchObject({
      operation: 'rewrite',
      baseOperation: 'purchase',
      refId: p.body.transactionId,
      count: 2,
      gas: 30,
    });
    expect([rw.body.data, rw.body.oldKey, rw.body.newKey]).toEqual([p.body.data, p.body.oldKey, p.body.newKey]);
    // The rewrite is ops' write: ops confirms it (the counter may not confirm another token's write, issue 13 #4).
    const notOwn = await s.call('POST', `/v1/transactions/${rw.body.transactionId}/confirm`, {
      token: s.tokens.counter,
      body: { data: rw.body.data },
    });
    expect(notOwn.status).toBe(403);
    const ok = await s.call('POST', `/v1/transactions/${rw.body.transactionId}/confirm`, {
      token: s.tokens.ops,
      body: { data: rw.body.data },
    });
    expect(ok.body.state).toBe('CONFIRMED');
    expect((await s.call('GET', `/v1/transactions/${p.body.transactionId}`)).body.state).toBe('REWRITTEN');
  });

  it('reverse (冲正) is refused when the read-back shows the write arrived, and restores the count when it did not', async () => {
    const { cardNo, card } = await readyCard();
    const p = await s.call('POST', '/v1/cards/purchase', {
      token: s.tokens.counter,
      body: { cardType: T, data: card, cardNo, gas: 7 },
    });
    const arrived = await s.call('POST', `/v1/transactions/${p.body.transactionId}/reverse`, {
      token: s.tokens.ops,
      body: { data: p.body.data },
    });
    expect(arrived.status).toBe(409);
    expect(arrived.body.error.code).toBe('REVERSE_REACHED_CARD');
    const rev = await s.call('POST', `/v1/transactions/${p.body.transactionId}/reverse`, {
      token: s.tokens.ops,
      body: { data: card },
    });
    expect(rev.status).toBe(200);
    expect(rev.body.state).toBe('REVERSED');
    const p2 = await s.call('POST', '/v1/cards/purchase', {
      token: s.tokens.counter,
      body: { cardType: T, data: card, cardNo, gas: 8 },
    });
    expect(p2.status).toBe(201);
    expect(p2.body.count).toBe(2);
    await s.call('POST', `/v1/transactions/${p2.body.transactionId}/confirm`, {
      token: s.tokens.counter,
      body: { data: p2.body.data },
    });
    const late = await s.call('POST', `/v1/transactions/${p2.body.transactionId}/reverse`, { token: s.tokens.ops });
    expect(late.status).toBe(409);
    expect(late.body.error.code).toBe('TRANSACTION_STATE');
  });

  it('a card whose count differs from the ledger is refused with the next step', async () => {
    const { cardNo, card } = await readyCard();
    const p = await s.call('POST', '/v1/cards/purchase', {
      token: s.tokens.counter,
      body: { cardType: T, data: card, cardNo, gas: 7 },
    });
    await s.call('POST', `/v1/transactions/${p.body.transactionId}/confirm`, {
      token: s.tokens.counter,
      body: { data: p.body.data },
    });
    // An old image of the card (count 1) comes back to the counter.
    const stale = await s.call('POST', '/v1/cards/purchase', {
      token: s.tokens.counter,
      body: { cardType: T, data: card, cardNo, gas: 7 },
    });
    expect(stale.status).toBe(409);
    expect(stale.body.error).toMatchObject({
      code: 'COUNT_MISMATCH',
      details: { cardCount: 1, ledgerCount: 2, nextStep: 'reconcile' },
    });
  });

  it('a card unknown to the ledger is refused; the wrong card number is refused', async () => {
    const cardNo = freshCardNo();
    const r = await s.call('POST', '/v1/cards/issue', {
      token: s.tokens.counter,
      body: { maker: M, cardType: T, cardNo, gas: 0, meterKind: 1 },
    });
    await s.call('POST', `/v1/transactions/${r.body.transactionId}/reverse`, { token: s.tokens.ops });
    const p = await s.call('POST', '/v1/cards/purchase', {
      token: s.tokens.counter,
      body: { cardType: T, data: r.body.data, cardNo, gas: 7 },
    });
    expect(p.status).toBe(409);
    expect(p.body.error.code).toBe('CARD_NOT_IN_LEDGER');
    const w = await s.call('POST', '/v1/cards/purchase', {
      token: s.tokens.counter,
      body: { cardType: T, data: r.body.data, cardNo: '999', gas: 7 },
    });
    expect(w.status).toBe(409);
    expect(w.body.error.code).toBe('CARD_NUMBER_MISMATCH');
  });

  it('schema errors are 400 and name the field; amounts are never coerced', async () => {
    const { cardNo, card } = await readyCard();
    const cases: Array<[unknown, string]> = [
      [{ cardType: T, data: card, cardNo, gas: '10' }, 'body.gas'],
      [{ cardType: T, data: card, gas: 10 }, 'body.cardNo'],
      [{ cardType: T, data: card, cardNo, gas: 10, count: 5 }, 'body.count'],
      [{ cardType: 'x', data: card, cardNo, gas: 10 }, 'body.cardType'],
      [{ cardType: T, data: card, cardNo, gas: 100_000_000 }, 'body.gas'],
      [{ cardType: T, data: card, cardNo: '12a', gas: 10 }, 'body.cardNo'],
    ];
    for (const [body, field] of cases) {
      const r = await s.call('POST', '/v1/cards/purchase', { token: s.tokens.counter, body });
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(r.body.error.code).toBe('BAD_INPUT');
      expect(r.body.error.details.field).toBe(field);
      expect(r.body.error.messageEn).toContain(field);
    }
    const len = await s.call('POST', '/v1/cards/purchase', {
      token: s.tokens.counter,
      body: { cardType: T, data: card.slice(2), cardNo, gas: 1 },
    });
    expect(len.status).toBe(400);
    expect(len.body.error).toMatchObject({ code: 'CARD_DATA_LENGTH', details: { field: 'data' } });
    const hdr = await s.call('POST', '/v1/cards/purchase', {
      token: s.tokens.counter,
      idem: 'bad key!',
      body: { cardType: T, data: card, cardNo, gas: 1 },
    });
    expect(hdr.status).toBe(400);
    expect(hdr.body.error.details.field).toBe('headers.idempotency-key');
    const notJson = await fetch(`${s.url}/v1/cards/purchase`, {
      method: 'POST',
      headers: { authorization: `Bearer ${s.tokens.counter}`, 'content-type': 'application/json' },
      body: '{"gas":',
    });
    expect(notJson.status).toBe(400);
    expect(((await notJson.json()) as { error: { code: string } }).error.code).toBe('BAD_INPUT');
  });

  it('an unknown card is 422 CARD_UNKNOWN; an unknown route is 404 in the error format', async () => {
    const r = await s.call('POST', '/v1/cards/identify', {
      token: s.tokens.counter,
      body: { cardType: T, data: '00'.repeat(256) },
    });
    expect(r.status).toBe(422);
    expect(r.body.error).toMatchObject({
      code: 'CARD_UNKNOWN',
      messageZh: expect.any(String),
      messageEn: expect.any(String),
      details: expect.any(Object),
    });
    const nf = await s.call('GET', '/v1/nothing-here');
    expect(nf.status).toBe(404);
    expect(nf.body.error.code).toBe('NOT_FOUND');
  });
});

describe('maker conflicts and library failures (fault builds as plugins)', () => {
  let conflict: TestServer;
  let crash: TestServer;
  const dirs: string[] = [];
  beforeAll(async () => {
    // The SEGV fault build uses the kingcard stand-in layout, so it claims kingcard cards too.
    const a = faultPlugin('segv', 'faulty');
    dirs.push(a);
    conflict = await startTestServer({ pluginPaths: [a] });
    crash = await startTestServer({ bundled: false, pluginPaths: [a] });
    // Plugins from METERHUB_PLUGIN_PATH start disabled: ops enables them.
    for (const srv of [conflict, crash]) {
      const denied = await srv.call('POST', '/v1/plugins/faulty/enable', { token: srv.tokens.counter });
      expect(denied.status).toBe(403);
      const e = await srv.call('POST', '/v1/plugins/faulty/enable', { token: srv.tokens.ops });
      expect(e.status).toBe(200);
      expect(e.body).toMatchObject({ id: 'faulty', enabled: true });
    }
  });
  afterAll(async () => {
    await conflict?.close();
    await crash?.close();
    for (const d of dirs) removeDir(d);
  });

  it('two makers claiming one card: 409 CARD_CONFLICT naming both', async () => {
    const cardNo = freshCardNo();
    const r = await conflict.call('POST', '/v1/cards/issue', {
      body: { maker: 'kingcard', cardType: '4442', cardNo, gas: 1, meterKind: 1 },
    });
    expect(r.status).toBe(201);
    const id = await conflict.call('POST', '/v1/cards/identify', { body: { cardType: '4442', data: r.body.data } });
    expect(id.status).toBe(409);
    expect(id.body.error.code).toBe('CARD_CONFLICT');
    expect(id.body.error.details.makers).toEqual(expect.arrayContaining(['kingcard', 'faulty']));
  });

  it('a crashing library: 503 DRIVER_CRASHED with Retry-After, nothing recorded, the server keeps serving', async () => {
    const cardNo = freshCardNo();
    const r = await crash.call('POST', '/v1/cards/issue', {
      body: { maker: 'faulty', cardType: '4442', cardNo, gas: 0, meterKind: 1 },
    });
    expect(r.status).toBe(201);
    await crash.call('POST', `/v1/transactions/${r.body.transactionId}/reverse`);
    const p = await crash.call('POST', '/v1/cards/read', { body: { cardType: '4442', data: r.body.data } });
    expect(p.status).toBe(503);
    expect(p.body.error.code).toBe('DRIVER_CRASHED');
    expect(Number(p.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    const h = await crash.call('GET', '/v1/health');
    expect(h.status).toBe(200);
    expect(h.body.plugins.find((x: { id: string }) => x.id === 'faulty')).toBeDefined();
  });
});

const pgOk = await serviceAvailable('postgres');

describe.skipIf(!pgOk)('ledger over HTTP (PostgreSQL, fresh database)', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer({ db: 'postgres' });
  });
  afterAll(async () => s?.close());

  it('N concurrent purchases on one card: exactly one wins, the rest get 409; an idempotent retry replays', async () => {
    const cardNo = freshCardNo();
    const r = await s.call('POST', '/v1/cards/issue', {
      token: s.tokens.counter,
      body: { maker: M, cardType: '102', cardNo, gas: 5, meterKind: 2 },
    });
    expect(r.status).toBe(201);
    await s.call('POST', `/v1/transactions/${r.body.transactionId}/confirm`, {
      token: s.tokens.counter,
      body: { data: r.body.data },
    });
    const card = meterWriteBack(M, '102', r.body.data);
    const N = 12;
    const results = await Promise.all(
      Array.from({ length: N }, (_, i) =>
        s.call('POST', '/v1/cards/purchase', {
          token: s.tokens.counter,
          idem: `pg-${cardNo}-${i}`,
          body: { cardType: '102', data: card, cardNo, gas: 20 + i },
        }),
      ),
    );
    expect(results.filter((x) => x.status === 201)).toHaveLength(1);
    expect(results.filter((x) => x.status === 409)).toHaveLength(N - 1);
    const winner = results.findIndex((x) => x.status === 201);
    const replay = await s.call('POST', '/v1/cards/purchase', {
      token: s.tokens.counter,
      idem: `pg-${cardNo}-${winner}`,
      body: { cardType: '102', data: card, cardNo, gas: 20 + winner },
    });
    expect(replay.status).toBe(201);
    expect(replay.body).toEqual(results[winner]!.body);
    const h = await s.call('GET', `/v1/transactions?maker=${M}&cardNo=${cardNo}`);
    expect(h.body.transactions.filter((t: { operation: string }) => t.operation === 'purchase')).toHaveLength(1);
  });
});
