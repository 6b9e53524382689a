/**
 * What every go-live import shares, whatever it imports (cards into the ledger, meters into the registry): the
 * report and its counters, the row problems, the idempotency checksums, the duplicate-key pass, the diff a conflict
 * shows, the batch row (import_batches, the audit of an import) and the CLI's audit entry. The kind-specific parts
 * (which fields, how a row is checked, where it is written) stay with each importer.
 */
import * as crypto from 'node:crypto';
import { createHash, randomBytes } from 'node:crypto';
import type { AuditLog } from '../audit/audit-log.ts';
import type { Actor } from '../ledger/ledger-store.ts';
import { ROW_PROBLEMS, type RowProblemCode } from './import-errors.ts';
import type { SourceRow } from './import-source.ts';

export type ImportKind = 'cards' | 'meters';

/** A bad or conflicting row: where it is, the stable code with both texts, and the row's identity fields. */
export type ImportProblem<K extends object> = K & {
  line: number;
  code: RowProblemCode;
  zh: string;
  en: string;
  details?: Record<string, unknown>;
};

/** One --update change: the row's identity, the values before and after (kept in the batch: the audit). */
export type ImportChange<K extends object> = K & { before: Record<string, unknown>; after: Record<string, unknown> };

export interface ImportReportOf<Kind extends ImportKind, K extends object> {
  kind: Kind;
  /** Null on a dry run: nothing was written. */
  batchId: string | null;
  dryRun: boolean;
  update: boolean;
  sourceSha256: string;
  fileName: string | null;
  rows: number;
  valid: number;
  inserted: number;
  unchanged: number;
  updated: number;
  conflicts: number;
  invalid: number;
  /** Problems per code, over all rows (the list below may be cut at `maxProblems`). */
  byCode: Record<string, number>;
  problems: Array<ImportProblem<K>>;
  problemsLeftOff: number;
  /** Every --update change, before → after. */
  changes: Array<ImportChange<K>>;
  seconds: number;
}

/** The options every importer takes, beside its own (plugin host, profiles). */
export interface ImportRunOptions {
  actor: Actor;
  text: string;
  mappingText?: string | undefined;
  fileName?: string | undefined;
  dryRun?: boolean | undefined;
  update?: boolean | undefined;
  /** Rows per transaction. */
  chunk?: number | undefined;
  maxProblems?: number | undefined;
}

export const sha256 = (s: string): string => createHash('sha256').update(s).digest('hex');
/** One-shot hashing (Node ≥ 20.12) is several times cheaper per row than a Hash object; the result is the same. */
export const rowHash: (s: string) => string =
  typeof (crypto as { hash?: unknown }).hash === 'function'
    ? (s) => (crypto as unknown as { hash(a: string, d: string): string }).hash('sha256', s)
    : sha256;

/** A row's identity for idempotency: every imported value, in a fixed order. */
export function rowChecksum(values: ReadonlyArray<string | number | null>): string {
  return rowHash(values.map((v) => (v === null ? '\u0000' : String(v))).join('\u001f'));
}

export function newBatchId(sourceSha256: string): string {
  return `imp_${Date.now().toString(36)}_${sourceSha256.slice(0, 12)}_${randomBytes(3).toString('hex')}`;
}

/** An empty report for this run, and `problem()` that files a row problem into it (counted even past the cut). */
export function startReport<Kind extends ImportKind, K extends object>(
  kind: Kind,
  o: ImportRunOptions,
): {
  report: ImportReportOf<Kind, K>;
  problem: (line: number, who: K, code: RowProblemCode, details?: Record<string, unknown>) => void;
} {
  const sourceSha256 = sha256(o.text);
  const dryRun = o.dryRun === true;
  const maxProblems = o.maxProblems ?? 10_000;
  const report: ImportReportOf<Kind, K> = {
    kind,
    batchId: dryRun ? null : newBatchId(sourceSha256),
    dryRun,
    update: o.update === true,
    sourceSha256,
    fileName: o.fileName ?? null,
    rows: 0,
    valid: 0,
    inserted: 0,
    unchanged: 0,
    updated: 0,
    conflicts: 0,
    invalid: 0,
    byCode: {},
    problems: [],
    problemsLeftOff: 0,
    changes: [],
    seconds: 0,
  };
  const problem = (line: number, who: K, code: RowProblemCode, details?: Record<string, unknown>) => {
    report.byCode[code] = (report.byCode[code] ?? 0) + 1;
    if (report.problems.length >= maxProblems) {
      report.problemsLeftOff++;
      return;
    }
    report.problems.push({ line, ...who, code, ...ROW_PROBLEMS[code], ...(details ? { details } : {}) });
  };
  return { report, problem };
}

