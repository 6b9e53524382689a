/**
 * The quarantine of readings from meter addresses the directory (core/readings/meter-directory.ts) does not know.
 *
 * Such a reading is neither dropped nor stored as a reading (billing would bill an address no customer has): it is
 * held here, durably and in the same transaction as the known readings of its batch, with the whole unified reading,
 * its origin and its received time. Ops later assign it to a registered meter (it is then stored as a normal reading
 * of that meter through the same store and outbox, with its original reading time) or dismiss it.
 *
 * A row's id is the reading id of the reading as it arrived, so a redelivery finds the row and adds nothing.
 * Assigning claims the row (held → assigned) and stores the reading in one transaction: both or neither, and a
 * second assign finds the row no longer held, so the reading is stored once.
 */
import type { Kysely, Transaction } from 'kysely';
import type { UnifiedReading } from '../telemetry/frame-types.ts';
import type {
  QuarantineAssignAddressResult,
  QuarantineAssignResult,
  QuarantineGroup,
  QuarantineState,
  QuarantinedReading,
} from '../wire/quarantine.ts';
import { QuarantineNotFound, QuarantineStateConflict } from './errors.ts';
import { dedupeKey, readingId } from './reading-id.ts';
import type { IngestItem, IngestResult, ReadingStore } from './store.ts';

/** Why a reading is held. Only one today; the column leaves room for others (e.g. a retired meter). */
export const QUARANTINE_REASON_UNKNOWN_METER = 'unknown-meter';

const CHUNK = 400;
/** Readings per transaction when a whole address is assigned: bounded so one assignment never holds a long lock. */
const ASSIGN_CHUNK = 200;

interface QuarantineRow {
  seq: number | string;
  id: string;
  meter_id: string;
  maker: string;
  meter_time: string | null;
  received_at: string;
  source: string;
  origin: string | null;
  raw_frame: string;
  reading: string;
  reason: string;
  state: QuarantineState;
  created_at: number | string;
  acted_at: number | string | null;
  acted_by: string | null;
  assigned_to: string | null;
  assigned_reading_id: string | null;
  note: string | null;
}

export interface QuarantineFilter {
  address?: string;
  state?: QuarantineState;
  afterSeq?: number;
  limit?: number;
}

function toWire(r: QuarantineRow): QuarantinedReading {
  const reading = JSON.parse(r.reading) as UnifiedReading;
  return {
    id: r.id,
    seq: Number(r.seq),
    address: r.meter_id,
    maker: r.maker,
    meterTime: r.meter_time ?? null,
    receivedAt: r.received_at,
    source: r.source,
    origin: r.origin ?? null,
    cumulative: reading.cumulative ?? null,
    rawFrame: r.raw_frame,
    reason: r.reason,
    state: r.state,
    heldAt: Number(r.created_at),
    actedAt: r.acted_at === null || r.acted_at === undefined ? null : Number(r.acted_at),
    actedBy: r.acted_by ?? null,
    assignedTo: r.assigned_to ?? null,
    assignedReadingId: r.assigned_reading_id ?? null,
    note: r.note ?? null,
  };
}

/** The reading as stored for `target`: same reading, registered address (the raw frame stays as evidence). */
function retarget(row: QuarantineRow, target: string): IngestItem {
  const reading = JSON.parse(row.reading) as UnifiedReading;
  return { reading: { ...reading, meterId: target }, ...(row.origin ? { origin: row.origin } : {}) };
}

export class QuarantineStore {
  readonly db: Kysely<any>;

  constructor(private readonly readings: ReadingStore) {
    this.db = readings.db;
  }

  /**
   * Holds valid readings of unknown meters, inside the caller's (the batch's) transaction. Returns the ids newly
   * held and the ids that were already held (a redelivery).
   */
  async hold(
    trx: Transaction<any>,
    items: IngestItem[],
    now = Date.now(),
  ): Promise<{ fresh: string[]; repeated: string[] }> {
    const rows = new Map<string, Record<string, unknown>>();
    const repeated: string[] = [];
    for (const item of items) {
      const r = item.reading;
      const id = readingId(dedupeKey(r));
      if (rows.has(id)) {
        repeated.push(id);
        continue;
      }
      rows.set(id, {
        id,
        meter_id: r.meterId,
        maker: r.maker,
        meter_time: r.meterTime,
        received_at: r.receivedAt,
        source: r.source,
        origin: item.origin ?? null,
        raw_frame: r.rawFrame.toUpperCase(),
        reading: JSON.stringify(r),
        reason: QUARANTINE_REASON_UNKNOWN_METER,
        state: 'held',
        created_at: now,
      });
    }
    const fresh: string[] = [];
    const list = [...rows.values()];
    for (let i = 0; i < list.length; i += CHUNK) {
      const chunk = list.slice(i, i + CHUNK);
      const inserted = await trx
        .insertInto('reading_quarantine')
        .values(chunk)
        .onConflict((oc) => oc.column('id').doNothing())
        .returning('id')
        .execute();
      const got = new Set(inserted.map((x) => x.id as string));
      for (const row of chunk) (got.has(row.id as string) ? fresh : repeated).push(row.id as string);
    }
    return { fresh, repeated };
  }

