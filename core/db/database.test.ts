/**
 * SQLite transactions begin IMMEDIATE: the write lock is taken at BEGIN, so a transaction that reads and then
 * writes never fails with SQLITE_BUSY because another connection (the ledger thread, a gateway process)
 * committed in between; it waits its turn in busy_timeout instead.
 */
import Database from 'better-sqlite3';
import { sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openTestDatabase, type TestDatabase } from '../ledger/testing/databases.ts';

describe('SQLite transactions', () => {
  let t: TestDatabase;
  beforeEach(async () => {
    t = await openTestDatabase('sqlite', { migrate: false });
    await sql`create table kv (k text primary key, v integer)`.execute(t.database.db);
  });
  afterEach(async () => t.cleanup());

  it('hold the write lock from BEGIN, before their first write', async () => {
    const other = new Database(t.database.location);
    other.pragma('busy_timeout = 0');
    try {
      await t.database.db.transaction().execute(async (trx) => {
        await sql`select count(*) from kv`.execute(trx);
        // A deferred BEGIN would hold no lock yet, and the other connection's write would go through.
        expect(() => other.exec(`insert into kv values ('other', 1)`)).toThrow(/database is locked/);
        await sql`insert into kv values ('mine', 1)`.execute(trx);
      });
      other.exec(`insert into kv values ('other', 1)`);
      expect(other.prepare('select k from kv order by k').all()).toEqual([{ k: 'mine' }, { k: 'other' }]);
    } finally {
      other.close();
    }
  });
});
