/** Assembles an InspectReport from a parsed binary, and renders it as bilingual text. */
import { createHash } from 'node:crypto';
import type { CardType } from '../cards/card-types.ts';
import { analyseExports, describePopped } from './calling-convention.ts';
import { expectedStdcallBytes } from './decorate.ts';
import { INTERFACE_BY_NAME } from '../driver/interface-functions.ts';
import { assessLoadability } from './loadability.ts';
import { decorateAll, matchInterface } from './match.ts';
import { suggestSymbols } from './suggest.ts';
import { libraryKindOf, type LibraryKind } from './library-kind.ts';
import type { HostInfo, InspectReport, Notice, ParsedBinary } from './types.ts';

export interface BuildOptions {
  file: string | null;
  buffer: Buffer;
  symbols: Record<string, string>;
  symbolWarnings: Notice[];
  host: HostInfo;
  cardTypes?: readonly CardType[];
  /** A plugin manifest's kind for this library (see library-kind.ts). */
  declaredKind?: { manifest: string; platform: string; kind: LibraryKind; explicit: boolean };
}

export function buildReport(bin: ParsedBinary, o: BuildOptions): InspectReport {
  const exports = decorateAll(bin.exports);
  const m = matchInterface(exports, o.symbols);
  // x86 (PE32 i386) is where the convention decides whether the caller's stack survives; x64 has one.
  const x86 = bin.format === 'PE32' && bin.machine.nodeArch === 'ia32';
  const popped =
    bin.readCode && bin.format.startsWith('PE')
      ? analyseExports({
          readCode: bin.readCode,
          is64: bin.bits === 64,
          exports: bin.exports,
          libraryName: bin.libraryName,
        })
      : undefined;
  const poppedOf = (name: string | undefined) => {
    const e = name === undefined ? undefined : bin.exports.find((x) => x.name === name);
    return e ? popped?.get(e) : undefined;
  };
  const warnings = [...bin.warnings, ...o.symbolWarnings, ...m.warnings];
  const libraryKind = libraryKindOf(bin);
  const manifestKind = o.declaredKind && {
    manifest: o.declaredKind.manifest,
    platform: o.declaredKind.platform,
    declared: o.declaredKind.kind,
    explicit: o.declaredKind.explicit,
    required: libraryKind,
    ok: o.declaredKind.kind === libraryKind,
  };
  if (manifestKind && !manifestKind.ok) {
    const how = manifestKind.explicit ? 'declares' : 'declares nothing, so defaults to';
    const zhHow = manifestKind.explicit ? '声明为' : '未声明，默认为';
    warnings.push({
      code: 'LIBRARY_KIND_MISMATCH',
      en:
        `the manifest ${how} "${manifestKind.declared}" for ${manifestKind.platform}, ` +
        `but this file is ${libraryKind}: ` +
        `set "libraryKind": {"${manifestKind.platform}": "${libraryKind}"} or the driver host fails to load it`,
      zh:
        `清单对 ${manifestKind.platform} ${zhHow} "${manifestKind.declared}"，但此文件是 ${libraryKind}：` +
        `请设置 "libraryKind": {"${manifestKind.platform}": "${libraryKind}"}，否则驱动宿主无法加载`,
    });
  }
  const conventionMismatches: InspectReport['conventionMismatches'] = [];
  if (x86) {
    for (const f of m.functions) {
      const p = f.present ? poppedOf(f.exportName) : undefined;
      if (!p) continue;
      const expectedBytes = expectedStdcallBytes(INTERFACE_BY_NAME.get(f.name)!.params.length);
      const ok = p.kind === 'unknown' ? null : p.kind === 'stdcall' && p.bytes === expectedBytes;
      f.popped = { ...p, expectedBytes, ok };
      if (ok === false) {
        conventionMismatches.push({
          interfaceName: f.name,
          exportName: f.exportName!,
          popped: describePopped(p),
          expectedBytes,
        });
        warnings.push({
          code: 'CALLING_CONVENTION_MISMATCH',
          en: `${f.name} is bound to ${f.exportName}, whose code ends in ${describePopped(p)}; the interface needs __stdcall popping ${expectedBytes} bytes: calling it corrupts the stack`,
          zh: `${f.name} 绑定到 ${f.exportName}，其代码结尾为 ${describePopped(p)}；接口要求 __stdcall 弹出 ${expectedBytes} 字节：调用会破坏栈`,
        });
      }
    }
  }
  // Code that pops the wrong bytes makes a card type as unusable as a wrong decoration does.
  for (const c of m.cardTypes) {
    const bad = m.functions.filter(
      (f) =>
        f.cardType === c.cardType &&
        f.group === 'core' &&
        f.popped?.ok === false &&
        !c.stdcallMismatch.includes(f.name),
    );
    if (bad.length) {
      c.stdcallMismatch.push(...bad.map((f) => f.name));
      c.complete = false;
    }
  }
  // mingw with both __declspec(dllexport) and a .def exports `Name` and `Name@N` for one function:
  // an alias of a bound export is neither "other" nor a suggestion candidate.
  const boundAddresses = new Set(
    exports.filter((e) => e.name !== null && m.used.has(e.name) && e.address !== undefined).map((e) => e.address),
  );
  const aliases = exports.filter(
    (e) => e.name !== null && !m.used.has(e.name) && e.address !== undefined && boundAddresses.has(e.address),
  );
  const others = exports.filter((e) => (e.name === null || !m.used.has(e.name)) && !aliases.includes(e));
  const suggestions = x86 ? suggestSymbols(m.functions, others, (e) => poppedOf(e.name ?? undefined), o.cardTypes) : [];
  const unverified = m.functions.filter((f) => f.present && !f.stdcall && (!f.popped || f.popped.ok === null));
  if (x86 && unverified.length) {
    warnings.push({
      code: 'CALLING_CONVENTION_UNVERIFIED',
      en: `the code of ${unverified.map((f) => f.exportName).join(', ')} does not show the bytes popped: __stdcall (the interface requires it) is not verified`,
      zh: `${unverified.map((f) => f.exportName).join('、')} 的代码无法看出弹出的字节数：未能证实为 __stdcall（接口要求 __stdcall）`,
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
    libraryKind,
    ...(manifestKind ? { manifestKind } : {}),
    exportSource: bin.exportSource,
    exports: exports.map(({ dec, ...e }, i) => {
      const p = popped?.get(bin.exports[i]!);
      return {
        ...e,
        undecorated: dec ? dec.base : null,
        ...(dec?.argBytes !== undefined ? { stdcallBytes: dec.argBytes } : {}),
        ...(p && x86 ? { popped: p } : {}),
      };
    }),
    functions: m.functions,
    present: m.functions.filter((f) => f.present).map((f) => f.name),
    missing: m.functions.filter((f) => !f.present).map((f) => f.name),
    cardTypes: m.cardTypes,
    completeCardTypes: m.cardTypes.filter((c) => c.complete).map((c) => c.cardType),
    stdcallMismatches: m.functions
      .filter((f) => f.stdcall && !f.stdcall.ok)
      .map((f) => ({
        interfaceName: f.name,
        exportName: f.exportName!,
        declaredBytes: f.stdcall!.declaredBytes,
        expectedBytes: f.stdcall!.expectedBytes,
      })),
    conventionMismatches,
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

const KIND_TEXT: Record<LibraryKind, string> = {
  native: 'native（原生代码，由 Node 驱动宿主经 koffi 加载 / native code, loaded by the Node driver host via koffi）',
  dotnet: 'dotnet（.NET 程序集，须经 .NET 桥接加载 / .NET assembly, needs the .NET bridge）',
};

/** Human-readable report: Chinese first, English alongside (CONTRIBUTING.md). */
export function formatReport(r: InspectReport): string {
  const out: string[] = [];
  const kind = r.format.startsWith('PE')
    ? r.isLibrary
      ? 'Windows DLL'
      : 'Windows EXE'
    : r.isLibrary
      ? 'shared object'
      : 'ELF (not a shared object)';
  out.push(`文件 File: ${r.file ?? '(buffer)'}  (${r.size} 字节 bytes, sha256 ${r.sha256.slice(0, 16)}…)`);
  out.push(
    `格式 Format: ${r.format} ${kind}${r.dotNet ? ' (.NET)' : ''}, ${r.machine.name}, ${r.bits} 位 / ${r.bits}-bit, ${r.endianness === 'little' ? '小端 little-endian' : '大端 big-endian'}`,
  );
  if (r.libraryName) out.push(`库名 Library name: ${r.libraryName}`);
  out.push(`库类型 Library kind: ${KIND_TEXT[r.libraryKind]}`);
  if (r.manifestKind) {
    const k = r.manifestKind;
    const declared = `${k.declared}${k.explicit ? '' : ' (默认 default)'}`;
    out.push(
      `  清单 Manifest ${k.manifest} [${k.platform}]: 声明 declares ${declared}, 须为 must be ${k.required}  ` +
        (k.ok ? '✓' : '✗ 不符 MISMATCH'),
    );
  }
  out.push(`导出 Exports: ${r.exports.length}  — ${SOURCE_TEXT[r.exportSource]}`);
  out.push('');
  out.push(`卡类型 Card types (核心 5 个函数 / 5 core functions):`);
  for (const c of r.cardTypes) {
    const parts: string[] = [];
    if (c.missing.length) parts.push(`缺 missing: ${c.missing.join(', ')}`);
    if (c.stdcallMismatch.length) parts.push(`stdcall 字节数不符 mismatch: ${c.stdcallMismatch.join(', ')}`);
    const state = c.complete
      ? '完整 complete'
      : c.present.length
        ? `不完整 incomplete, ${parts.join('; ')}`
        : '未实现 none';
    out.push(`  ${c.cardType.padEnd(5)} ${c.present.length}/${c.present.length + c.missing.length}  ${state}`);
  }
  out.push(
    `完整的卡类型 Complete card types: ${r.completeCardTypes.length ? r.completeCardTypes.join(', ') : '无 none'}`,
  );
  out.push('');
  out.push('接口函数 Interface functions:');
  for (const f of r.functions) {
    const tag = f.group === 'core' ? '核心 core' : '扩展 ext ';
    let line = `  ${f.present ? '✓' : '✗'} ${tag}  ${f.name}`;
    if (f.present && f.exportName !== f.name)
      line += `  ← ${f.exportName}${f.via === 'symbol-map' ? ' (符号映射 symbol map)' : ''}`;
    if (!f.present && f.mappedTo) line += `  (映射到 mapped to ${f.mappedTo}：未导出 not exported)`;
    if (f.stdcall)
      line += f.stdcall.ok
        ? `  [stdcall @${f.stdcall.declaredBytes} ✓]`
        : `  [stdcall @${f.stdcall.declaredBytes} ≠ ${f.stdcall.expectedBytes} ✗]`;
    if (f.popped) {
      const mark = f.popped.ok === null ? '?' : f.popped.ok ? '✓' : `≠ ${f.popped.expectedBytes} ✗`;
      line += `  [代码 code: ${describePopped(f.popped)} ${mark}]`;
    }
    out.push(line);
  }
  if (r.stdcallMismatches.length) {
    out.push('');
    out.push(
      'stdcall 参数字节数不符 stdcall argument-byte mismatch (参数个数与 gascard.h 不同 / parameter count differs from gascard.h):',
    );
    for (const s of r.stdcallMismatches)
      out.push(
        `  ${s.exportName}: 声明 declares ${s.declaredBytes}, 应为 expected ${s.expectedBytes} (${s.interfaceName})`,
      );
  }
  if (r.conventionMismatches.length) {
    out.push('');
    out.push("调用约定不符 Calling-convention mismatch (按代码中的 ret 指令 / from the code's ret instruction):");
    for (const c of r.conventionMismatches)
      out.push(`  ${c.exportName}: ${c.popped}, 应为 expected ret ${c.expectedBytes} (${c.interfaceName})`);
  }
  out.push('');
  out.push(`其他导出 Other exports (${r.otherExports.length}): ${r.otherExports.length ? '' : '无 none'}`);
  for (const e of r.otherExports.slice(0, 200)) out.push(`  ${e}`);
  if (r.otherExports.length > 200)
    out.push(
      `  … 另 ${r.otherExports.length - 200} 个 / ${r.otherExports.length - 200} more (--json 查看全部 / for all)`,
    );
  if (r.suggestions.length) {
    out.push('');
    out.push(
      '建议的符号映射（仅为建议：只列出代码弹出字节数与接口相符的导出，按名称排序；参数类型未核对，须对照厂家文档确认）',
    );
    out.push(
      "Suggested symbol map (SUGGESTIONS ONLY: only exports whose code pops the bytes the interface needs, ranked by name; parameter types not checked — confirm with the maker's documentation):",
    );
    for (const s of r.suggestions) {
      const alt = s.alternatives.length ? `; 其他候选 alternatives: ${s.alternatives.join(', ')}` : '';
      out.push(
        `  "${s.interfaceName}": "${s.exportName}"   (${s.score.toFixed(2)}; ${s.reason.zh} / ${s.reason.en}${alt})`,
      );
    }
    out.push(`  manifest "symbols": ${JSON.stringify(r.suggestedSymbols)}`);
  }
  if (r.warnings.length) {
    out.push('');
    out.push('注意 Warnings:');
    for (const w of r.warnings) out.push(`  [${w.code}] ${w.zh} / ${w.en}`);
  }
  out.push('');
  out.push(
    `本机加载 This host (${r.loadability.host.platform}-${r.loadability.host.arch}): ${VERDICT_TEXT[r.loadability.verdict]}`,
  );
  out.push(`  ${r.loadability.zh}`);
  out.push(`  ${r.loadability.en}`);
  return out.join('\n');
}
