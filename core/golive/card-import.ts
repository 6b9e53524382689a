/**
 * Bulk import of the card base from the old system (go-live). Every row is checked (maker known and enabled,
 * card type one the maker supports, count within __int16, no card number twice in the file, …) and the report
 * names each bad row and why; nothing is half-imported: a bad row is skipped, a good one goes in.
 *
 * Idempotent by the row's checksum (`import_row_sha256` on the card's ledger row): the same row again is
 * `unchanged`; a changed row is a conflict unless `update` is given, and even then only for a card MeterHub has
 * not yet written (no transaction) — every update's before/after is kept in the batch (the audit of the change).
 * Each imported card carries its batch id and the source file's SHA-256 (ledger-import-schema.ts); the batch id
 * goes into the audit trail, and the batch row keeps the report.
 *
 * Speed: the file is walked twice (card numbers, then chunk by chunk) so a million rows are never held at once.
 * Chunks go in one transaction each — on PostgreSQL a COPY into a temporary table and one `INSERT … SELECT …
 * ON CONFLICT DO NOTHING` (two chunks in flight), on SQLite one prepared statement per row inside the chunk's
 * transaction on a connection of its own (short write locks, so sales go on meanwhile).
 */
import Database from 'better-sqlite3';
import { CompiledQuery } from 'kysely';
import { LIMITS } from '../cards/card-types.ts';
import type { MeterHubDatabase } from '../db/database.ts';
import type { Actor } from '../ledger/ledger-store.ts';
import type { PluginHost } from '../plugins/plugin-types.ts';
import { copyFrom, copyText } from './pg-copy.ts';
import type { RowProblemCode } from './import-errors.ts';
import { iterateSource, parseMapping, type SourceRow } from './import-source.ts';
import {
  batchRow,
  beforeOf,
  differencesOf,
  finishReport,
  repeatedKeys,
  rowChecksum,
  startReport,
  type ImportProblem,
  type ImportReportOf,
  type ImportRunOptions,
} from './import-batch.ts';
import { environment } from '../config/environment.ts';

export const CARD_FIELDS = [
  'maker',
  'cardType',
  'cardNo',
  'userNo',
  'meterNo',
  'meterKind',
  'count',
  'lastSaleAt',
  'lastSaleGas',
  'state',
] as const;
export const CARD_STATES = ['active', 'lost', 'blacklisted', 'retired'] as const;
export type CardState = (typeof CARD_STATES)[number];

export interface ImportedCard {
  maker: string;
  cardType: string;
  cardNo: string;
  userNo: string | null;
  meterNo: string | null;
  meterKind: number | null;
  count: number;
  lastSaleAt: string | null;
  lastSaleGas: number | null;
  state: CardState;
}

/** A card's identity in the report's problems and changes. */
export interface CardKey {
  maker: string | null;
  cardNo: string | null;
}
export type RowProblem = ImportProblem<CardKey>;
export type ImportReport = ImportReportOf<'cards', CardKey>;

export interface CardImportOptions extends ImportRunOptions {
  database: MeterHubDatabase;
  host: PluginHost;
}

const CARD_NO = new RegExp(`^[0-9A-Za-z]{1,${LIMITS.cardNoMaxLength}}$`);
const INT = /^\d+$/;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;

export { newBatchId } from './import-batch.ts';

/** The row's identity for idempotency: every imported value, in a fixed order. */
function rowSha(c: ImportedCard): string {
  const { maker, cardType, cardNo, userNo, meterNo, meterKind, count, lastSaleAt, lastSaleGas, state } = c;
  return rowChecksum([maker, cardType, cardNo, userNo, meterNo, meterKind, count, lastSaleAt, lastSaleGas, state]);
}

/** The makers as they stand when the import starts (asking the host per row reads its state every time). */
export type MakerLookup = Map<string, { enabled: boolean; cardTypes: readonly string[] }>;

export function makerLookup(host: PluginHost): MakerLookup {
  return new Map(host.list().map((p) => [p.id, { enabled: p.enabled, cardTypes: p.cardTypes }]));
}

