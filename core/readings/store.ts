/**
 * The durable reading store and its outbox, over the one DB layer (SQLite or PostgreSQL).
 *
 * ingest() writes readings and their outbox rows (one per sink) in ONE transaction, so a reading is
 * either stored and queued for every sink, or not there at all. Duplicates are dropped by the unique
 * reading id (derived from the dedupe key), which also holds across restarts and transports.
 */
import { CompiledQuery, sql, type Kysely, type Transaction } from 'kysely';
import type { MeterHubDatabase } from '../db/database.ts';
import type { UnifiedReading } from '../telemetry/frame-types.ts';
import { dedupeKey, isDecimalString, readingId } from './reading-id.ts';
import type { FeedConsumer, SinkStats } from '../wire/ops.ts';

export interface StoredReading extends UnifiedReading {
  id: string;
  seq: number;
  origin: string | null;
  storedAt: number;
}

export interface IngestItem {
  reading: UnifiedReading;
  /** Where it came from (port, topic, collector) — for ops, not for identity. */
  origin?: string;
}

export interface IngestResult {
  inserted: Array<{ id: string; seq: number }>;
  /** Reading id per input item (null for rejected ones), in input order. */
  itemIds?: Array<string | null>;
  /** Ids that were already stored (or repeated inside this batch); with a directory, also repeats of held ones. */
  duplicates: string[];
  rejected: Array<{ index: number; reason: string }>;
  /** With a meter directory: ids newly held in quarantine (unknown meter address), not stored as readings. */
  quarantined?: string[];
}

export type TxHook = (trx: Transaction<any>) => Promise<void>;

export interface OutboxRow {
  id: number;
  readingId: string;
  sink: string;
  attempts: number;
  createdAt: number;
}

export interface DeadLetter extends OutboxRow {
  lastError: string | null;
  deadAt: number | null;
  meterId: string | null;
  meterTime: string | null;
}

export interface RetryPolicy {
  baseMs: number;
  maxMs: number;
  /** Attempts before the row becomes a dead letter. */
  maxAttempts: number;
}

export interface DeliveryFailure {
  outboxId: number;
  error: string;
  /** A permanent failure (e.g. HTTP 400) goes to the dead-letter list at once. */
  permanent?: boolean;
}

/** One sink's outbox stats: the ops views' wire type (core/wire/ops.ts), which the console reads too. */
export type { SinkStats };

/** Who pulls the REST feed: a billing token (its immutable id), optionally with a consumer name of its own. */
export interface FeedConsumerIdentity {
  /** tokenId, or `${tokenId}/${name}` for a named consumer behind that token. */
  consumer: string;
  tokenId: string | null;
  tokenName: string | null;
}

/** A feed consumer and its cursor (core/wire/ops.ts). */
export type { FeedConsumer };

/** Largest feed position (PostgreSQL bigint). */
export const MAX_CURSOR = 9223372036854775807n;

/** A feed cursor is a digit string within int64; anything else is refused by the caller. */
export function isFeedCursor(s: string): boolean {
  return /^\d{1,19}$/.test(s) && BigInt(s) <= MAX_CURSOR;
}

export interface FeedItem {
  cursor: string;
  reading: StoredReading;
}

const INSERT_CHUNK = 400;
const READING_COLUMNS = [
  'id',
  'dedupe_key',
  'meter_id',
  'maker',
  'meter_type',
  'meter_time',
  'received_at',
  'cumulative',
  'settlement',
  'history',
  'status',
  'source',
  'origin',
  'raw_frame',
  'meta',
  'stored_at',
] as const;
const OUTBOX_COLUMNS = [
  'reading_id',
  'sink',
  'status',
  'attempts',
  'next_attempt_at',
  'lease_until',
  'created_at',
] as const;

export function backoffMs(attempts: number, p: RetryPolicy, rand: () => number = Math.random): number {
  const exp = Math.min(p.maxMs, p.baseMs * 2 ** Math.max(0, attempts - 1));
  // Full jitter on the upper half keeps many failed rows from retrying in lockstep.
  return Math.round(exp / 2 + (exp / 2) * rand());
}

