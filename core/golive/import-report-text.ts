/** The import report as an operator reads it (zh first, en beside): totals, then each bad row and why. */
import type { ImportKind, ImportReportOf } from './import-batch.ts';

/** How a report names a row: its identity fields (cards: maker/cardNo; meters: address). */
function subject(x: object): string {
  const o = x as Record<string, unknown>;
  if ('address' in o) return String(o.address ?? '-');
  return `${String(o.maker ?? '-')}/${String(o.cardNo ?? '-')}`;
}

export function importReportLines(r: ImportReportOf<ImportKind, object>, o: { maxRows?: number } = {}): string[] {
  const max = o.maxRows ?? 200;
  const out = [
    `${r.dryRun ? '试运行（未写入任何数据）/ DRY RUN (nothing written)' : `导入批次 import batch: ${r.batchId}`}`,
    `源文件 source: ${r.fileName ?? '-'}  SHA-256 ${r.sourceSha256}`,
    `行数 rows ${r.rows} · 有效 valid ${r.valid} · ${r.dryRun ? '将新增 would insert' : '新增 inserted'} ${r.inserted} · ` +
      `未变 unchanged ${r.unchanged} · 更新 updated ${r.updated} · 冲突 conflicts ${r.conflicts} · 无效 invalid ${r.invalid}`,
  ];
  for (const [code, n] of Object.entries(r.byCode)) out.push(`  ${code}: ${n}`);
  for (const p of r.problems.slice(0, max)) {
    const d = p.details ? ` ${JSON.stringify(p.details)}` : '';
    out.push(`第 ${p.line} 行 line ${p.line} [${p.code}] ${subject(p)}: ${p.zh} / ${p.en}${d}`);
  }
  const left = r.problems.length - Math.min(r.problems.length, max) + r.problemsLeftOff;
  if (left > 0) out.push(`……另有 ${left} 行问题未列出 / ${left} more problems not listed (use --json or --report)`);
  for (const c of r.changes) {
    out.push(`更新 updated ${subject(c)}: ${JSON.stringify(c.before)} → ${JSON.stringify(c.after)}`);
  }
  return out;
}
