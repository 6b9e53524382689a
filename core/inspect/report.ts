/** Assembles an InspectReport from a parsed binary, and renders it as bilingual text. */
import { createHash } from 'node:crypto';
import type { CardType } from '../cards/card-types.ts';
import { assessLoadability } from './loadability.ts';
import { decorateAll, matchInterface } from './match.ts';
import { suggestSymbols } from './suggest.ts';
import type { HostInfo, InspectReport, Notice, ParsedBinary } from './types.ts';

export interface BuildOptions {
  file: string | null;
  buffer: Buffer;
  symbols: Record<string, string>;
  symbolWarnings: Notice[];
  host: HostInfo;
  cardTypes?: readonly CardType[];
}

export function buildReport(bin: ParsedBinary, o: BuildOptions): InspectReport {
  const exports = decorateAll(bin.exports);
  const m = matchInterface(exports, o.symbols);
  // mingw with both __declspec(dllexport) and a .def exports `Name` and `Name@N` for one function:
  // an alias of a bound export is neither "other" nor a suggestion candidate.
  const boundAddresses = new Set(exports.filter((e) => e.name !== null && m.used.has(e.name) && e.address !== undefined).map((e) => e.address));
  const aliases = exports.filter((e) => e.name !== null && !m.used.has(e.name) && e.address !== undefined && boundAddresses.has(e.address));
  const others = exports.filter((e) => (e.name === null || !m.used.has(e.name)) && !aliases.includes(e));
  const suggestions = suggestSymbols(m.functions, others, o.cardTypes);
  const warnings = [...bin.warnings, ...o.symbolWarnings, ...m.warnings];
  if (bin.format === 'PE32' && bin.machine.nodeArch === 'ia32' && m.functions.some((f) => f.present && !f.stdcall)) {
    warnings.push({
      code: 'CALLING_CONVENTION_UNVERIFIED',
      en: 'undecorated names on 32-bit x86: the export table cannot show whether they are __stdcall (the interface requires it)',
      zh: '32 位 x86 上的未修饰导出名：导出表无法证明其为 __stdcall（接口要求 __stdcall）',
    });
  }
  return {
    file: o.file,
    size: o.buffer.length,
    sha256: createHash('sha256').update(o.buffer).digest('hex'),
    format: bin.format,
    machine: bin.machine,
    bits: bin.bits,
    endianness: bin.endianness,
    isLibrary: bin.isLibrary,
    ...(bin.libraryName !== undefined ? { libraryName: bin.libraryName } : {}),
    ...(bin.dotNet ? { dotNet: true } : {}),
    exportSource: bin.exportSource,
    exports: exports.map(({ dec, ...e }) => ({
      ...e,
      undecorated: dec ? dec.base : null,
      ...(dec?.argBytes !== undefined ? { stdcallBytes: dec.argBytes } : {}),
    })),
    functions: m.functions,
    present: m.functions.filter((f) => f.present).map((f) => f.name),
    missing: m.functions.filter((f) => !f.present).map((f) => f.name),
    cardTypes: m.cardTypes,
    completeCardTypes: m.cardTypes.filter((c) => c.complete).map((c) => c.cardType),
    stdcallMismatches: m.functions
      .filter((f) => f.stdcall && !f.stdcall.ok)
      .map((f) => ({ interfaceName: f.name, exportName: f.exportName!, declaredBytes: f.stdcall!.declaredBytes, expectedBytes: f.stdcall!.expectedBytes })),
    otherExports: others.map(exportLabel),
    suggestions,
    suggestedSymbols: Object.fromEntries(suggestions.map((s) => [s.interfaceName, s.exportName])),
    symbolMap: o.symbols,
    loadability: assessLoadability(bin, o.host),
    warnings,
  };
}

function exportLabel(e: { name: string | null; ordinal?: number; forwarder?: string }): string {
  const name = e.name ?? `#${e.ordinal} (ordinal only / 仅序号)`;
  return e.forwarder ? `${name} → ${e.forwarder} (forwarder / 转发)` : name;
}

const SOURCE_TEXT: Record<InspectReport['exportSource'], string> = {
  'pe-export-directory': 'PE 导出表 / PE export directory',
  'pe-none': '无导出表 / no export directory',
  'elf-section-dynsym': '.dynsym 节 / .dynsym section',
  'elf-dynamic-gnu-hash': '动态段 DT_SYMTAB + DT_GNU_HASH（无节头）/ dynamic segment, no section headers',
  'elf-dynamic-hash': '动态段 DT_SYMTAB + DT_HASH（无节头）/ dynamic segment, no section headers',
  'elf-none': '无动态符号表 / no dynamic symbol table',
};

const VERDICT_TEXT: Record<InspectReport['loadability']['verdict'], string> = {
  direct: '可直接加载 / loads directly',
  'needs-32bit-host': '需要 32 位驱动宿主 / needs a 32-bit driver host',
  'needs-other-host': '需要其他架构的驱动宿主 / needs a driver host of another architecture',
  'cannot-load': '本机无法加载 / cannot load on this host',
};

