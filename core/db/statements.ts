/**
 * The few statements every sale runs (select a row by its key, insert a row, update a row by its key), as SQL
 * text made once per shape and dialect. Kysely's builder costs more per statement than SQLite does to run it
 * (immutable nodes, a compile pass; measured about 12 µs against 7 µs for the same compiled query), and a sale
 * runs about ten of them; everything else keeps the builder.
 *
 * Table and column names come from our own code, never from a request; they are checked anyway.
 */
import { CompiledQuery, type QueryResult } from 'kysely';
import type { UnitDb } from './commit-queue.ts';
import type { DialectName } from './database.ts';

const IDENT = /^[a-z_][a-z0-9_]*$/;
const texts = new Map<string, string>();

function ident(name: string): string {
  if (!IDENT.test(name)) throw new Error(`not a plain SQL identifier: ${name}`);
  return `"${name}"`;
}

function cached(key: string, make: () => string): string {
  let t = texts.get(key);
  if (t === undefined) {
    t = make();
    texts.set(key, t);
  }
  return t;
}

/** Placeholder number i (0-based) in the dialect's syntax. */
const ph = (dialect: DialectName, i: number) => (dialect === 'postgres' ? `$${i + 1}` : '?');

const where = (dialect: DialectName, keys: readonly string[], offset: number) =>
  keys.map((k, i) => `${ident(k)} = ${ph(dialect, offset + i)}`).join(' and ');

export class Statements {
  constructor(readonly dialect: DialectName) {}

  /** `select * from table where k1 = ? and …` (`forUpdate`: PostgreSQL row lock, ignored on SQLite). */
  async selectOne<R>(
    db: UnitDb,
    table: string,
    key: Record<string, unknown>,
    o: { forUpdate?: boolean } = {},
  ): Promise<R | undefined> {
    const cols = Object.keys(key);
    const lock = o.forUpdate && this.dialect === 'postgres';
    const text = cached(
      `${this.dialect}|sel|${table}|${cols.join(',')}|${lock ? 'fu' : ''}`,
      () => `select * from ${ident(table)} where ${where(this.dialect, cols, 0)}${lock ? ' for update' : ''}`,
    );
    const r = await db.executeQuery<R>(CompiledQuery.raw(text, Object.values(key)));
    return r.rows[0];
  }

  /** `select c1, … from table where k1 = ? and … and col in (?, …)` (`['*']`: every column). */
  async selectIn<R>(
    db: UnitDb,
    table: string,
    columns: readonly string[],
    key: Record<string, unknown>,
    inCol: string,
    values: readonly unknown[],
  ): Promise<R[]> {
    if (values.length === 0) return [];
    const keys = Object.keys(key);
    const text = cached(
      `${this.dialect}|selin|${table}|${columns.join(',')}|${keys.join(',')}|${inCol}|${values.length}`,
      () => {
        const list = values.map((_, i) => ph(this.dialect, keys.length + i)).join(', ');
        const what = columns.length === 1 && columns[0] === '*' ? '*' : columns.map(ident).join(', ');
        return `select ${what} from ${ident(table)} where ${where(this.dialect, keys, 0)} and ${ident(inCol)} in (${list})`;
      },
    );
    const r = await db.executeQuery<R>(CompiledQuery.raw(text, [...Object.values(key), ...values]));
    return r.rows;
  }

  /** `insert into table (c1, …) values (?, …)`, one row or several with the same columns. */
  async insert(db: UnitDb, table: string, rows: ReadonlyArray<Record<string, unknown>>): Promise<void> {
    if (rows.length === 0) return;
    const cols = Object.keys(rows[0]!);
    const text = cached(`${this.dialect}|ins|${table}|${cols.join(',')}|${rows.length}`, () => {
      const values = rows
        .map((_, r) => `(${cols.map((_, c) => ph(this.dialect, r * cols.length + c)).join(', ')})`)
        .join(', ');
      return `insert into ${ident(table)} (${cols.map(ident).join(', ')}) values ${values}`;
    });
    const params: unknown[] = [];
    for (const row of rows) for (const c of cols) params.push(row[c] === undefined ? null : row[c]);
    await db.executeQuery(CompiledQuery.raw(text, params));
  }

