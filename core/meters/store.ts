/**
 * Reads of the meter registry: the read API's list (filters, keyset paging) and get, and the gateway's queries
 * (a bus's active meters in poll order, the active meters behind each collector, which addresses are known).
 * Rows are written only by the importer (core/meters/meter-import.ts), which keeps the origin and the audit.
 */
import type { MeterHubDatabase } from '../db/database.ts';
import type { MeterListQuery, MeterView } from '../wire/meters.ts';
import type { MeterRow } from './schema.ts';

/** `where address in (…)` this many at a time: far under SQLite's and PostgreSQL's bound-parameter limits. */
export const ADDRESS_BATCH = 500;

export function meterView(r: MeterRow): MeterView {
  return {
    address: r.address,
    maker: r.maker,
    profile: r.profile,
    transport: r.transport,
    busPath: r.bus_path,
    busPosition: r.bus_position === null ? null : Number(r.bus_position),
    collectorAddress: r.collector_address,
    dtuId: r.dtu_id,
    mqttDeviceId: r.mqtt_device_id,
    customerNo: r.customer_no,
    state: r.state,
    importBatchId: r.import_batch_id,
    importSha256: r.import_sha256,
    version: Number(r.version),
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

export class MeterStore {
  constructor(private readonly database: MeterHubDatabase) {}

  private get db() {
    return this.database.db;
  }

  async get(address: string): Promise<MeterView | null> {
    const r = await this.db.selectFrom('meters').selectAll().where('address', '=', address).executeTakeFirst();
    return r ? meterView(r as MeterRow) : null;
  }

  /** In address order; `nextCursor` is the last address of a full page (null when there is no more). */
  async list(q: MeterListQuery = {}): Promise<{ items: MeterView[]; nextCursor: string | null }> {
    const limit = q.limit === undefined ? 100 : Number(q.limit);
    let query = this.db.selectFrom('meters').selectAll();
    if (q.state) query = query.where('state', '=', q.state);
    if (q.transport) query = query.where('transport', '=', q.transport);
    if (q.customerNo) query = query.where('customer_no', '=', q.customerNo);
    if (q.cursor) query = query.where('address', '>', q.cursor);
    const rows = (await query
      .orderBy('address')
      .limit(limit + 1)
      .execute()) as MeterRow[];
    const more = rows.length > limit;
    const items = rows.slice(0, limit).map(meterView);
    return { items, nextCursor: more ? items[items.length - 1]!.address : null };
  }

  /** The active meters of one transport on one bus (the gateway polls nothing else). */
  private activeOnBus(transport: 'serial' | 'collector', busPath: string) {
    return this.db
      .selectFrom('meters')
      .where('transport', '=', transport)
      .where('bus_path', '=', busPath)
      .where('state', '=', 'active');
  }

  /** The active serial meters on one bus, in poll order (position, then address for equal positions). */
  async serialMeters(busPath: string): Promise<string[]> {
    const rows = await this.activeOnBus('serial', busPath)
      .select('address')
      .orderBy('bus_position')
      .orderBy('address')
      .execute();
    return rows.map((r) => r.address as string);
  }

  /** The active collector meters on one bus, grouped by collector address (both in address order). */
  async collectorMeters(busPath: string): Promise<Map<string, string[]>> {
    const rows = await this.activeOnBus('collector', busPath)
      .select(['collector_address', 'address'])
      .orderBy('collector_address')
      .orderBy('address')
      .execute();
    const out = new Map<string, string[]>();
    for (const r of rows) {
      const c = r.collector_address as string;
      const list = out.get(c) ?? [];
      list.push(r.address as string);
      out.set(c, list);
    }
    return out;
  }

  /** The subset of `addresses` that are registered and active, asked ADDRESS_BATCH at a time. */
  async activeAmong(addresses: readonly string[]): Promise<Set<string>> {
    const out = new Set<string>();
    const unique = [...new Set(addresses)];
    for (let i = 0; i < unique.length; i += ADDRESS_BATCH) {
      const rows = await this.db
        .selectFrom('meters')
        .select('address')
        .where('address', 'in', unique.slice(i, i + ADDRESS_BATCH))
        .where('state', '=', 'active')
        .execute();
      for (const r of rows) out.add(r.address as string);
    }
    return out;
  }
}
