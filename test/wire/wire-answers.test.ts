/**
 * The wire schemas against a real `meterhub serve`: every answer of the transaction and ops routes matches its
 * schema in core/wire (types, required fields, and no field the schema does not name). The ops routes have no
 * response schema, and the transaction routes' schemas let undocumented fields through, so this is what keeps
 * the TS types (the server's, the station's and the console's) honest about what is really sent.
 */
import { Ajv } from 'ajv';
import type { TSchema } from 'typebox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OpsTx, SinkStats } from '../../core/wire/ops.ts';
import { CardWriteView, TxView } from '../../core/wire/transaction.ts';
import { makeTransactions, startConsoleServer, type ConsoleServer } from '../console/support.ts';

/** Ajv over the schema with every object closed: a field the schema does not name is an error too. */
function strict(schema: TSchema) {
  const close = (s: unknown): unknown => {
    if (Array.isArray(s)) return s.map(close);
    if (!s || typeof s !== 'object') return s;
    const o = Object.fromEntries(Object.entries(s).map(([k, v]) => [k, k === 'enum' ? v : close(v)]));
    const t = (o as { type?: unknown }).type;
    if (
      (t === 'object' || (Array.isArray(t) && t.includes('object'))) &&
      o.properties &&
      o.additionalProperties === undefined
    ) {
      o.additionalProperties = false;
    }
    return o;
  };
  const validate = new Ajv({ allErrors: true, strict: false }).compile(
    close(JSON.parse(JSON.stringify(schema))) as object,
  );
  return (value: unknown) => {
    validate(value);
    return (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message} ${JSON.stringify(e.params)}`);
  };
}

let s: ConsoleServer;
let tx: Awaited<ReturnType<typeof makeTransactions>>;
beforeAll(async () => {
  s = await startConsoleServer();
  tx = await makeTransactions(s);
}, 120_000);
afterAll(async () => {
  await s?.close();
});

describe('answers match the wire schemas', () => {
  it('a write answer (201) is a CardWriteView: card data, keys, links, actor, clerk all named', async () => {
    const r = await s.call('POST', '/v1/cards/issue', {
      token: s.tokens.counter,
      idem: `wire-${Date.now()}`,
      body: { maker: 'kingcard', cardType: '4442', cardNo: `9${Date.now() % 1e9}`, gas: 7, meterKind: 1 },
    });
    expect(r.status).toBe(201);
    expect(strict(CardWriteView)(r.body)).toEqual([]);
    // What fast-json-stringify must not drop (the published schema does not name these).
    for (const k of ['actor', 'channel', 'clerk', 'links', 'oldKey', 'newKey', 'standIn', 'library'])
      expect(r.body).toHaveProperty(k);
  });

  it("a transaction (GET, confirm, a card's history) is a TxView", async () => {
    const one = await s.call('GET', `/v1/transactions/${tx.failed}`);
    expect(one.status).toBe(200);
    expect(one.body.error.code).toBeTruthy();
    expect(strict(TxView)(one.body)).toEqual([]);
    const history = await s.call('GET', `/v1/transactions?maker=kingcard&cardNo=${tx.cardNos[0]}`);
    expect(history.body.transactions).toHaveLength(1);
    for (const t of history.body.transactions) expect(strict(TxView)(t)).toEqual([]);
  });

  it('every row of /v1/ops/transactions is an OpsTx, in each state', async () => {
    const r = await s.call('GET', '/v1/ops/transactions');
    expect(r.status).toBe(200);
    const rows = r.body.transactions as Array<{ state: string }>;
    expect(new Set(rows.map((t) => t.state))).toEqual(new Set(['CONFIRMED', 'PREPARED', 'FAILED']));
    const check = strict(OpsTx);
    for (const t of rows) expect(check(t)).toEqual([]);
  });

  it('the billing sinks of /v1/ops/gateway are SinkStats', async () => {
    const r = await s.call('GET', '/v1/ops/gateway');
    expect(r.status).toBe(200);
    expect(r.body.sinks.length).toBeGreaterThan(0);
    const check = strict(SinkStats);
    for (const sink of r.body.sinks) expect(check(sink)).toEqual([]);
  });

  it('the strict check does refuse a field the schema does not name, and a missing one', () => {
    const check = strict(OpsTx);
    expect(check({})).not.toEqual([]);
    expect(check({ surprise: 1 }).join()).toMatch(/must NOT have additional properties/);
  });
});
