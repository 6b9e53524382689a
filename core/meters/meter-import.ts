/**
 * Bulk import of the meter registry from the old system (go-live), the way cards are imported
 * (core/golive/card-import.ts) and with the same shared parts (core/golive/import-batch.ts, import-source.ts,
 * import-errors.ts): every row checked, a report naming each bad row and why, a dry run that writes nothing and
 * reports the same, idempotent re-runs by the row's checksum, a changed row a conflict unless `update` (each change's
 * before/after kept in the batch), every meter carrying its batch id and source file SHA-256, the batch in
 * import_batches.
 *
 * A city has 10^5–10^6 meters, so rows go in chunked transactions (`chunk` rows each) with multi-row INSERTs, through
 * Kysely on both dialects; the card importer's COPY path is for its 10^6+ rows and a throughput target this
 * import does not have.
 */
import type { MeterHubDatabase } from '../db/database.ts';
import type { PluginHost } from '../plugins/plugin-types.ts';
import { isValidAddress } from '../telemetry/index.ts';
import type { ProfileRegistry } from '../telemetry/profile-registry.ts';
import { METER_STATES, METER_TRANSPORTS, type MeterState, type MeterTransport } from '../wire/meters.ts';
import type { RowProblemCode } from '../golive/import-errors.ts';
import { iterateSource, parseMapping, type SourceRow } from '../golive/import-source.ts';
import * as shared from '../golive/import-batch.ts';
import type { ImportProblem, ImportReportOf, ImportRunOptions } from '../golive/import-batch.ts';
import { ADDRESS_BATCH } from './store.ts';
import type { MeterRow } from './schema.ts';

export const METER_FIELDS = [
  'address',
  'maker',
  'profile',
  'transport',
  'busPath',
  'busPosition',
  'collectorAddress',
  'dtuId',
  'mqttDeviceId',
  'customerNo',
  'state',
] as const;

/** The transport fields each kind needs; the others are not kept for that kind. */
export const TRANSPORT_FIELDS: Record<MeterTransport, ReadonlyArray<(typeof METER_FIELDS)[number]>> = {
  serial: ['busPath', 'busPosition'],
  collector: ['busPath', 'collectorAddress'],
  dtu: ['dtuId'],
  mqtt: ['mqttDeviceId'],
};

export interface MeterKey {
  address: string | null;
}
export type MeterImportReport = ImportReportOf<'meters', MeterKey>;
export type MeterRowProblem = ImportProblem<MeterKey>;

export interface MeterImportOptions extends ImportRunOptions {
  database: MeterHubDatabase;
  /** Makers: the plugins' ids, and the makers the dialect profiles name. */
  host: Pick<PluginHost, 'list'>;
  /** The program's dialect registry: a row's profile must be registered there. */
  profiles: Pick<ProfileRegistry, 'has' | 'list'>;
}

/** The columns an import sets: what a conflict compares and an update changes. */
type Columns = Pick<
  MeterRow,
  | 'maker'
  | 'profile'
  | 'transport'
  | 'bus_path'
  | 'bus_position'
  | 'collector_address'
  | 'dtu_id'
  | 'mqtt_device_id'
  | 'customer_no'
  | 'state'
>;

interface Item {
  line: number;
  address: string;
  columns: Columns;
  sha: string;
}

type Check = { ok: true; item: Omit<Item, 'line' | 'sha'> } | { ok: false; code: RowProblemCode; details?: object };

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;
const INT = /^\d+$/;
const isMeterAddress = (a: string) => isValidAddress(a) && /^[0-9]+$/.test(a);

