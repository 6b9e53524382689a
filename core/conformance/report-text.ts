/** Human-readable report: one line per check in Chinese and English, then the verdict. */
import type { CheckResult, ConformanceReport } from './check-result.ts';

const mark: Record<CheckResult['status'], string> = { pass: '通过 PASS', fail: '失败 FAIL', missing: '缺失 MISSING' };

export function formatCheck(c: CheckResult): string {
  const tail = c.status === 'pass' ? '' : `  [${c.finding ?? 'fail'}] ${c.detail ?? ''}`;
  return `${mark[c.status].padEnd(12)} ${c.group === 'core' ? '核心 core     ' : '扩展 extension'}  ${c.zh} / ${c.en}${tail}`;
}

export function formatReport(r: ConformanceReport): string {
  const core = r.checks.filter((c) => c.group === 'core');
  const ext = r.checks.filter((c) => c.group === 'extension');
  const lines = [
    `动态库 library: ${r.library}`,
    `卡型 card types: ${r.cardTypes.join(', ') || '（无完整卡型 none complete）'}   接口版本 interface version: ${r.interfaceVersion ?? '-'}`,
    '',
    ...core.map(formatCheck),
    '',
    '扩展功能 Extensions:',
    ...ext.map(formatCheck),
    '',
    `核心检查 core: ${core.filter((c) => c.status === 'pass').length}/${core.length} 通过 passed; ` +
      `扩展 extensions: ${ext.filter((c) => c.status === 'pass').length}/${ext.length}` +
      (ext.some((c) => c.status === 'missing')
        ? `（缺失 missing: ${ext
            .filter((c) => c.status === 'missing')
            .map((c) => c.detail)
            .join(', ')}）`
        : ''),
    `驱动重启次数 driver restarts: ${r.driverRestarts}`,
    r.passed
      ? `结论：符合规范${r.strict ? '（严格模式）' : r.extensionsComplete ? '' : '（核心符合，扩展未全部实现）'} / Verdict: CONFORMANT${r.strict ? ' (strict)' : r.extensionsComplete ? '' : ' (core; extensions incomplete)'}`
      : `结论：不符合规范 / Verdict: NOT CONFORMANT`,
  ];
  return lines.join('\n');
}
