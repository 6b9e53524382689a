/**
 * One commit queue per database, shared by everything that must be durable before the server answers (the
 * ledger and the audit log). On SQLite it is a group commit: units that arrive while a batch commits form the
 * next batch, each inside its own SAVEPOINT (a refused unit rolls back alone), one COMMIT and so one fsync
 * (synchronous=FULL) per batch. A unit's promise settles only after its batch's COMMIT: durability is that of
 * a transaction per unit, the fsyncs are shared. Sharing one queue matters because better-sqlite3 fsyncs on
 * the event loop: a sale and the audit row of the call before it go out in the same fsync instead of two.
 *
 * PostgreSQL runs each unit in its own transaction on the pool (row locks and unique indexes keep concurrent
 * units apart; the server's fsync is not ours to block on).
 */
import { sql, type Kysely, type Transaction } from 'kysely';
import type { MeterHubDatabase } from './database.ts';

export type UnitDb = Kysely<any> | Transaction<any>;

export interface CommitQueue {
  /** Runs `fn` atomically; resolves with its result once it is durable, rejects with its error (nothing kept). */
  unit<T>(fn: (db: UnitDb) => Promise<T>): Promise<T>;
  /** Resolves when every unit submitted so far has settled. */
  idle(): Promise<void>;
  /** Batches committed so far (SQLite; PostgreSQL counts units). */
  readonly commits: number;
  /** Batches that waited a commit window for companions (SQLite; always 0 on PostgreSQL). */
  readonly windows: number;
}

/**
 * A batch of more than one unit committed less than this long ago means the server is busy: the next batch
 * waits WINDOW_MS for companions. A lone caller's units come one at a time, so it never waits for nobody.
 */
const BUSY_MS = 20;
/**
 * How long a busy SQLite batch waits for companions (ms). Measured (bench/card-purchase.ts, 2 cores, 3 runs
 * each, same moment): 2 ms gave about 2,000 purchases/s at 32 and 64 clients; 4 ms cost a sixth at 32
 * clients (each closed-loop client waits the window) and gained nothing at 64 or 128.
 */
const WINDOW_MS = 2;
/** Units per SQLite transaction at most. */
const MAX_BATCH = 256;

interface Unit {
  fn: (db: UnitDb) => Promise<unknown>;
  resolve(v: unknown): void;
  reject(e: unknown): void;
}

class SqliteCommitQueue implements CommitQueue {
  private queue: Unit[] = [];
  private draining: Promise<void> | null = null;
  /** When a batch last held more than one unit. */
  private lastCrowdedAt = -Infinity;
  commits = 0;
  windows = 0;

  constructor(private readonly db: Kysely<any>) {}

  unit<T>(fn: (db: UnitDb) => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ fn, resolve: resolve as (v: unknown) => void, reject });
      this.draining ??= this.drain();
    });
  }

  async idle(): Promise<void> {
    while (this.draining) await this.draining;
  }

  private async drain(): Promise<void> {
    for (;;) {
      // Under load wait a commit window so more units share one fsync; otherwise one turn of the event loop.
      const busy = performance.now() - this.lastCrowdedAt < BUSY_MS;
      if (busy) this.windows++;
      await new Promise((r) => (busy ? setTimeout(r, WINDOW_MS) : setImmediate(r)));
      const units = this.queue.splice(0, MAX_BATCH);
      let outcome: { results: Array<{ ok: true; v: unknown } | { ok: false; e: unknown }> } | { failed: unknown };
      try {
        outcome = { results: await this.commitBatch(units) };
      } catch (e) {
        // Nothing of this batch is durable: every unit fails (each caller may retry, with its key).
        outcome = { failed: e };
      }
      // Ended in the same turn the queue is found empty, before any caller settled here runs again: a caller
      // that submits its next unit at once must start a new drain, not join this one as it returns.
      const last = this.queue.length === 0;
      if (last) this.draining = null;
      if ('failed' in outcome) units.forEach((u) => u.reject(outcome.failed));
      else {
        units.forEach((u, i) => {
          const r = outcome.results[i]!;
          if (r.ok) u.resolve(r.v);
          else u.reject(r.e);
        });
      }
      if (last) return;
    }
  }

  /** One transaction: a SAVEPOINT per unit, one COMMIT. Rejects (nothing kept) only if the batch itself fails. */
  private async commitBatch(units: Unit[]): Promise<Array<{ ok: true; v: unknown } | { ok: false; e: unknown }>> {
    const results: Array<{ ok: true; v: unknown } | { ok: false; e: unknown }> = [];
    await this.db.connection().execute(async (conn) => {
      await sql`begin immediate`.execute(conn);
      try {
        for (const u of units) {
          await sql`savepoint mh_unit`.execute(conn);
          try {
            const v = await u.fn(conn);
            await sql`release mh_unit`.execute(conn);
            results.push({ ok: true, v });
          } catch (e) {
            await sql`rollback to mh_unit`.execute(conn);
            await sql`release mh_unit`.execute(conn);
            results.push({ ok: false, e });
          }
        }
        await sql`commit`.execute(conn);
        this.commits++;
        if (units.length > 1) this.lastCrowdedAt = performance.now();
      } catch (e) {
        await sql`rollback`.execute(conn).catch(() => {});
        throw e;
      }
    });
    return results;
  }
}

class PostgresCommitQueue implements CommitQueue {
  private readonly running = new Set<Promise<unknown>>();
  commits = 0;
  readonly windows = 0;

  constructor(private readonly db: Kysely<any>) {}

  unit<T>(fn: (db: UnitDb) => Promise<T>): Promise<T> {
    const p = this.db
      .transaction()
      .execute(fn)
      .then((v) => {
        this.commits++;
        return v;
      });
    const tracked = p.catch(() => undefined);
    this.running.add(tracked);
    void tracked.then(() => this.running.delete(tracked));
    return p;
  }

  async idle(): Promise<void> {
    while (this.running.size) await Promise.all([...this.running]);
  }
}

const queues = new WeakMap<MeterHubDatabase, CommitQueue>();

/** The database's commit queue (created on first use). */
export function commitQueue(database: MeterHubDatabase): CommitQueue {
  let q = queues.get(database);
  if (!q) {
    q = database.dialect === 'sqlite' ? new SqliteCommitQueue(database.db) : new PostgresCommitQueue(database.db);
    queues.set(database, q);
  }
  return q;
}
