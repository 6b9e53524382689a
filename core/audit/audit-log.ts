/**
 * Tamper-evident audit trail of every API call: each row stores the previous row's hash and its own,
 * hash = sha256(prevHash + "\n" + canonical JSON of the row). Editing, deleting or re-ordering any row, or
 * cutting the tail (the head row remembers the last seq and hash), breaks `verify()`.
 *
 * Appends are batched: entries that arrive while a batch is waiting to be written join it, and the batch is
 * one unit of the database's commit queue (core/db/commit-queue.ts) — on SQLite the same group commit, and so
 * the same fsync, as the ledger's sales. The API awaits the append before the response leaves, so an
 * answered call is always audited. On SQLite the server's appends go to the ledger thread
 * (core/ledger/thread/), where they share the sales' commits.
 *
 * On PostgreSQL one batch is in flight at a time, and a batch is ONE statement (core/db/statements.ts
 * guardedWrite): the rows and the head's move from the seq and hash this process last wrote, guarded by them.
 * Another writer (another instance, a CLI) moving the head in between makes the guard miss and nothing is
 * kept; the head is read again and the batch retried, so the chain stays one chain. Entries that arrive while
 * a batch is written form the next one: under load, one round trip and one commit for many calls.
 */
import type { Kysely } from 'kysely';
import { commitQueue, type CommitQueue } from '../db/commit-queue.ts';
import { guardedWrite, Statements } from '../db/statements.ts';
import type { MeterHubDatabase } from '../db/database.ts';
import type { DomainMigration } from '../db/migrations.ts';
import { canonicalJson, sha256Hex } from '../util/canonical-json.ts';

export const GENESIS_HASH = '0'.repeat(64);

export interface AuditEntry {
  at: string;
  requestId: string;
  actor: string | null;
  role: string | null;
  channel: string | null;
  method: string;
  path: string;
  route: string | null;
  status: number;
  transactionId: string | null;
  idempotencyKey: string | null;
  ip: string | null;
  durationMs: number;
  /** The clerk (营业员) the station named (X-MeterHub-Clerk); absent or null when none. */
  clerk?: string | null;
  /** Calls this one row stands for: refused unauthenticated calls are tallied per address and window. */
  count?: number | null;
}

export interface AuditRow {
  seq: number;
  at: string;
  request_id: string;
  actor: string | null;
  role: string | null;
  channel: string | null;
  method: string;
  path: string;
  route: string | null;
  status: number;
  tx_id: string | null;
  idem_key: string | null;
  ip: string | null;
  duration_ms: number;
  /** audit_0002: the clerk (营业员); null when none was named. */
  clerk?: string | null;
  /** audit_0002: how many calls this row stands for (tallied refusals); null = one. */
  call_count?: number | null;
  prev_hash: string;
  hash: string;
}

interface AuditTables {
  audit_log: AuditRow;
  audit_head: { id: number; seq: number; hash: string };
}

export const AUDIT_MIGRATIONS: DomainMigration[] = [
  {
    name: 'audit_0001_init',
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('audit_log')
        .addColumn('seq', 'bigint', (c) => c.primaryKey())
        .addColumn('at', 'text', (c) => c.notNull())
        .addColumn('request_id', 'text', (c) => c.notNull())
        .addColumn('actor', 'text')
        .addColumn('role', 'text')
        .addColumn('channel', 'text')
        .addColumn('method', 'text', (c) => c.notNull())
        .addColumn('path', 'text', (c) => c.notNull())
        .addColumn('route', 'text')
        .addColumn('status', 'integer', (c) => c.notNull())
        .addColumn('tx_id', 'text')
        .addColumn('idem_key', 'text')
        .addColumn('ip', 'text')
        .addColumn('duration_ms', 'integer', (c) => c.notNull())
        .addColumn('prev_hash', 'text', (c) => c.notNull())
        .addColumn('hash', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('audit_head')
        .addColumn('id', 'integer', (c) => c.primaryKey())
        .addColumn('seq', 'bigint', (c) => c.notNull())
        .addColumn('hash', 'text', (c) => c.notNull())
        .execute();
      await db.insertInto('audit_head').values({ id: 1, seq: 0, hash: GENESIS_HASH }).execute();
    },
  },
  {
    // Which clerk (营业员) made each sale, and tallied rows for refused unauthenticated calls (one row per address
    // and window instead of one per junk call). Both are hashed only when set, so older rows verify unchanged.
    name: 'audit_0002_clerk_and_count',
    async up(db: Kysely<any>) {
      await db.schema.alterTable('audit_log').addColumn('clerk', 'text').execute();
      await db.schema.alterTable('audit_log').addColumn('call_count', 'integer').execute();
    },
  },
];

