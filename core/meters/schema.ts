/**
 * The meter registry: every remote-read meter the company has, with how it is reached. One table for SQLite and
 * PostgreSQL. The gateway reads it (core/meters/store.ts) instead of a list in its JSON config when its config says
 * `"registry": {…}`; the quarantine asks it which addresses are known (RegistryDirectory).
 *
 * The transport's fields are columns, not a JSON blob, because the gateway's queries select on them (a bus's
 * meters in position order, a collector's meters). `row_sha256` is the checksum of the row as imported: the same
 * row again is unchanged, a changed row a conflict (core/meters/meter-import.ts). `import_batch_id` and
 * `import_sha256` say which batch and source file brought it in (import_batches holds the batch and its report).
 */
import { sql, type Kysely } from 'kysely';
import type { DomainMigration } from '../db/migrations.ts';
import type { MeterState, MeterTransport } from '../wire/meters.ts';

export interface MeterRow {
  address: string;
  maker: string;
  profile: string;
  transport: MeterTransport;
  bus_path: string | null;
  bus_position: number | null;
  collector_address: string | null;
  dtu_id: string | null;
  mqtt_device_id: string | null;
  customer_no: string | null;
  state: MeterState;
  import_batch_id: string | null;
  import_sha256: string | null;
  row_sha256: string | null;
  version: number;
  created_at: string;
  updated_at: string;
}

async function registry(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('meters')
    .addColumn('address', 'text', (c) => c.primaryKey())
    .addColumn('maker', 'text', (c) => c.notNull())
    .addColumn('profile', 'text', (c) => c.notNull())
    .addColumn('transport', 'text', (c) => c.notNull())
    .addColumn('bus_path', 'text')
    .addColumn('bus_position', 'integer')
    .addColumn('collector_address', 'text')
    .addColumn('dtu_id', 'text')
    .addColumn('mqtt_device_id', 'text')
    .addColumn('customer_no', 'text')
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('import_batch_id', 'text')
    .addColumn('import_sha256', 'text')
    .addColumn('row_sha256', 'text')
    .addColumn('version', 'integer', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute();
  // The gateway's two queries: a bus's meters in position order, and the collectors on a bus.
  await sql`create index meters_bus on meters (transport, bus_path, bus_position, address)`.execute(db);
  await sql`create index meters_collector on meters (transport, collector_address)`.execute(db);
  // The read API's filters.
  await sql`create index meters_state on meters (state, address)`.execute(db);
  await sql`create index meters_customer on meters (customer_no)`.execute(db);
}

export const METER_MIGRATIONS: DomainMigration[] = [{ name: 'meters_0001_registry', up: registry }];