/** Why a reading cannot be stored (the field at fault), or null. The quarantine checks with this too. */
export function validateReading(r: UnifiedReading): string | null {
  if (!r || typeof r !== 'object') return 'not an object';
  if (typeof r.meterId !== 'string' || !/^[0-9A-Za-z_-]{1,32}$/.test(r.meterId)) return 'meterId';
  if (typeof r.maker !== 'string' || !r.maker) return 'maker';
  if (!Number.isInteger(r.meterType)) return 'meterType';
  if (r.meterTime !== null && (typeof r.meterTime !== 'string' || r.meterTime.length > 40)) return 'meterTime';
  if (typeof r.receivedAt !== 'string' || Number.isNaN(Date.parse(r.receivedAt))) return 'receivedAt';
  for (const [k, v] of [
    ['cumulative', r.cumulative],
    ['settlement', r.settlement],
  ] as const) {
    if (v !== null && (typeof v !== 'string' || !isDecimalString(v))) return k;
  }
  for (const v of Object.values(r.history ?? {})) if (typeof v !== 'string' || !isDecimalString(v)) return 'history';
  if (!r.status || typeof r.status !== 'object') return 'status';
  if (!['serial', 'collector', 'mqtt'].includes(r.source)) return 'source';
  if (typeof r.rawFrame !== 'string' || !/^[0-9A-Fa-f]*$/.test(r.rawFrame)) return 'rawFrame';
  return null;
}

export class ReadingStore {
  readonly db: Kysely<any>;
  readonly dialect: MeterHubDatabase['dialect'];

  constructor(
    readonly handle: MeterHubDatabase,
    readonly sinks: readonly string[],
  ) {
    this.db = handle.db;
    this.dialect = handle.dialect;
  }

  /** Stores new readings and queues them for every sink, in one transaction with any hooks. */
  async ingest(items: IngestItem[], hooks: TxHook[] = [], now = Date.now()): Promise<IngestResult> {
    const { rows, result } = this.prepare(items, now);
    if (rows.length === 0 && hooks.length === 0) return result;
    await this.db.transaction().execute(async (trx) => {
      await this.writeRows(trx, rows, result, now);
      for (const hook of hooks) await hook(trx);
    });
    result.inserted.sort((a, b) => a.seq - b.seq);
    return result;
  }

  /** ingest() inside a transaction the caller runs (quarantine assignment: claim the row and store, or neither). */
  async ingestWithin(trx: Transaction<any>, items: IngestItem[], now = Date.now()): Promise<IngestResult> {
    const { rows, result } = this.prepare(items, now);
    await this.writeRows(trx, rows, result, now);
    result.inserted.sort((a, b) => a.seq - b.seq);
    return result;
  }

  private prepare(items: IngestItem[], now: number): { rows: Record<string, unknown>[]; result: IngestResult } {
    const itemIds: Array<string | null> = [];
    const result: IngestResult = { inserted: [], duplicates: [], rejected: [], itemIds };
    const rows: Record<string, unknown>[] = [];
    const seen = new Set<string>();
    items.forEach((item, index) => {
      const bad = validateReading(item?.reading);
      if (bad) {
        itemIds.push(null);
        result.rejected.push({ index, reason: bad });
        return;
      }
      const r = item.reading;
      const key = dedupeKey(r);
      const id = readingId(key);
      itemIds.push(id);
      if (seen.has(id)) {
        result.duplicates.push(id);
        return;
      }
      seen.add(id);
      rows.push({
        id,
        dedupe_key: key,
        meter_id: r.meterId,
        maker: r.maker,
        meter_type: r.meterType,
        meter_time: r.meterTime,
        received_at: r.receivedAt,
        cumulative: r.cumulative,
        settlement: r.settlement,
        history: JSON.stringify(r.history ?? {}),
        status: JSON.stringify(r.status),
        source: r.source,
        origin: item.origin ?? null,
        raw_frame: r.rawFrame.toUpperCase(),
        meta: JSON.stringify({
          di: r.di ?? null,
          ser: r.ser ?? null,
          rawStatus: r.rawStatus ?? null,
          ...(r.trailer ? { trailer: r.trailer } : {}),
        }),
        stored_at: now,
      });
    });
    return { rows, result };
  }