/** The hashed content of a row: everything except its own hash. */
export function rowContent(r: Omit<AuditRow, 'hash'>): string {
  return canonicalJson({
    seq: Number(r.seq),
    at: r.at,
    requestId: r.request_id,
    actor: r.actor,
    role: r.role,
    channel: r.channel,
    method: r.method,
    path: r.path,
    route: r.route,
    status: Number(r.status),
    transactionId: r.tx_id,
    idempotencyKey: r.idem_key,
    ip: r.ip,
    durationMs: Number(r.duration_ms),
    prevHash: r.prev_hash,
    // Added by audit_0002: part of the hash only when set, so rows written before it still verify.
    ...(r.clerk != null ? { clerk: r.clerk } : {}),
    ...(r.call_count != null ? { count: Number(r.call_count) } : {}),
  });
}

export function rowHash(r: Omit<AuditRow, 'hash'>): string {
  return sha256Hex(`${r.prev_hash}\n${rowContent(r)}`);
}

export interface VerifyResult {
  ok: boolean;
  rows: number;
  lastSeq: number;
  firstBad?: { seq: number; reason: string };
}

interface Pending {
  entry: AuditEntry;
  resolve(): void;
  reject(e: unknown): void;
}

/** Entries per audit unit at most. */
const MAX_BATCH = 1000;
/** Entries per PostgreSQL one-statement batch at most (the statement's text is cached per row count). */
const PG_BATCH = 128;
/** Guard misses in a row before a PostgreSQL batch takes the head's row lock instead (the locked unit). */
const PG_RETRIES = 3;

/**
 * Where the server's appends go on SQLite: the ledger thread (core/ledger/thread/ledger-thread.ts implements it).
 * Declared here so the audit log, which the ledger builds on, never imports the ledger.
 */
export interface AuditThread {
  call<T>(op: 'audit' | 'idle', args: unknown[]): Promise<T>;
}

export class AuditLog {
  private readonly db: Kysely<AuditTables>;
  private readonly commits: CommitQueue;
  private readonly sql: Statements;
  private queue: Pending[] = [];
  /** A unit is submitted and has not taken the queue yet: new entries ride with it. */
  private scheduled = false;

  /** On SQLite the server appends through the ledger thread, whose own AuditLog writes the rows. */
  private readonly thread: AuditThread | undefined;

  /** PostgreSQL one-statement batches (see the header); false: every batch a locked unit, as on SQLite. */
  private readonly oneStatement: boolean;
  /** The head as this process last wrote it (PostgreSQL one-statement batches); null: read it first. */
  private head: { seq: number; hash: string } | null = null;
  /** The PostgreSQL batch loop, while it runs. */
  private writing: Promise<void> | null = null;

  constructor(
    database: MeterHubDatabase,
    o: { thread?: AuditThread | undefined; oneStatement?: boolean | undefined } = {},
  ) {
    this.thread = o.thread;
    this.oneStatement = database.dialect === 'postgres' && !o.thread && o.oneStatement !== false;
    this.db = database.db as Kysely<AuditTables>;
    this.commits = commitQueue(database);
    this.sql = new Statements(database.dialect);
  }

  append(entry: AuditEntry): Promise<void> {
    if (this.thread) return this.thread.call<void>('audit', [entry]);
    return new Promise((resolve, reject) => {
      this.queue.push({ entry, resolve, reject });
      if (this.oneStatement) this.writing ??= this.writeLoop();
      else if (!this.scheduled) this.submit();
    });
  }

  /** Resolves when everything queued so far is durable (every append has its unit in the commit queue). */
  async flush(): Promise<void> {
    if (this.thread) await this.thread.call('idle', []);
    while (this.writing) await this.writing;
    await this.commits.idle();
  }

  /** PostgreSQL: one batch in flight; what arrives meanwhile is the next batch. */
  private async writeLoop(): Promise<void> {
    // Appends made in the same synchronous run as this one go in its batch.
    await null;
    while (this.queue.length) {
      const taken = this.queue.splice(0, PG_BATCH);
      try {
        await this.writeOneStatement(taken.map((p) => p.entry));
        for (const p of taken) p.resolve();
      } catch (e) {
        for (const p of taken) p.reject(e);
      }
    }
    this.writing = null;
  }

  private async writeOneStatement(entries: AuditEntry[]): Promise<void> {
    for (let attempt = 0; attempt < PG_RETRIES; attempt++) {
      const head = this.head ?? (await this.readHead(this.db));
      const { rows, seq, hash } = chain(head, entries);
      let written: boolean;
      try {
        written = await guardedWrite(
          this.db,
          { table: 'audit_head', set: { seq, hash }, key: { id: 1, seq: head.seq, hash: head.hash } },
          [{ table: 'audit_log', rows: rows as unknown as Array<Record<string, unknown>> }],
        );
      } catch (e) {
        // Another writer took these seqs first (its head move is then what our guard misses too).
        if ((e as { code?: unknown }).code !== '23505') throw e;
        written = false;
      }
      this.head = written ? { seq, hash } : null;
      if (written) return;
    }
    // Contended: wait for the head's row lock like every other writer.
    await this.commits.unit((trx) => this.writeBatch(trx as Kysely<AuditTables>, entries));
    this.head = null;
  }