  async get(id: string): Promise<QuarantinedReading | undefined> {
    const row = await this.db.selectFrom('reading_quarantine').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? toWire(row as QuarantineRow) : undefined;
  }

  async list(f: QuarantineFilter = {}): Promise<{ items: QuarantinedReading[]; nextAfter: string | null }> {
    const limit = Math.min(Math.max(f.limit ?? 100, 1), 1000);
    let q = this.db
      .selectFrom('reading_quarantine')
      .selectAll()
      .orderBy('seq')
      .limit(limit + 1);
    if (f.address) q = q.where('meter_id', '=', f.address);
    if (f.state) q = q.where('state', '=', f.state);
    if (f.afterSeq !== undefined) q = q.where('seq', '>', f.afterSeq);
    const rows = (await q.execute()) as QuarantineRow[];
    const more = rows.length > limit;
    const items = rows.slice(0, limit).map(toWire);
    return { items, nextAfter: more ? String(items[items.length - 1]!.seq) : null };
  }

  /** One row per address with its count: what ops act on (a whole address is usually one mis-registered meter). */
  async groups(state: QuarantineState = 'held'): Promise<QuarantineGroup[]> {
    const rows = await this.db
      .selectFrom('reading_quarantine')
      .select((eb) => [
        'meter_id',
        eb.fn.countAll().as('n'),
        eb.fn.min('received_at').as('first'),
        eb.fn.max('received_at').as('last'),
      ])
      .where('state', '=', state)
      .groupBy('meter_id')
      .orderBy('meter_id')
      .execute();
    const detail = await this.db
      .selectFrom('reading_quarantine')
      .select(['meter_id', 'maker', 'origin'])
      .distinct()
      .where('state', '=', state)
      .execute();
    const makers = new Map<string, Set<string>>();
    const origins = new Map<string, Set<string>>();
    for (const d of detail) {
      const m = makers.get(d.meter_id) ?? new Set<string>();
      m.add(d.maker);
      makers.set(d.meter_id, m);
      const o = origins.get(d.meter_id) ?? new Set<string>();
      if (d.origin) o.add(d.origin);
      origins.set(d.meter_id, o);
    }
    return rows.map((r) => ({
      address: r.meter_id,
      makers: [...(makers.get(r.meter_id) ?? [])].sort(),
      count: Number(r.n),
      firstReceivedAt: String(r.first),
      lastReceivedAt: String(r.last),
      origins: [...(origins.get(r.meter_id) ?? [])].sort().slice(0, 20),
    }));
  }

  async count(state?: QuarantineState): Promise<number> {
    let q = this.db.selectFrom('reading_quarantine').select((eb) => eb.fn.countAll().as('n'));
    if (state) q = q.where('state', '=', state);
    return Number((await q.executeTakeFirstOrThrow()).n);
  }

  /**
   * Assigns one held reading to `target` (already checked against the directory by the caller): claims the row and
   * stores the reading in one transaction. Assigning again to the same meter answers the first result and stores
   * nothing; to another meter, or after a dismiss, it is refused.
   */
  async assign(
    id: string,
    target: string,
    actor: string,
    now = Date.now(),
  ): Promise<QuarantineAssignResult & { result?: IngestResult }> {
    return this.db.transaction().execute(async (trx) => {
      const row = (await trx.selectFrom('reading_quarantine').selectAll().where('id', '=', id).executeTakeFirst()) as
        QuarantineRow | undefined;
      if (!row) throw QuarantineNotFound({ id });
      if (row.state !== 'held') {
        if (row.state === 'assigned' && row.assigned_to === target) {
          return { id, state: 'assigned', assignedTo: target, readingId: row.assigned_reading_id!, stored: false };
        }
        throw QuarantineStateConflict({
          id,
          state: row.state,
          assignedTo: row.assigned_to,
          nextStep: 'none: the reading is settled',
        });
      }
      const claimed = await this.claim(trx, [id], target, actor, now);
      if (!claimed.length) {
        // Another request settled it between our read and our claim (PostgreSQL re-checks `state` after the lock).
        const now2 = (await trx
          .selectFrom('reading_quarantine')
          .selectAll()
          .where('id', '=', id)
          .executeTakeFirstOrThrow()) as QuarantineRow;
        if (now2.state === 'assigned' && now2.assigned_to === target && now2.assigned_reading_id) {
          return { id, state: 'assigned', assignedTo: target, readingId: now2.assigned_reading_id, stored: false };
        }
        throw QuarantineStateConflict({ id, state: now2.state, assignedTo: now2.assigned_to, nextStep: 'reload' });
      }
      const result = await this.readings.ingestWithin(trx, [retarget(row, target)], now);
      const rid = result.itemIds?.[0];
      if (!rid) throw new Error(`quarantined reading ${id} no longer validates: ${JSON.stringify(result.rejected)}`);
      await trx.updateTable('reading_quarantine').set({ assigned_reading_id: rid }).where('id', '=', id).execute();
      return { id, state: 'assigned', assignedTo: target, readingId: rid, stored: result.inserted.length > 0, result };
    });
  }

