/**
 * The commit queue contract, on SQLite (group commit) and PostgreSQL (a transaction per unit): a unit is
 * durable when its promise resolves, a refused unit leaves nothing behind and takes no other unit with it,
 * and on SQLite the ledger and the audit log share one COMMIT (one fsync) when they arrive together.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { AuditLog, type AuditEntry } from '../audit/audit-log.ts';
import { KeyVault } from '../ledger/key-vault.ts';
import { LedgerStore } from '../ledger/ledger-store.ts';
import { openTestDatabase, type TestDatabase } from '../ledger/testing/databases.ts';
import { serviceAvailable } from '../testing/services.ts';
import { commitQueue, type CommitQueue } from './commit-queue.ts';

const pgOk = await serviceAvailable('postgres');

const entry = (i: number): AuditEntry => ({
  at: new Date().toISOString(),
  requestId: `r${i}`,
  actor: 'c',
  role: 'counter',
  channel: 'counter',
  method: 'POST',
  path: '/v1/cards/issue',
  route: '/v1/cards/issue',
  status: 201,
  transactionId: null,
  idempotencyKey: null,
  ip: null,
  durationMs: 1,
});

for (const kind of ['sqlite', 'postgres'] as const) {
  describe.skipIf(kind === 'postgres' && !pgOk)(`commit queue (${kind})`, () => {
    let t: TestDatabase;
    let q: CommitQueue;

    beforeAll(async () => {
      t = await openTestDatabase(kind, { poolSize: 8 });
      await sql`create table cq_probe (k text primary key, v integer not null)`.execute(t.database.db);
      q = commitQueue(t.database);
    });
    afterAll(async () => t?.cleanup());

    const rows = async (prefix: string) =>
      (
        await sql<{ k: string }>`select k from cq_probe where k like ${`${prefix}%`} order by k`.execute(t.database.db)
      ).rows.map((r) => r.k);

    it('is one queue per database', () => {
      expect(commitQueue(t.database)).toBe(q);
    });

    it('resolves each unit with its own result once its rows are there', async () => {
      const results = await Promise.all(
        Array.from({ length: 12 }, (_, i) =>
          q.unit(async (db) => {
            await sql`insert into cq_probe (k, v) values (${`a${String(i).padStart(2, '0')}`}, ${i})`.execute(db);
            return i * 10;
          }),
        ),
      );
      expect(results).toEqual(Array.from({ length: 12 }, (_, i) => i * 10));
      expect(await rows('a')).toHaveLength(12);
    });

    it('a refused unit leaves nothing and takes no other unit with it', async () => {
      const outcomes = await Promise.allSettled([
        q.unit(async (db) => {
          await sql`insert into cq_probe (k, v) values ('b1', 1)`.execute(db);
        }),
        q.unit(async (db) => {
          await sql`insert into cq_probe (k, v) values ('b2', 2)`.execute(db);
          throw new Error('refused after writing');
        }),
        q.unit(async (db) => {
          await sql`insert into cq_probe (k, v) values ('b1', 3)`.execute(db);
        }), // duplicate key
        q.unit(async (db) => {
          await sql`insert into cq_probe (k, v) values ('b3', 3)`.execute(db);
        }),
      ]);
      const status = outcomes.map((o) => o.status);
      // SQLite runs the units in order, so the first 'b1' wins; PostgreSQL runs them side by side: exactly one does.
      if (kind === 'sqlite') expect(status).toEqual(['fulfilled', 'rejected', 'rejected', 'fulfilled']);
      else expect([status[0], status[2]].sort()).toEqual(['fulfilled', 'rejected']);
      expect([status[1], status[3]]).toEqual(['rejected', 'fulfilled']);
      expect((outcomes[1] as PromiseRejectedResult).reason.message).toBe('refused after writing');
      expect(await rows('b')).toEqual(['b1', 'b3']);
    });

    it('idle() waits for every unit submitted', async () => {
      let done = 0;
      for (let i = 0; i < 5; i++)
        void q.unit(async (db) => {
          await sql`insert into cq_probe (k, v) values (${`c${i}`}, ${i})`.execute(db);
          done++;
        });
      await q.idle();
      expect(done).toBe(5);
      expect(await rows('c')).toHaveLength(5);
    });

    it('a lone caller never waits a commit window; units that come together make the next batch wait for more', async () => {
      const insert = (k: string) =>
        q.unit(async (db) => {
          await sql`insert into cq_probe (k, v) values (${k}, 0)`.execute(db);
        });
      // Let any crowded batch of the tests before this one age out of the busy interval.
      await new Promise((r) => setTimeout(r, 50));
      const w0 = q.windows;
      const c0 = q.commits;
      for (let i = 0; i < 10; i++) await insert(`d${i}`);
      expect(q.windows - w0).toBe(0);
      if (kind === 'postgres') return;
      // SQLite: one batch per lone unit; then a burst commits as one batch and makes the next batch wait.
      expect(q.commits - c0).toBe(10);
      await Promise.all(Array.from({ length: 8 }, (_, i) => insert(`e${i}`)));
      expect(q.commits - c0).toBe(11);
      await insert('f0');
      expect(q.windows - w0).toBe(1);
      expect(await rows('d')).toHaveLength(10);
      expect(await rows('e')).toHaveLength(8);
    });

    it('a sale and audit rows that arrive together are all durable, and the audit chain holds', async () => {
      const ledger = new LedgerStore(t.database, KeyVault.random());
      const audit = new AuditLog(t.database);
      const before = q.commits;
      const actor = { name: 'c', role: 'counter', channel: 'counter' };
      const [r] = await Promise.all([
        ledger.commitIssue({
          actor,
          maker: 'kingcard',
          cardType: '4442',
          cardNo: '7700001',
          gas: 0,
          count: 1,
          meterKind: 1,
          write: { data: 'D', oldKey: 'FFFFFF', newKey: 'ABCDEF' },
        }),
        audit.append(entry(1)),
        audit.append(entry(2)),
        audit.append(entry(3)),
      ]);
      expect(r.status).toBe(201);
      expect((await ledger.get(r.transactionId!)).state).toBe('PREPARED');
      expect(await audit.verify()).toMatchObject({ ok: true, rows: 3 });
      // SQLite: the ledger unit and the audit unit went out in one COMMIT. PostgreSQL: the issue is a
      // transaction of the queue, the audit batch one statement of its own (core/audit/audit-log.ts).
      expect(q.commits - before).toBe(1);
    });
  });
}