/** Checks one source row; a problem or the typed card. */
export function checkCardRow(
  r: SourceRow,
  makers: MakerLookup,
): { ok: true; card: ImportedCard } | { ok: false; code: RowProblemCode; details?: Record<string, unknown> } {
  const f = r.fields;
  const missing = ['maker', 'cardType', 'cardNo', 'count'].filter((k) => f[k] === undefined);
  if (missing.length) return { ok: false, code: 'IMPORT_FIELD_MISSING', details: { fields: missing } };
  const maker = f.maker!;
  const st = makers.get(maker);
  if (!st) return { ok: false, code: 'IMPORT_MAKER_UNKNOWN', details: { maker, known: [...makers.keys()] } };
  if (!st.enabled) return { ok: false, code: 'IMPORT_MAKER_DISABLED', details: { maker } };
  if (!st.cardTypes.includes(f.cardType!)) {
    const details = { maker, cardType: f.cardType, supported: st.cardTypes };
    return { ok: false, code: 'IMPORT_CARD_TYPE_UNSUPPORTED', details };
  }
  for (const k of ['userNo', 'meterNo'] as const) {
    const v = f[k];
    if (v !== undefined && (v.length > 64 || CONTROL.test(v))) {
      return { ok: false, code: 'IMPORT_TEXT_INVALID', details: { field: k } };
    }
  }
  if (!CARD_NO.test(f.cardNo!)) return { ok: false, code: 'IMPORT_CARD_NO_INVALID', details: { cardNo: f.cardNo } };
  const count = INT.test(f.count!) ? Number(f.count) : NaN;
  if (!(count >= 0 && count <= LIMITS.countMax)) {
    return { ok: false, code: 'IMPORT_COUNT_OUT_OF_RANGE', details: { count: f.count, max: LIMITS.countMax } };
  }
  let meterKind: number | null = null;
  if (f.meterKind !== undefined) {
    if (f.meterKind !== '1' && f.meterKind !== '2') {
      return { ok: false, code: 'IMPORT_METER_KIND_INVALID', details: { meterKind: f.meterKind } };
    }
    meterKind = Number(f.meterKind);
  }
  let lastSaleGas: number | null = null;
  if (f.lastSaleGas !== undefined) {
    lastSaleGas = INT.test(f.lastSaleGas) ? Number(f.lastSaleGas) : NaN;
    if (!(lastSaleGas >= 0 && lastSaleGas <= LIMITS.gasMax)) {
      return { ok: false, code: 'IMPORT_GAS_INVALID', details: { lastSaleGas: f.lastSaleGas } };
    }
  }
  let lastSaleAt: string | null = null;
  if (f.lastSaleAt !== undefined) {
    lastSaleAt = f.lastSaleAt.replace(' ', 'T');
    if (!/^\d{4}-\d{2}-\d{2}/.test(lastSaleAt) || Number.isNaN(Date.parse(lastSaleAt))) {
      return { ok: false, code: 'IMPORT_TIME_INVALID', details: { lastSaleAt: f.lastSaleAt } };
    }
  }
  const state = (f.state ?? 'active') as CardState;
  if (!CARD_STATES.includes(state)) {
    return { ok: false, code: 'IMPORT_STATE_INVALID', details: { state: f.state, allowed: CARD_STATES } };
  }
  return {
    ok: true,
    card: {
      maker,
      cardType: f.cardType!,
      cardNo: f.cardNo!,
      userNo: f.userNo ?? null,
      meterNo: f.meterNo ?? null,
      meterKind,
      count,
      lastSaleAt,
      lastSaleGas,
      state,
    },
  };
}

/** The ledger row's columns an import sets (what a conflict compares and an update changes). */
function columnsOf(c: ImportedCard) {
  return {
    card_type: c.cardType,
    meter_kind: c.meterKind,
    count: c.count,
    open_gas: c.lastSaleGas ?? 0,
    status: c.state,
    user_no: c.userNo,
    meter_no: c.meterNo,
    last_sale_at: c.lastSaleAt,
    last_sale_gas: c.lastSaleGas,
  };
}
type Columns = ReturnType<typeof columnsOf>;

