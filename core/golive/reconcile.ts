/**
 * Parallel run (go-live): both systems sell for a while, and every day the old system's card export is compared
 * with MeterHub's ledger, card by card. Read-only. The export goes through the same mapping and row checks as
 * the import, so the two are compared in MeterHub's terms:
 *   - MISSING_IN_METERHUB: the old system has the card, the ledger does not (import it, or adopt it at the counter);
 *   - MISSING_IN_OLD: the ledger has the card, the export does not (issued or adopted in MeterHub);
 *   - COUNT_DIFFERS: both know it at different purchase counts (the card was sold on in one system only);
 *   - STATE_DIFFERS: active / lost / blacklisted / retired disagree;
 *   - INVALID_ROW: the export row itself fails the import checks.
 */
import type { MeterHubDatabase } from '../db/database.ts';
import type { PluginHost } from '../plugins/plugin-types.ts';
import { CARD_FIELDS, checkCardRow, makerLookup } from './card-import.ts';
import { parseMapping, readSource } from './import-source.ts';

export const RECONCILE_KINDS = {
  MISSING_IN_METERHUB: { zh: '原系统有、本系统台账无', en: 'in the old system, not in the MeterHub ledger' },
  MISSING_IN_OLD: { zh: '本系统台账有、原系统无', en: 'in the MeterHub ledger, not in the old system' },
  COUNT_DIFFERS: { zh: '购气次数不同（两边各自售过气）', en: 'purchase counts differ (sold on in one system only)' },
  STATE_DIFFERS: { zh: '卡状态不同', en: 'card states differ' },
  INVALID_ROW: { zh: '导出行本身无效', en: 'the export row itself is invalid' },
} as const;
export type ReconcileKind = keyof typeof RECONCILE_KINDS;

export interface ReconcileDifference {
  kind: ReconcileKind;
  maker: string | null;
  cardNo: string | null;
  line: number | null;
  old?: { count: number; state: string } | undefined;
  meterhub?: { count: number; state: string; lastTransactionId: string | null } | undefined;
  zh: string;
  en: string;
}

export interface ReconcileReport {
  rows: number;
  ledgerCards: number;
  same: number;
  byKind: Partial<Record<ReconcileKind, number>>;
  differences: ReconcileDifference[];
}

export async function reconcileCards(o: {
  database: MeterHubDatabase;
  host: PluginHost;
  text: string;
  mappingText?: string | undefined;
}): Promise<ReconcileReport> {
  const mapping = o.mappingText !== undefined ? parseMapping(o.mappingText, CARD_FIELDS) : {};
  const source = readSource(o.text, CARD_FIELDS, mapping);
  const ledger = (await o.database.db
    .selectFrom('ledger_cards')
    .select(['maker', 'card_no', 'count', 'status', 'last_tx_id'])
    .execute()) as Array<{ maker: string; card_no: string; count: number; status: string; last_tx_id: string | null }>;
  const byKey = new Map(ledger.map((c) => [`${c.maker}\u0000${c.card_no}`, c]));
  const seen = new Set<string>();
  const makers = makerLookup(o.host);
  const report: ReconcileReport = {
    rows: source.length,
    ledgerCards: ledger.length,
    same: 0,
    byKind: {},
    differences: [],
  };
  const add = (d: Omit<ReconcileDifference, 'zh' | 'en'>) => {
    report.byKind[d.kind] = (report.byKind[d.kind] ?? 0) + 1;
    report.differences.push({ ...d, ...RECONCILE_KINDS[d.kind] });
  };
  for (const r of source) {
    const c = checkCardRow(r, makers);
    if (!c.ok) {
      add({ kind: 'INVALID_ROW', maker: r.fields.maker ?? null, cardNo: r.fields.cardNo ?? null, line: r.line });
      continue;
    }
    const key = `${c.card.maker}\u0000${c.card.cardNo}`;
    seen.add(key);
    const m = byKey.get(key);
    const old = { count: c.card.count, state: c.card.state };
    const base = { maker: c.card.maker, cardNo: c.card.cardNo, line: r.line, old };
    if (!m) {
      add({ kind: 'MISSING_IN_METERHUB', ...base });
      continue;
    }
    const meterhub = { count: m.count, state: m.status, lastTransactionId: m.last_tx_id };
    if (m.count !== c.card.count) add({ kind: 'COUNT_DIFFERS', ...base, meterhub });
    // A card formatted (退户) in MeterHub is what the old system calls retired.
    else if (m.status !== c.card.state && !(m.status === 'formatted' && c.card.state === 'retired')) {
      add({ kind: 'STATE_DIFFERS', ...base, meterhub });
    } else report.same++;
  }
  for (const m of ledger) {
    if (seen.has(`${m.maker}\u0000${m.card_no}`)) continue;
    const meterhub = { count: m.count, state: m.status, lastTransactionId: m.last_tx_id };
    add({ kind: 'MISSING_IN_OLD', maker: m.maker, cardNo: m.card_no, line: null, meterhub });
  }
  return report;
}
