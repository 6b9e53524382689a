/**
 * The audit chain on PostgreSQL with several writers: each instance writes its batches as one statement from
 * the head it last wrote; another writer moving the head in between must cost a retry, never a fork or a gap.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type MeterHubDatabase } from '../db/database.ts';
import { openTestDatabase, type TestDatabase } from '../ledger/testing/databases.ts';
import { serviceAvailable } from '../testing/services.ts';
import { AuditLog, type AuditEntry } from './audit-log.ts';

const pgOk = await serviceAvailable('postgres');

const entry = (requestId: string): AuditEntry => ({
  at: new Date().toISOString(),
  requestId,
  actor: 'c',
  role: 'counter',
  channel: 'counter',
  method: 'POST',
  path: '/v1/cards/purchase',
  route: '/v1/cards/purchase',
  status: 201,
  transactionId: null,
  idempotencyKey: null,
  ip: null,
  durationMs: 1,
});

describe.skipIf(!pgOk)('audit chain, several writers on one PostgreSQL database', () => {
  let t: TestDatabase;
  /** A second and a third "instance": their own pools on the same database. */
  let other: MeterHubDatabase;
  let third: MeterHubDatabase;
  beforeAll(async () => {
    t = await openTestDatabase('postgres');
    other = openDatabase({ url: t.url, poolSize: 4 });
    third = openDatabase({ url: t.url, poolSize: 4 });
  });
  afterAll(async () => {
    await other?.close();
    await third?.close();
    await t?.cleanup();
  });

  const ids = async () =>
    (await t.database.db.selectFrom('audit_log').select(['seq', 'request_id']).orderBy('seq').execute()).map(
      (r) => r.request_id as string,
    );

  it('a head moved by another instance is read again: the next batch follows it', async () => {
    const a = new AuditLog(t.database);
    const b = new AuditLog(other);
    await a.append(entry('a1')); // a now remembers the head it wrote
    await b.append(entry('b1')); // … which b has moved on
    await a.append(entry('a2'));
    expect(await ids()).toEqual(['a1', 'b1', 'a2']);
    expect(await a.verify()).toMatchObject({ ok: true, rows: 3, lastSeq: 3 });
  });

  it('concurrent one-statement writers and a row-locking writer keep one chain with every entry once', async () => {
    const before = (await ids()).length;
    const writers = [new AuditLog(t.database), new AuditLog(other), new AuditLog(third, { oneStatement: false })];
    const n = 60;
    await Promise.all(writers.flatMap((w, k) => Array.from({ length: n }, (_, i) => w.append(entry(`w${k}-${i}`)))));
    await Promise.all(writers.map((w) => w.flush()));
    const all = await ids();
    expect(all).toHaveLength(before + 3 * n);
    const mine = all.slice(before);
    expect(new Set(mine).size).toBe(3 * n);
    // Each writer's entries stay in the order it was given them.
    for (let k = 0; k < 3; k++) {
      const order = mine.filter((x) => x.startsWith(`w${k}-`)).map((x) => Number(x.split('-')[1]));
      expect(order).toEqual([...order].sort((x, y) => x - y));
    }
    expect(await writers[0]!.verify()).toMatchObject({ ok: true, rows: before + 3 * n });
  });

  it('a burst while a batch is in flight goes out as few batches, not one each', async () => {
    const a = new AuditLog(t.database);
    const before = await t.database.db.selectFrom('audit_head').select('seq').executeTakeFirstOrThrow();
    // Count every statement this process sends during the burst.
    let statements = 0;
    const proto = pg.Client.prototype as unknown as { query: (...x: unknown[]) => unknown };
    const query = proto.query;
    proto.query = function (this: unknown, ...x: unknown[]) {
      statements++;
      return query.apply(this, x);
    };
    try {
      await Promise.all(Array.from({ length: 100 }, (_, i) => a.append(entry(`burst-${i}`))));
    } finally {
      proto.query = query;
    }
    const after = await t.database.db.selectFrom('audit_head').select('seq').executeTakeFirstOrThrow();
    expect(Number(after.seq) - Number(before.seq)).toBe(100);
    // The head is read once, then the 100 appends of one synchronous burst go out as one statement.
    expect(statements).toBe(2);
    expect(await a.verify()).toMatchObject({ ok: true });
  });
});