export function checkMeterRow(
  r: SourceRow,
  makers: ReadonlySet<string>,
  profiles: Pick<ProfileRegistry, 'has'>,
): Check {
  const f = r.fields;
  const missing = ['address', 'maker', 'profile', 'transport'].filter((k) => f[k] === undefined);
  if (missing.length) return { ok: false, code: 'IMPORT_FIELD_MISSING', details: { fields: missing } };
  const address = f.address!;
  if (!isMeterAddress(address)) return { ok: false, code: 'IMPORT_ADDRESS_INVALID', details: { address } };
  if (!makers.has(f.maker!)) {
    return { ok: false, code: 'IMPORT_MAKER_UNKNOWN', details: { maker: f.maker, known: [...makers].sort() } };
  }
  if (!profiles.has(f.profile!)) return { ok: false, code: 'IMPORT_PROFILE_UNKNOWN', details: { profile: f.profile } };
  const transport = f.transport as MeterTransport;
  if (!METER_TRANSPORTS.includes(transport)) {
    return {
      ok: false,
      code: 'IMPORT_TRANSPORT_INVALID',
      details: { transport: f.transport, allowed: METER_TRANSPORTS },
    };
  }
  const need = TRANSPORT_FIELDS[transport];
  const absent = need.filter((k) => f[k] === undefined);
  if (absent.length) return { ok: false, code: 'IMPORT_TRANSPORT_INCOMPLETE', details: { transport, fields: absent } };
  const field = (k: (typeof METER_FIELDS)[number]) => (need.includes(k) ? f[k]! : null);
  for (const k of need) {
    const v = f[k]!;
    const bad =
      k === 'busPosition'
        ? !(INT.test(v) && Number(v) <= 65535)
        : k === 'collectorAddress'
          ? !isMeterAddress(v)
          : v.length > 200 || CONTROL.test(v);
    if (bad) return { ok: false, code: 'IMPORT_TRANSPORT_FIELD_INVALID', details: { field: k, value: v } };
  }
  const customerNo = f.customerNo ?? null;
  if (customerNo !== null && (customerNo.length > 64 || CONTROL.test(customerNo))) {
    return { ok: false, code: 'IMPORT_TEXT_INVALID', details: { field: 'customerNo' } };
  }
  const state = (f.state ?? 'active') as MeterState;
  if (!METER_STATES.includes(state)) {
    return { ok: false, code: 'IMPORT_METER_STATE_INVALID', details: { state: f.state, allowed: METER_STATES } };
  }
  const position = field('busPosition');
  return {
    ok: true,
    item: {
      address,
      columns: {
        maker: f.maker!,
        profile: f.profile!,
        transport,
        bus_path: field('busPath'),
        bus_position: position === null ? null : Number(position),
        collector_address: field('collectorAddress'),
        dtu_id: field('dtuId'),
        mqtt_device_id: field('mqttDeviceId'),
        customer_no: customerNo,
        state,
      },
    },
  };
}

/** Makers a meter row may name: every plugin's id and every maker a registered dialect names. */
export function meterMakers(o: Pick<MeterImportOptions, 'host' | 'profiles'>): Set<string> {
  const out = new Set(o.host.list().map((p) => p.id));
  for (const p of o.profiles.list()) if (p.maker) out.add(p.maker);
  return out;
}

const COLUMN_ORDER: ReadonlyArray<keyof Columns> = [
  'maker',
  'profile',
  'transport',
  'bus_path',
  'bus_position',
  'collector_address',
  'dtu_id',
  'mqtt_device_id',
  'customer_no',
  'state',
];

/** Rows per multi-row INSERT: 17 columns × 200 stays far under both dialects' bound-parameter limits. */
const INSERT_ROWS = 200;