  private async readHead(db: Kysely<AuditTables>, forUpdate = false): Promise<{ seq: number; hash: string }> {
    const head = await this.sql.selectOne<{ seq: number; hash: string }>(db, 'audit_head', { id: 1 }, { forUpdate });
    if (!head) throw new Error('audit head row is missing');
    return { seq: Number(head.seq), hash: head.hash };
  }

  private submit(): void {
    this.scheduled = true;
    let taken: Pending[] = [];
    void this.commits
      .unit(async (trx) => {
        // Everything appended until the unit runs goes in it.
        taken = this.queue.splice(0, MAX_BATCH);
        this.scheduled = false;
        if (this.queue.length) this.submit();
        await this.writeBatch(
          trx as Kysely<AuditTables>,
          taken.map((p) => p.entry),
        );
      })
      .then(
        () => {
          for (const p of taken) p.resolve();
        },
        (e: unknown) => {
          for (const p of taken) p.reject(e);
        },
      );
  }

  private async writeBatch(trx: Kysely<AuditTables>, entries: AuditEntry[]): Promise<void> {
    // One writer at a time across instances: the head row is the lock (SQLite serialises writers anyway).
    const { rows, seq, hash } = chain(await this.readHead(trx, true), entries);
    for (let i = 0; i < rows.length; i += 200)
      await this.sql.insert(trx, 'audit_log', rows.slice(i, i + 200) as unknown as Array<Record<string, unknown>>);
    await this.sql.update(trx, 'audit_head', { seq, hash }, { id: 1 });
  }

  /** Walks the whole chain; names the first row that does not hold. */
  async verify(): Promise<VerifyResult> {
    let prev = GENESIS_HASH;
    let expectSeq = 1;
    let rows = 0;
    const page = 2000;
    for (;;) {
      const batch = await this.db
        .selectFrom('audit_log')
        .selectAll()
        .where('seq', '>=', expectSeq)
        .orderBy('seq')
        .limit(page)
        .execute();
      for (const r of batch) {
        const seq = Number(r.seq);
        if (seq !== expectSeq)
          return {
            ok: false,
            rows,
            lastSeq: expectSeq - 1,
            firstBad: { seq: expectSeq, reason: `row ${expectSeq} is missing (next is ${seq})` },
          };
        if (r.prev_hash !== prev)
          return {
            ok: false,
            rows,
            lastSeq: seq,
            firstBad: { seq, reason: 'prev_hash does not match the previous row' },
          };
        if (rowHash(r) !== r.hash)
          return {
            ok: false,
            rows,
            lastSeq: seq,
            firstBad: { seq, reason: 'content does not match its hash (row edited)' },
          };
        prev = r.hash;
        expectSeq = seq + 1;
        rows++;
      }
      if (batch.length < page) break;
    }
    const head = await this.db.selectFrom('audit_head').selectAll().where('id', '=', 1).executeTakeFirst();
    if (!head)
      return {
        ok: false,
        rows,
        lastSeq: expectSeq - 1,
        firstBad: { seq: expectSeq, reason: 'audit head row is missing' },
      };
    if (Number(head.seq) !== expectSeq - 1 || head.hash !== prev) {
      return {
        ok: false,
        rows,
        lastSeq: expectSeq - 1,
        firstBad: {
          seq: expectSeq,
          reason: `the chain ends at ${expectSeq - 1} but the head says ${head.seq} (rows removed from the end)`,
        },
      };
    }
    return { ok: true, rows, lastSeq: expectSeq - 1 };
  }
}

/** The rows that follow `head` for these entries, each hashed over the one before, and the new head. */
function chain(
  head: { seq: number; hash: string },
  entries: AuditEntry[],
): { rows: AuditRow[]; seq: number; hash: string } {
  let seq = head.seq;
  let prev = head.hash;
  const rows: AuditRow[] = [];
  for (const e of entries) {
    seq += 1;
    const base = {
      seq,
      at: e.at,
      request_id: e.requestId,
      actor: e.actor,
      role: e.role,
      channel: e.channel,
      method: e.method,
      path: e.path.slice(0, 500),
      route: e.route,
      status: e.status,
      tx_id: e.transactionId,
      idem_key: e.idempotencyKey,
      ip: e.ip,
      duration_ms: Math.round(e.durationMs),
      clerk: e.clerk ?? null,
      call_count: e.count ?? null,
      prev_hash: prev,
    };
    const hash = rowHash(base);
    rows.push({ ...base, hash });
    prev = hash;
  }
  return { rows, seq, hash: prev };
}