/** Bad rows are found while checking, conflicts while writing: one order for the reader, by line. */
export function finishReport(report: ImportReportOf<ImportKind, object>, startedAt: number): void {
  report.problems.sort((a, b) => a.line - b.line);
  report.seconds = +((Date.now() - startedAt) / 1000).toFixed(3);
}

/**
 * Pass 1 of an import: counts the rows and finds the keys that stand more than once. Such a key refuses every
 * occurrence (which one is right is the old system's call), so all are known before the first chunk is written.
 */
export function repeatedKeys(
  rows: Iterable<SourceRow>,
  key: (r: SourceRow) => string | undefined,
): { rows: number; repeated: Map<string, number> } {
  const seen = new Map<string, number>();
  let n = 0;
  for (const r of rows) {
    n++;
    const k = key(r);
    if (k !== undefined) seen.set(k, (seen.get(k) ?? 0) + 1);
  }
  for (const [k, c] of seen) if (c === 1) seen.delete(k);
  return { rows: n, repeated: seen };
}

/** What a conflict shows: each column whose stored value differs from the file's. */
export function differencesOf(
  stored: Record<string, unknown>,
  file: Record<string, unknown>,
  storedLabel = 'ledger',
): Record<string, Record<string, unknown>> {
  return Object.fromEntries(
    Object.entries(file)
      .filter(([k, v]) => stored[k] !== v)
      .map(([k, v]) => [k, { [storedLabel]: stored[k], file: v }]),
  );
}

/** The values `after` replaces, read from the stored row. */
export function beforeOf(stored: Record<string, unknown>, after: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.keys(after).map((k) => [k, stored[k]]));
}

/** The import_batches row of a finished import (core/ledger/ledger-import-schema.ts). */
export function batchRow(report: ImportReportOf<ImportKind, object>, actor: Actor, now: string) {
  return {
    id: report.batchId!,
    kind: report.kind,
    source_sha256: report.sourceSha256,
    file_name: report.fileName,
    actor_name: actor.name,
    actor_role: actor.role,
    channel: actor.channel,
    rows: report.rows,
    inserted: report.inserted,
    unchanged: report.unchanged,
    updated: report.updated,
    conflicts: report.conflicts,
    invalid: report.invalid,
    report: JSON.stringify({
      byCode: report.byCode,
      problems: report.problems,
      problemsLeftOff: report.problemsLeftOff,
      changes: report.changes,
    }),
    created_at: now,
  };
}

/**
 * The CLI's audit entry for a real import (REST imports are audited by the request hook with the batch id as the
 * call's transaction id). The batch id names the source's SHA-256 (its first 12 hex); the path carries all of it.
 */
export async function auditCliImport(
  audit: AuditLog,
  report: ImportReportOf<ImportKind, object>,
  actor: Actor,
  fileName: string,
): Promise<void> {
  await audit.append({
    at: new Date().toISOString(),
    requestId: report.batchId!,
    actor: actor.name,
    role: actor.role,
    channel: actor.channel,
    method: 'CLI',
    path: `import ${report.kind} ${fileName} sha256=${report.sourceSha256}`,
    route: `meterhub import ${report.kind}`,
    status: report.invalid + report.conflicts ? 207 : 200,
    transactionId: report.batchId,
    idempotencyKey: null,
    ip: null,
    durationMs: Math.round(report.seconds * 1000),
  });
  await audit.flush();
}