  private async writeRows(
    trx: Transaction<any>,
    rows: Record<string, unknown>[],
    result: IngestResult,
    now: number,
  ): Promise<void> {
    for (let i = 0; i < rows.length; i += INSERT_CHUNK) {
      const chunk = rows.slice(i, i + INSERT_CHUNK);
      const inserted = (await this.rawInsert(
        trx,
        'readings',
        READING_COLUMNS,
        chunk,
        'on conflict (id) do nothing returning seq, id',
      )) as Array<{ seq: number; id: string }>;
      const fresh = new Set(inserted.map((x) => x.id));
      for (const row of chunk) if (!fresh.has(row.id as string)) result.duplicates.push(row.id as string);
      result.inserted.push(...inserted.map((x) => ({ id: x.id, seq: Number(x.seq) })));
      if (inserted.length && this.sinks.length) {
        const outbox = [];
        for (const x of inserted) {
          for (const sink of this.sinks) {
            outbox.push({
              reading_id: x.id,
              sink,
              status: 'pending',
              attempts: 0,
              next_attempt_at: now,
              lease_until: 0,
              created_at: now,
            });
          }
        }
        for (let j = 0; j < outbox.length; j += INSERT_CHUNK) {
          await this.rawInsert(trx, 'reading_outbox', OUTBOX_COLUMNS, outbox.slice(j, j + INSERT_CHUNK), '');
        }
      }
    }
  }

  /**
   * Multi-row INSERT compiled by hand: Kysely's query builder costs more CPU than SQLite's commit for
   * thousands of rows per second. Column names are constants; values are always bound parameters.
   */
  private async rawInsert(
    trx: Transaction<any>,
    table: string,
    columns: readonly string[],
    rows: Record<string, unknown>[],
    tail: string,
  ): Promise<unknown[]> {
    const params: unknown[] = [];
    const pg = this.dialect === 'postgres';
    const tuples = rows.map(
      (row) =>
        `(${columns
          .map((c) => {
            params.push(row[c] ?? null);
            return pg ? `$${params.length}` : '?';
          })
          .join(',')})`,
    );
    const text = `insert into ${table} (${columns.join(',')}) values ${tuples.join(',')} ${tail}`;
    const res = await trx.executeQuery(CompiledQuery.raw(text, params));
    return res.rows as unknown[];
  }

  async getMany(ids: string[]): Promise<Map<string, StoredReading>> {
    const out = new Map<string, StoredReading>();
    for (let i = 0; i < ids.length; i += INSERT_CHUNK) {
      const rows = await this.db
        .selectFrom('readings')
        .selectAll()
        .where('id', 'in', ids.slice(i, i + INSERT_CHUNK))
        .execute();
      for (const row of rows) out.set(row.id, rowToReading(row));
    }
    return out;
  }

  async get(id: string): Promise<StoredReading | undefined> {
    return (await this.getMany([id])).get(id);
  }