  /**
   * Every held reading of address `from` → meter `to`, in transactions of ASSIGN_CHUNK readings. Rows another
   * request settled meanwhile are skipped (the claim only takes rows still held), never stored twice.
   */
  async assignAddress(
    from: string,
    to: string,
    actor: string,
    onChunk?: (r: IngestResult) => void,
    now = Date.now(),
  ): Promise<QuarantineAssignAddressResult> {
    let assigned = 0;
    let stored = 0;
    let afterSeq = 0;
    for (;;) {
      const page = (await this.db
        .selectFrom('reading_quarantine')
        .selectAll()
        .where('meter_id', '=', from)
        .where('state', '=', 'held')
        .where('seq', '>', afterSeq)
        .orderBy('seq')
        .limit(ASSIGN_CHUNK)
        .execute()) as QuarantineRow[];
      if (!page.length) break;
      afterSeq = Number(page[page.length - 1]!.seq);
      const r = await this.db.transaction().execute(async (trx) => {
        const claimed = new Set(
          await this.claim(
            trx,
            page.map((p) => p.id),
            to,
            actor,
            now,
          ),
        );
        const rows = page.filter((p) => claimed.has(p.id));
        const result = await this.readings.ingestWithin(
          trx,
          rows.map((p) => retarget(p, to)),
          now,
        );
        for (let i = 0; i < rows.length; i++) {
          const rid = result.itemIds?.[i];
          if (!rid) throw new Error(`quarantined reading ${rows[i]!.id} no longer validates`);
          await trx
            .updateTable('reading_quarantine')
            .set({ assigned_reading_id: rid })
            .where('id', '=', rows[i]!.id)
            .execute();
        }
        return { n: rows.length, result };
      });
      assigned += r.n;
      stored += r.result.inserted.length;
      onChunk?.(r.result);
    }
    return { from, to, assigned, stored };
  }

  /** Dismisses a held reading with a reason. Dismissing again is a no-op; an assigned reading stays assigned. */
  async dismiss(id: string, reason: string, actor: string, now = Date.now()): Promise<QuarantinedReading> {
    return this.db.transaction().execute(async (trx) => {
      const row = (await trx.selectFrom('reading_quarantine').selectAll().where('id', '=', id).executeTakeFirst()) as
        QuarantineRow | undefined;
      if (!row) throw QuarantineNotFound({ id });
      if (row.state === 'dismissed') return toWire(row);
      if (row.state !== 'held') {
        throw QuarantineStateConflict({ id, state: row.state, assignedTo: row.assigned_to, nextStep: 'none' });
      }
      await trx
        .updateTable('reading_quarantine')
        .set({ state: 'dismissed', acted_at: now, acted_by: actor, note: reason })
        .where('id', '=', id)
        .where('state', '=', 'held')
        .execute();
      return toWire({ ...row, state: 'dismissed', acted_at: now, acted_by: actor, note: reason });
    });
  }

  /** held → assigned for the ids still held; returns those ids (the ones this transaction now owns). */
  private async claim(
    trx: Transaction<any>,
    ids: string[],
    target: string,
    actor: string,
    now: number,
  ): Promise<string[]> {
    const res = await trx
      .updateTable('reading_quarantine')
      .set({ state: 'assigned', assigned_to: target, acted_at: now, acted_by: actor })
      .where('id', 'in', ids)
      .where('state', '=', 'held')
      .returning('id')
      .execute();
    return res.map((r) => r.id as string);
  }
}