/** Human-readable report: Chinese first, English alongside (CONTRIBUTING.md). */
export function formatReport(r: InspectReport): string {
  const out: string[] = [];
  const kind = r.format.startsWith('PE') ? (r.isLibrary ? 'Windows DLL' : 'Windows EXE') : r.isLibrary ? 'shared object' : 'ELF (not a shared object)';
  out.push(`文件 File: ${r.file ?? '(buffer)'}  (${r.size} 字节 bytes, sha256 ${r.sha256.slice(0, 16)}…)`);
  out.push(`格式 Format: ${r.format} ${kind}${r.dotNet ? ' (.NET)' : ''}, ${r.machine.name}, ${r.bits} 位 / ${r.bits}-bit, ${r.endianness === 'little' ? '小端 little-endian' : '大端 big-endian'}`);
  if (r.libraryName) out.push(`库名 Library name: ${r.libraryName}`);
  out.push(`导出 Exports: ${r.exports.length}  — ${SOURCE_TEXT[r.exportSource]}`);
  out.push('');
  out.push(`卡类型 Card types (核心 5 个函数 / 5 core functions):`);
  for (const c of r.cardTypes) {
    const parts: string[] = [];
    if (c.missing.length) parts.push(`缺 missing: ${c.missing.join(', ')}`);
    if (c.stdcallMismatch.length) parts.push(`stdcall 字节数不符 mismatch: ${c.stdcallMismatch.join(', ')}`);
    const state = c.complete ? '完整 complete' : c.present.length ? `不完整 incomplete, ${parts.join('; ')}` : '未实现 none';
    out.push(`  ${c.cardType.padEnd(5)} ${c.present.length}/${c.present.length + c.missing.length}  ${state}`);
  }
  out.push(`完整的卡类型 Complete card types: ${r.completeCardTypes.length ? r.completeCardTypes.join(', ') : '无 none'}`);
  out.push('');
  out.push('接口函数 Interface functions:');
  for (const f of r.functions) {
    const tag = f.group === 'core' ? '核心 core' : '扩展 ext ';
    let line = `  ${f.present ? '✓' : '✗'} ${tag}  ${f.name}`;
    if (f.present && f.exportName !== f.name) line += `  ← ${f.exportName}${f.via === 'symbol-map' ? ' (符号映射 symbol map)' : ''}`;
    if (!f.present && f.mappedTo) line += `  (映射到 mapped to ${f.mappedTo}：未导出 not exported)`;
    if (f.stdcall) line += f.stdcall.ok ? `  [stdcall @${f.stdcall.declaredBytes} ✓]` : `  [stdcall @${f.stdcall.declaredBytes} ≠ ${f.stdcall.expectedBytes} ✗]`;
    out.push(line);
  }
  if (r.stdcallMismatches.length) {
    out.push('');
    out.push('stdcall 参数字节数不符 stdcall argument-byte mismatch (参数个数与 gascard.h 不同 / parameter count differs from gascard.h):');
    for (const s of r.stdcallMismatches) out.push(`  ${s.exportName}: 声明 declares ${s.declaredBytes}, 应为 expected ${s.expectedBytes} (${s.interfaceName})`);
  }
  out.push('');
  out.push(`其他导出 Other exports (${r.otherExports.length}): ${r.otherExports.length ? '' : '无 none'}`);
  for (const e of r.otherExports.slice(0, 200)) out.push(`  ${e}`);
  if (r.otherExports.length > 200) out.push(`  … 另 ${r.otherExports.length - 200} 个 / ${r.otherExports.length - 200} more (--json 查看全部 / for all)`);
  if (r.suggestions.length) {
    out.push('');
    out.push('建议的符号映射（仅为按名称猜测，未核对签名，须对照厂家文档确认）');
    out.push('Suggested symbol map (SUGGESTIONS ONLY: a name heuristic, signatures not checked — confirm with the maker\'s documentation):');
    for (const s of r.suggestions) {
      const alt = s.alternatives.length ? `; 其他候选 alternatives: ${s.alternatives.join(', ')}` : '';
      out.push(`  "${s.interfaceName}": "${s.exportName}"   (${s.score.toFixed(2)}; ${s.reason.zh} / ${s.reason.en}${alt})`);
    }
    out.push(`  manifest "symbols": ${JSON.stringify(r.suggestedSymbols)}`);
  }
  if (r.warnings.length) {
    out.push('');
    out.push('注意 Warnings:');
    for (const w of r.warnings) out.push(`  [${w.code}] ${w.zh} / ${w.en}`);
  }
  out.push('');
  out.push(`本机加载 This host (${r.loadability.host.platform}-${r.loadability.host.arch}): ${VERDICT_TEXT[r.loadability.verdict]}`);
  out.push(`  ${r.loadability.zh}`);
  out.push(`  ${r.loadability.en}`);
  return out.join('\n');
}