  async count(): Promise<number> {
    const row = await this.db
      .selectFrom('readings')
      .select((eb) => eb.fn.countAll().as('n'))
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  // ---- outbox -------------------------------------------------------------------------------------

  /** Leases up to `limit` due rows of one sink. Several dispatchers (even several servers) may claim concurrently. */
  async claim(sink: string, owner: string, limit: number, leaseMs: number, now = Date.now()): Promise<OutboxRow[]> {
    const until = now + leaseMs;
    if (this.dialect === 'postgres') {
      const res = await sql<any>`
        update reading_outbox set lease_owner = ${owner}, lease_until = ${until}
        where id in (
          select id from reading_outbox
          where sink = ${sink} and status = 'pending' and next_attempt_at <= ${now} and lease_until <= ${now}
          order by id limit ${limit}
          for update skip locked)
        returning id, reading_id, sink, attempts, created_at`.execute(this.db);
      return res.rows.map(toOutboxRow).sort((a, b) => a.id - b.id);
    }
    // SQLite: one statement (UPDATE … RETURNING); the database has one writer at a time anyway.
    const res = await sql<any>`
      update reading_outbox set lease_owner = ${owner}, lease_until = ${until}
      where id in (
        select id from reading_outbox
        where sink = ${sink} and status = 'pending' and next_attempt_at <= ${now} and lease_until <= ${now}
        order by id limit ${limit})
      returning id, reading_id, sink, attempts, created_at`.execute(this.db);
    return res.rows.map(toOutboxRow).sort((a, b) => a.id - b.id);
  }

  /** Delivered: the rows go, the sink's counters move. Only rows still leased by `owner` count. */
  async complete(
    sink: string,
    owner: string,
    outboxIds: number[],
    now = Date.now(),
    wholeLease = false,
  ): Promise<number> {
    if (!outboxIds.length) return 0;
    return this.db.transaction().execute(async (trx) => {
      let n = 0;
      if (wholeLease) {
        // Every row of this lease was delivered: the lease token names exactly them.
        const res = await trx
          .deleteFrom('reading_outbox')
          .where('sink', '=', sink)
          .where('lease_owner', '=', owner)
          .executeTakeFirst();
        n = Number(res.numDeletedRows);
        await this.bumpSinkState(trx, sink, n, now);
        return n;
      }
      for (let i = 0; i < outboxIds.length; i += INSERT_CHUNK) {
        const res = await trx
          .deleteFrom('reading_outbox')
          .where('id', 'in', outboxIds.slice(i, i + INSERT_CHUNK))
          .where('sink', '=', sink)
          .where('lease_owner', '=', owner)
          .executeTakeFirst();
        n += Number(res.numDeletedRows);
      }
      await this.bumpSinkState(trx, sink, n, now);
      return n;
    });
  }

  private async bumpSinkState(trx: Transaction<any>, sink: string, n: number, now: number): Promise<void> {
    if (n === 0) return;
    await trx
      .insertInto('reading_sink_state')
      .values({ sink, delivered_total: n, last_delivered_at: now })
      .onConflict((oc) =>
        oc.column('sink').doUpdateSet({
          delivered_total: sql`reading_sink_state.delivered_total + ${n}`,
          last_delivered_at: now,
        }),
      )
      .execute();
  }

  /** Failed deliveries: retry later with exponential backoff, or dead-letter after maxAttempts. */
  async fail(
    sink: string,
    owner: string,
    failures: DeliveryFailure[],
    policy: RetryPolicy,
    now = Date.now(),
  ): Promise<{ retried: number; dead: number }> {
    let retried = 0;
    let dead = 0;
    if (!failures.length) return { retried, dead };
    await this.db.transaction().execute(async (trx) => {
      const ids = failures.map((f) => f.outboxId);
      const current = await trx
        .selectFrom('reading_outbox')
        .select(['id', 'attempts'])
        .where('id', 'in', ids)
        .where('lease_owner', '=', owner)
        .execute();
      const attemptsById = new Map(current.map((r) => [Number(r.id), Number(r.attempts)]));
      for (const f of failures) {
        const prev = attemptsById.get(f.outboxId);
        if (prev === undefined) continue;
        const attempts = prev + 1;
        const error = f.error.slice(0, 500);
        if (f.permanent || attempts >= policy.maxAttempts) {
          await trx
            .updateTable('reading_outbox')
            .set({ status: 'dead', attempts, last_error: error, dead_at: now, lease_until: 0, lease_owner: null })
            .where('id', '=', f.outboxId)
            .execute();
          dead++;
        } else {
          await trx
            .updateTable('reading_outbox')
            .set({
              attempts,
              last_error: error,
              next_attempt_at: now + backoffMs(attempts, policy),
              lease_until: 0,
              lease_owner: null,
            })
            .where('id', '=', f.outboxId)
            .execute();
          retried++;
        }
      }
    });
    return { retried, dead };
  }

  async listDeadLetters(opts: { sink?: string; limit?: number; afterId?: number } = {}): Promise<DeadLetter[]> {
    let q = this.db
      .selectFrom('reading_outbox as o')
      .leftJoin('readings as r', 'r.id', 'o.reading_id')
      .select([
        'o.id',
        'o.reading_id',
        'o.sink',
        'o.attempts',
        'o.created_at',
        'o.last_error',
        'o.dead_at',
        'r.meter_id',
        'r.meter_time',
      ])
      .where('o.status', '=', 'dead')
      .orderBy('o.id')
      .limit(Math.min(Math.max(opts.limit ?? 100, 1), 1000));
    if (opts.sink) q = q.where('o.sink', '=', opts.sink);
    if (opts.afterId !== undefined) q = q.where('o.id', '>', opts.afterId);
    const rows = await q.execute();
    return rows.map((r) => ({
      ...toOutboxRow(r),
      lastError: r.last_error ?? null,
      deadAt: r.dead_at === null || r.dead_at === undefined ? null : Number(r.dead_at),
      meterId: r.meter_id ?? null,
      meterTime: r.meter_time ?? null,
    }));
  }

  /** Puts dead letters back in the queue with a fresh attempt budget. No ids = every dead letter of the sink. */
  async replayDeadLetters(sink: string, ids?: number[], now = Date.now()): Promise<number> {
    let q = this.db
      .updateTable('reading_outbox')
      .set({ status: 'pending', attempts: 0, next_attempt_at: now, lease_until: 0, lease_owner: null, dead_at: null })
      .where('status', '=', 'dead')
      .where('sink', '=', sink);
    if (ids) {
      if (!ids.length) return 0;
      q = q.where('id', 'in', ids);
    }
    const res = await q.executeTakeFirst();
    return Number(res.numUpdatedRows);
  }

  async stats(now = Date.now()): Promise<SinkStats[]> {
    const agg = await this.db
      .selectFrom('reading_outbox')
      .select((eb) => [
        'sink',
        'status',
        eb.fn.countAll().as('n'),
        eb.fn.min('created_at').as('oldest'),
        eb.fn.sum(eb.case().when('lease_until', '>', now).then(1).else(0).end()).as('leased'),
      ])
      .groupBy(['sink', 'status'])
      .execute();
    const state = await this.db.selectFrom('reading_sink_state').selectAll().execute();
    const out = new Map<string, SinkStats>();
    const get = (sink: string) => {
      let s = out.get(sink);
      if (!s) {
        s = { sink, backlog: 0, inFlight: 0, deadLetters: 0, lagMs: 0, deliveredTotal: 0, lastDeliveredAt: null };
        out.set(sink, s);
      }
      return s;
    };
    for (const sink of this.sinks) get(sink);
    for (const row of agg) {
      const s = get(row.sink);
      if (row.status === 'dead') s.deadLetters += Number(row.n);
      else {
        s.backlog += Number(row.n);
        s.inFlight += Number(row.leased ?? 0);
        if (row.oldest !== null && row.oldest !== undefined) s.lagMs = Math.max(s.lagMs, now - Number(row.oldest));
      }
    }
    for (const row of state) {
      const s = get(row.sink);
      s.deliveredTotal = Number(row.delivered_total);
      s.lastDeliveredAt = row.last_delivered_at === null ? null : Number(row.last_delivered_at);
    }
    const feed = out.get(FEED_SINK);
    if (feed && this.sinks.includes(FEED_SINK)) {
      feed.consumers = await this.feedConsumers();
      feed.consumerBacklog = feed.consumers.length
        ? Math.max(...feed.consumers.map((c) => c.backlog))
        : await this.feedBacklog('0');
    }
    return [...out.values()].sort((a, b) => a.sink.localeCompare(b.sink));
  }

  // ---- REST feed ----------------------------------------------------------------------------------

  /**
   * Appends readings to the cursor feed. Appends are serialised (PostgreSQL: a transaction-scoped
   * advisory lock) so positions become visible in order: a consumer never sees N+1 before N.
   */
  async appendFeed(readingIds: string[], now = Date.now()): Promise<void> {
    if (!readingIds.length) return;
    await this.db.transaction().execute(async (trx) => {
      if (this.dialect === 'postgres') await sql`select pg_advisory_xact_lock(188188)`.execute(trx);
      for (let i = 0; i < readingIds.length; i += INSERT_CHUNK) {
        await trx
          .insertInto('reading_feed')
          .values(readingIds.slice(i, i + INSERT_CHUNK).map((id) => ({ reading_id: id, added_at: now })))
          .onConflict((oc) => oc.column('reading_id').doNothing())
          .execute();
      }
    });
  }

  /** Binds a cursor so the database compares it as an integer without a JS number in between. */
  private cursorParam(cursor: string): string | bigint {
    return this.dialect === 'postgres' ? cursor : BigInt(cursor);
  }

  /** `after` and the returned cursors are digit strings: positions may pass 2^53 on a long-lived feed. */
  async feedPage(after: string, limit: number): Promise<{ items: FeedItem[]; nextCursor: string }> {
    const rows = await this.db
      .selectFrom('reading_feed as f')
      .innerJoin('readings as r', 'r.id', 'f.reading_id')
      .selectAll('r')
      .select(sql<string>`cast(f.pos as text)`.as('pos_text'))
      .where('f.pos', '>', this.cursorParam(after))
      .orderBy('f.pos')
      .limit(limit)
      .execute();
    const items = rows.map((row) => ({ cursor: String(row.pos_text), reading: rowToReading(row) }));
    return { items, nextCursor: items.length ? items[items.length - 1]!.cursor : after };
  }

  private async feedBacklog(cursor: string): Promise<number> {
    const row = await this.db
      .selectFrom('reading_feed')
      .select((eb) => eb.fn.countAll().as('n'))
      .where('pos', '>', this.cursorParam(cursor))
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  /**
   * A consumer asking for `after=N` has processed everything up to N: that is its acknowledgement. Each consumer
   * moves only its own cursor, so one billing system can neither hide another's lag nor move it backwards.
   */
  async recordConsumerCursor(who: FeedConsumerIdentity, cursor: string, now = Date.now()): Promise<void> {
    await this.db
      .insertInto('reading_feed_consumers')
      .values({ consumer: who.consumer, token_id: who.tokenId, token_name: who.tokenName, cursor, seen_at: now })
      .onConflict((oc) => oc.column('consumer').doUpdateSet({ cursor, seen_at: now, token_name: who.tokenName }))
      .execute();
  }

  async feedConsumers(): Promise<FeedConsumer[]> {
    const rows = await this.db.selectFrom('reading_feed_consumers').selectAll().orderBy('consumer').execute();
    const out: FeedConsumer[] = [];
    for (const r of rows) {
      out.push({
        consumer: r.consumer,
        tokenId: r.token_id ?? null,
        tokenName: r.token_name ?? null,
        cursor: String(r.cursor),
        seenAt: Number(r.seen_at),
        backlog: await this.feedBacklog(String(r.cursor)),
      });
    }
    return out;
  }
}

export const FEED_SINK = 'rest';

function toOutboxRow(r: any): OutboxRow {
  return {
    id: Number(r.id),
    readingId: r.reading_id,
    sink: r.sink,
    attempts: Number(r.attempts),
    createdAt: Number(r.created_at),
  };
}

function toVolume(v: unknown): string | null {
  if (v === null || v === undefined) return null;
  return String(v);
}

export function rowToReading(row: any): StoredReading {
  const meta = JSON.parse(row.meta ?? '{}') as {
    di?: number | null;
    ser?: number | null;
    rawStatus?: string | null;
    trailer?: { name: string; hex: string };
  };
  const r: StoredReading = {
    id: row.id,
    seq: Number(row.seq),
    meterId: row.meter_id,
    maker: row.maker,
    meterType: Number(row.meter_type),
    meterTime: row.meter_time ?? null,
    receivedAt: row.received_at,
    cumulative: toVolume(row.cumulative),
    settlement: toVolume(row.settlement),
    history: JSON.parse(row.history),
    status: JSON.parse(row.status),
    source: row.source,
    rawFrame: row.raw_frame,
    origin: row.origin ?? null,
    storedAt: Number(row.stored_at),
  };
  if (meta.di !== null && meta.di !== undefined) r.di = meta.di;
  if (meta.ser !== null && meta.ser !== undefined) r.ser = meta.ser;
  if (meta.rawStatus !== undefined) r.rawStatus = meta.rawStatus;
  if (meta.trailer) r.trailer = meta.trailer;
  return r;
}