interface Existing extends Columns {
  import_batch_id: string | null;
  maker: string;
  card_no: string;
  version: number;
  last_tx_id: string | null;
  import_row_sha256: string | null;
}

interface Item {
  line: number;
  card: ImportedCard;
  sha: string;
}

export async function importCards(o: CardImportOptions): Promise<ImportReport> {
  const t0 = Date.now();
  // METERHUB_IMPORT_PHASES=1: where the time goes (the bench's figures), on stderr.
  const phase = environment().METERHUB_IMPORT_PHASES
    ? (l: string) => console.error(`${l} ${Date.now() - t0} ms`)
    : () => {};
  const mapping = o.mappingText !== undefined ? parseMapping(o.mappingText, CARD_FIELDS) : {};
  const dryRun = o.dryRun === true;
  const update = o.update === true;
  const { report, problem: file } = startReport<'cards', CardKey>('cards', o);
  const sourceSha256 = report.sourceSha256;
  const problem = (
    line: number,
    maker: string | null,
    cardNo: string | null,
    code: RowProblemCode,
    details?: Record<string, unknown>,
  ) => file(line, { maker, cardNo }, code, details);

  // Pass 1: card numbers only (a number twice in the file refuses every occurrence).
  const { rows, repeated: seen } = repeatedKeys(iterateSource(o.text, CARD_FIELDS, mapping), (r) => r.fields.cardNo);
  report.rows = rows;
  phase('counted');
  const makers = makerLookup(o.host);

  const writer = o.database.dialect === 'postgres' ? pgCopyWriter(o.database) : sqliteWriter(o.database);
  const chunk = o.chunk ?? (o.database.dialect === 'postgres' ? 50_000 : 5_000);
  const now = new Date().toISOString();
  const origin = { batchId: report.batchId ?? '', sourceSha256, now };
  const decide: Decide = (item, ex) => {
    // The card is already in the ledger: unchanged, a conflict, or (with --update) an audited change.
    if (ex.import_row_sha256 === item.sha) {
      report.unchanged++;
      return null;
    }
    const after = columnsOf(item.card);
    const old = ex as unknown as Record<string, unknown>;
    const differences = differencesOf(old, after);
    const base = { maker: item.card.maker, cardNo: item.card.cardNo };
    if (ex.import_row_sha256 === null) {
      report.conflicts++;
      problem(item.line, base.maker, base.cardNo, 'IMPORT_CARD_NOT_IMPORTED', { differences });
      return null;
    }
    if (ex.last_tx_id !== null) {
      report.conflicts++;
      const details = { differences, lastTransactionId: ex.last_tx_id };
      problem(item.line, base.maker, base.cardNo, 'IMPORT_CARD_IN_USE', details);
      return null;
    }
    if (!update) {
      report.conflicts++;
      problem(item.line, base.maker, base.cardNo, 'IMPORT_CONFLICT', { differences, nextStep: 'check-then-update' });
      return null;
    }
    report.updated++;
    report.changes.push({ ...base, before: beforeOf(old, after), after });
    return { version: ex.version, set: after };
  };
  const inserted = (n: number) => {
    report.inserted += n;
  };
  // PostgreSQL: two chunks in flight (two server backends work while this process reads the next rows); chunks
  // never share a card (a number twice in the file is refused), so their order does not matter. SQLite: one.
  const inflight: Array<Promise<void>> = [];
  const send = async (items: Item[]) => {
    if (inflight.length >= writer.parallel) await inflight.shift();
    const p = writer.chunk(items, dryRun, decide, origin, inserted);
    p.catch(() => {}); // awaited below; no unhandled rejection while it waits its turn
    inflight.push(p);
  };
  try {
    // Pass 2: check and write chunk by chunk.
    let items: Item[] = [];
    for (const r of iterateSource(o.text, CARD_FIELDS, mapping)) {
      const c = checkCardRow(r, makers);
      if (!c.ok) {
        report.invalid++;
        problem(r.line, r.fields.maker ?? null, r.fields.cardNo ?? null, c.code, c.details);
      } else if (seen.has(c.card.cardNo)) {
        report.invalid++;
        problem(r.line, c.card.maker, c.card.cardNo, 'IMPORT_DUPLICATE_CARD', { occurrences: seen.get(c.card.cardNo) });
      } else {
        report.valid++;
        items.push({ line: r.line, card: c.card, sha: rowSha(c.card) });
        if (items.length >= chunk) {
          await send(items);
          items = [];
        }
      }
    }
    if (items.length) await send(items);
    await Promise.all(inflight);
    phase('written');
    finishReport(report, t0);
    if (!dryRun) await writer.batch(report, o.actor, now);
  } finally {
    writer.close();
  }
  return report;
}