export async function importMeters(o: MeterImportOptions): Promise<MeterImportReport> {
  const t0 = Date.now();
  const mapping = o.mappingText !== undefined ? parseMapping(o.mappingText, METER_FIELDS) : {};
  const { report, problem } = shared.startReport<'meters', MeterKey>('meters', o);
  const { dryRun, update } = report;
  const source = () => iterateSource(o.text, METER_FIELDS, mapping);
  const { rows, repeated } = shared.repeatedKeys(source(), (r) => r.fields.address);
  report.rows = rows;
  const makers = meterMakers(o);
  const chunkSize = o.chunk ?? 2_000;
  const now = new Date().toISOString();
  const db = o.database.db;

  const writeChunk = async (items: Item[]) => {
    // One transaction per chunk: the chunk's existing rows are read and its new ones written together.
    await db.transaction().execute(async (tx) => {
      const existing = new Map<string, MeterRow>();
      for (let i = 0; i < items.length; i += ADDRESS_BATCH) {
        const found = (await tx
          .selectFrom('meters')
          .selectAll()
          .where(
            'address',
            'in',
            items.slice(i, i + ADDRESS_BATCH).map((x) => x.address),
          )
          .execute()) as MeterRow[];
        for (const r of found)
          existing.set(r.address, {
            ...r,
            bus_position: r.bus_position === null ? null : Number(r.bus_position),
            version: Number(r.version),
          });
      }
      const fresh: Item[] = [];
      for (const it of items) {
        const ex = existing.get(it.address);
        if (!ex) {
          fresh.push(it);
          continue;
        }
        if (ex.row_sha256 === it.sha) {
          report.unchanged++;
          continue;
        }
        const stored = ex as unknown as Record<string, unknown>;
        const after = it.columns as unknown as Record<string, unknown>;
        if (!update) {
          report.conflicts++;
          const differences = shared.differencesOf(stored, after, 'registry');
          problem(it.line, { address: it.address }, 'IMPORT_CONFLICT', { differences, nextStep: 'check-then-update' });
          continue;
        }
        if (!dryRun) {
          const u = await tx
            .updateTable('meters')
            .set({
              ...it.columns,
              import_batch_id: report.batchId,
              import_sha256: report.sourceSha256,
              row_sha256: it.sha,
              version: ex.version + 1,
              updated_at: now,
            })
            .where('address', '=', it.address)
            .where('version', '=', ex.version)
            .executeTakeFirst();
          // Changed by another import since it was read: report it, never overwrite what was not compared.
          if (Number(u.numUpdatedRows) !== 1) {
            report.conflicts++;
            problem(it.line, { address: it.address }, 'IMPORT_CONFLICT', { nextStep: 'run-again' });
            continue;
          }
        }
        report.updated++;
        report.changes.push({ address: it.address, before: shared.beforeOf(stored, after), after });
      }
      if (dryRun) {
        report.inserted += fresh.length;
        return;
      }
      for (let i = 0; i < fresh.length; i += INSERT_ROWS) {
        const values = fresh.slice(i, i + INSERT_ROWS).map((it) => ({
          address: it.address,
          ...it.columns,
          import_batch_id: report.batchId,
          import_sha256: report.sourceSha256,
          row_sha256: it.sha,
          version: 1,
          created_at: now,
          updated_at: now,
        }));
        const r = await tx
          .insertInto('meters')
          .values(values)
          .onConflict((oc) => oc.column('address').doNothing())
          .executeTakeFirst();
        report.inserted += Number(r.numInsertedOrUpdatedRows ?? 0);
      }
    });
  };

  let items: Item[] = [];
  for (const r of source()) {
    const c = checkMeterRow(r, makers, o.profiles);
    if (!c.ok) {
      report.invalid++;
      problem(r.line, { address: r.fields.address ?? null }, c.code, c.details as Record<string, unknown> | undefined);
    } else if (repeated.has(c.item.address)) {
      report.invalid++;
      const details = { occurrences: repeated.get(c.item.address) };
      problem(r.line, { address: c.item.address }, 'IMPORT_DUPLICATE_METER', details);
    } else {
      report.valid++;
      const sha = shared.rowChecksum([c.item.address, ...COLUMN_ORDER.map((k) => c.item.columns[k])]);
      items.push({ line: r.line, ...c.item, sha });
      if (items.length >= chunkSize) {
        await writeChunk(items);
        items = [];
      }
    }
  }
  if (items.length) await writeChunk(items);
  shared.finishReport(report, t0);
  if (!dryRun)
    await db
      .insertInto('import_batches')
      .values(shared.batchRow(report, o.actor, now))
      .execute();
  return report;
}