  /**
   * `update table set c1 = ?, … where k1 = ? and …`; the number of rows changed. Undefined values are left out,
   * as Kysely does.
   */
  async update(db: UnitDb, table: string, set: Record<string, unknown>, key: Record<string, unknown>): Promise<number> {
    const cols = Object.keys(set).filter((c) => set[c] !== undefined);
    const keys = Object.keys(key);
    const text = cached(
      `${this.dialect}|upd|${table}|${cols.join(',')}|${keys.join(',')}`,
      () =>
        `update ${ident(table)} set ${cols.map((c, i) => `${ident(c)} = ${ph(this.dialect, i)}`).join(', ')} where ${where(this.dialect, keys, cols.length)}`,
    );
    const r: QueryResult<unknown> = await db.executeQuery(
      CompiledQuery.raw(text, [...cols.map((c) => set[c]), ...Object.values(key)]),
    );
    return Number(r.numAffectedRows ?? 0n);
  }
}

/**
 * PostgreSQL: one UPDATE guarded by its key (typically a version or sequence column) and the INSERTs that
 * must happen with it, as ONE statement, so one round trip and, outside a transaction, one commit:
 *
 *   with u as (update t set … where k = $ … returning 1),
 *        i0 as (insert into a (…) values (…)), …
 *   select 1 / (select count(*)::int from u)
 *
 * The inserts run unconditionally; when the guard matched no row the division by zero fails the statement and
 * PostgreSQL rolls back everything it did. Resolves true when written, false when the guard matched nothing
 * (nothing kept); any other error (a unique violation among them) rejects, nothing kept either.
 */
export async function guardedWrite(
  db: UnitDb,
  update: { table: string; set: Record<string, unknown>; key: Record<string, unknown> },
  inserts: ReadonlyArray<{ table: string; rows: ReadonlyArray<Record<string, unknown>> }>,
): Promise<boolean> {
  const setCols = Object.keys(update.set).filter((c) => update.set[c] !== undefined);
  const keyCols = Object.keys(update.key);
  const params: unknown[] = [...setCols.map((c) => update.set[c]), ...Object.values(update.key)];
  const shape = inserts.map((x) => `${x.table}:${Object.keys(x.rows[0] ?? {}).join(',')}:${x.rows.length}`);
  const text = cached(
    `postgres|guarded|${update.table}|${setCols.join(',')}|${keyCols.join(',')}|${shape.join('|')}`,
    () => {
      let n = setCols.length + keyCols.length;
      const ctes = [
        `u as (update ${ident(update.table)} set ${setCols.map((c, i) => `${ident(c)} = $${i + 1}`).join(', ')} where ${where('postgres', keyCols, setCols.length)} returning 1)`,
      ];
      inserts.forEach((x, k) => {
        const cols = Object.keys(x.rows[0] ?? {});
        const values = x.rows.map(() => `(${cols.map(() => `$${++n}`).join(', ')})`).join(', ');
        ctes.push(`i${k} as (insert into ${ident(x.table)} (${cols.map(ident).join(', ')}) values ${values})`);
      });
      return `with ${ctes.join(', ')} select 1 / (select count(*)::int from u) as written`;
    },
  );
  for (const x of inserts) {
    const cols = Object.keys(x.rows[0] ?? {});
    for (const row of x.rows) for (const c of cols) params.push(row[c] === undefined ? null : row[c]);
  }
  try {
    await db.executeQuery(CompiledQuery.raw(text, params));
    return true;
  } catch (e) {
    // 22012 division_by_zero: the guard matched no row.
    if ((e as { code?: unknown }).code === '22012') return false;
    throw e;
  }
}