type Decide = (item: Item, existing: Existing) => { version: number; set: Columns } | null;
interface Origin {
  batchId: string;
  sourceSha256: string;
  now: string;
}

interface Writer {
  parallel: number;
  chunk(items: Item[], dryRun: boolean, decide: Decide, origin: Origin, inserted: (n: number) => void): Promise<void>;
  batch(report: ImportReport, actor: Actor, now: string): Promise<void>;
  close(): void;
}

const EXISTING_COLS =
  'maker, card_no, import_batch_id, version, last_tx_id, import_row_sha256, card_type, ' +
  'meter_kind, count, open_gas, status, user_no, meter_no, last_sale_at, last_sale_gas';
const UPDATE_SET =
  'card_type = ?, meter_kind = ?, count = ?, open_gas = ?, status = ?, user_no = ?, meter_no = ?, ' +
  'last_sale_at = ?, last_sale_gas = ?, import_batch_id = ?, import_sha256 = ?, import_row_sha256 = ?, ' +
  'version = version + 1, updated_at = ?';
const setValues = (s: Columns) => [
  s.card_type,
  s.meter_kind,
  s.count,
  s.open_gas,
  s.status,
  s.user_no,
  s.meter_no,
  s.last_sale_at,
  s.last_sale_gas,
];

/** SQLite: a connection of its own, one IMMEDIATE transaction per chunk, prepared statements. */
function sqliteWriter(database: MeterHubDatabase): Writer {
  const db = new Database(database.location);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma('busy_timeout = 10000');
  const insert = db.prepare(`insert into ledger_cards (maker, card_no, card_type, meter_kind, count, open_gas, reissues,
    status, version, created_at, updated_at, user_no, meter_no, last_sale_at, last_sale_gas, import_batch_id,
    import_sha256, import_row_sha256)
    values (?, ?, ?, ?, ?, ?, 0, ?, 1, ?, ?, ?, ?, ?, ?, ?, ?, ?) on conflict (maker, card_no) do nothing`);
  const select = db.prepare(`select ${EXISTING_COLS} from ledger_cards where maker = ? and card_no = ?`);
  const upd = db.prepare(`update ledger_cards set ${UPDATE_SET} where maker = ? and card_no = ? and version = ?`);
  const run = db.transaction((items: Item[], dryRun: boolean, decide: Decide, origin: Origin): number => {
    let n = 0;
    for (const it of items) {
      const c = it.card;
      if (!dryRun) {
        const s = columnsOf(c);
        const r = insert.run(
          c.maker,
          c.cardNo,
          s.card_type,
          s.meter_kind,
          s.count,
          s.open_gas,
          s.status,
          origin.now,
          origin.now,
          s.user_no,
          s.meter_no,
          s.last_sale_at,
          s.last_sale_gas,
          origin.batchId,
          origin.sourceSha256,
          it.sha,
        );
        if (r.changes === 1) {
          n++;
          continue;
        }
      }
      const ex = select.get(c.maker, c.cardNo) as Existing | undefined;
      if (!ex) {
        n++; // dry run: would be inserted
        continue;
      }
      const d = decide(it, ex);
      if (d && !dryRun) {
        const where = [c.maker, c.cardNo, d.version];
        upd.run(...setValues(d.set), origin.batchId, origin.sourceSha256, it.sha, origin.now, ...where);
      }
    }
    return n;
  });
  return {
    parallel: 1,
    async chunk(items, dryRun, decide, origin, inserted) {
      inserted(run.immediate(items, dryRun, decide, origin));
    },
    async batch(report, actor, now) {
      const b = batchRow(report, actor, now);
      const cols = Object.keys(b);
      const values = cols.map(() => '?').join(', ');
      db.prepare(`insert into import_batches (${cols.join(', ')}) values (${values})`).run(...Object.values(b));
    },
    close() {
      db.close();
    },
  };
}

