/**
 * The sale-path statements (statements.ts) on SQLite and PostgreSQL: the same answers as the query builder
 * would give, placeholders in each dialect's syntax, and no identifier that is not plain.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { openTestDatabase, type TestDatabase } from '../ledger/testing/databases.ts';
import { serviceAvailable } from '../testing/services.ts';
import { Statements } from './statements.ts';

const pgOk = await serviceAvailable('postgres');

for (const kind of ['sqlite', 'postgres'] as const) {
  describe.skipIf(kind === 'postgres' && !pgOk)(`statements (${kind})`, () => {
    let t: TestDatabase;
    let st: Statements;

    beforeAll(async () => {
      t = await openTestDatabase(kind, { migrate: false });
      await sql`create table st_probe (a text not null, b text not null, n integer not null, note text, primary key (a, b))`.execute(
        t.database.db,
      );
      st = new Statements(t.database.dialect);
    });
    afterAll(async () => t?.cleanup());

    it('inserts one row or several, then selects one by its key', async () => {
      await st.insert(t.database.db, 'st_probe', [{ a: 'x', b: '1', n: 1, note: null }]);
      await st.insert(t.database.db, 'st_probe', [
        { a: 'x', b: '2', n: 2, note: 'two' },
        { a: 'y', b: '1', n: 3, note: undefined },
      ]);
      expect(await st.selectOne(t.database.db, 'st_probe', { a: 'x', b: '2' })).toEqual({
        a: 'x',
        b: '2',
        n: 2,
        note: 'two',
      });
      expect(await st.selectOne(t.database.db, 'st_probe', { a: 'y', b: '1' })).toEqual({
        a: 'y',
        b: '1',
        n: 3,
        note: null,
      });
      expect(await st.selectOne(t.database.db, 'st_probe', { a: 'z', b: '9' })).toBeUndefined();
    });

    it('updates by key and says how many rows changed (0 when the key does not match)', async () => {
      expect(await st.update(t.database.db, 'st_probe', { n: 10, note: 'ten' }, { a: 'x', b: '1' })).toBe(1);
      expect(await st.update(t.database.db, 'st_probe', { n: 11 }, { a: 'x', b: '1', n: 999 })).toBe(0);
      // An undefined value leaves the column as it is (null sets it to NULL).
      expect(await st.update(t.database.db, 'st_probe', { n: 12, note: undefined }, { a: 'x', b: '1' })).toBe(1);
      expect(await st.selectOne(t.database.db, 'st_probe', { a: 'x', b: '1' })).toMatchObject({ n: 12, note: 'ten' });
    });

    it('selects the named columns where one column is in a list', async () => {
      const rows = await st.selectIn<{ a: string; n: number }>(t.database.db, 'st_probe', ['a', 'n'], { b: '1' }, 'a', [
        'x',
        'y',
        'w',
      ]);
      expect(rows.sort((p, q) => p.a.localeCompare(q.a))).toEqual([
        { a: 'x', n: 12 },
        { a: 'y', n: 3 },
      ]);
      expect(await st.selectIn(t.database.db, 'st_probe', ['a'], { b: '1' }, 'a', [])).toEqual([]);
    });

    it('refuses an identifier that is not plain', async () => {
      await expect(st.selectOne(t.database.db, 'st_probe; drop table st_probe', { a: 'x' })).rejects.toThrow(
        /identifier/,
      );
      await expect(st.update(t.database.db, 'st_probe', { 'n" = 1 --': 1 }, { a: 'x' })).rejects.toThrow(/identifier/);
      expect(await st.selectOne(t.database.db, 'st_probe', { a: 'x', b: '2' })).toBeDefined();
    });
  });
}