/**
 * PostgreSQL with its pool at hand: per chunk, COPY into a temporary table (no index, dropped at commit), then one
 * INSERT … SELECT … ON CONFLICT DO NOTHING into the ledger, all in one transaction; the rows that were already
 * there are looked up only when the chunk did not insert every row.
 */
function pgCopyWriter(database: MeterHubDatabase): Writer {
  const pool = database.pool;
  if (!pool) throw new Error('card import on PostgreSQL needs the pool of openDatabase()');
  return {
    parallel: 2,
    async batch(report, actor, now) {
      const b = batchRow(report, actor, now);
      const cols = Object.keys(b);
      const values = cols.map((_, i) => `$${i + 1}`).join(', ');
      const text = `insert into import_batches (${cols.join(', ')}) values (${values})`;
      await database.db.executeQuery(CompiledQuery.raw(text, Object.values(b)));
    },
    close() {},
    async chunk(items, dryRun, decide, origin, inserted) {
      const c = await pool.connect();
      try {
        await c.query('begin');
        await c.query(`create temp table import_stage (idx int, maker text, card_no text, card_type text,
          meter_kind int, count int, open_gas int, status text, user_no text, meter_no text, last_sale_at text,
          last_sale_gas int, row_sha text) on commit drop`);
        let payload = '';
        items.forEach((it, i) => {
          const k = it.card;
          payload +=
            [
              i,
              copyText(k.maker),
              copyText(k.cardNo),
              copyText(k.cardType),
              copyText(k.meterKind),
              k.count,
              k.lastSaleGas ?? 0,
              k.state,
              copyText(k.userNo),
              copyText(k.meterNo),
              copyText(k.lastSaleAt),
              copyText(k.lastSaleGas),
              it.sha,
            ].join('\t') + '\n';
        });
        await copyFrom(c, 'copy import_stage from stdin', payload);
        if (!dryRun) {
          const r = await c.query(
            `insert into ledger_cards (maker, card_no, card_type, meter_kind, count, open_gas,
            reissues, status, version, created_at, updated_at, user_no, meter_no, last_sale_at, last_sale_gas,
            import_batch_id, import_sha256, import_row_sha256)
            select maker, card_no, card_type, meter_kind, count, open_gas, 0, status, 1, $1, $1, user_no, meter_no,
              last_sale_at, last_sale_gas, $2, $3, row_sha from import_stage
            on conflict (maker, card_no) do nothing`,
            [origin.now, origin.batchId, origin.sourceSha256],
          );
          if (r.rowCount === items.length) {
            inserted(items.length);
            await c.query('commit');
            return;
          }
        }
        const cols = EXISTING_COLS.split(', ')
          .map((x) => `l.${x}`)
          .join(', ');
        const found = await c.query<Existing & { idx: number }>(`select s.idx, ${cols}
          from import_stage s join ledger_cards l on l.maker = s.maker and l.card_no = s.card_no`);
        let fresh = dryRun ? items.length - found.rows.length : 0;
        for (const ex of found.rows) {
          if (!dryRun && ex.import_batch_id === origin.batchId) {
            fresh++;
            continue;
          }
          const it = items[ex.idx]!;
          const d = decide(it, ex);
          if (d && !dryRun) {
            let n = 0;
            const text = UPDATE_SET.replace(/\?/g, () => `$${++n}`);
            const where = `maker = $${n + 1} and card_no = $${n + 2} and version = $${n + 3}`;
            await c.query(`update ledger_cards set ${text} where ${where}`, [
              ...setValues(d.set),
              origin.batchId,
              origin.sourceSha256,
              it.sha,
              origin.now,
              it.card.maker,
              it.card.cardNo,
              d.version,
            ]);
          }
        }
        inserted(fresh);
        await c.query('commit');
      } catch (e) {
        await c.query('rollback').catch(() => {});
        throw e;
      } finally {
        c.release();
      }
    },
  };
}
