/**
 * `inspectLibrary`: what a maker's DLL / shared object exports and whether this host can load it —
 * read from the file's bytes, never by loading it (vendor code may crash or hang; CONTRIBUTING.md).
 * Used by `meterhub inspect`, the plugin host, the conformance kit and the ops console.
 */
import { readFileSync, statSync } from 'node:fs';
import type { CardType } from '../cards/card-types.ts';
import { INTERFACE_BY_NAME } from '../driver/interface-functions.ts';
import { isMeterHubError } from '../errors/meterhub-error.ts';
import { corrupt } from './bytes.ts';
import { isElf, parseElf } from './elf.ts';
import { InspectBadFile, InspectBadSymbolMap, InspectFileNotFound } from './errors.ts';
import { currentHost } from './loadability.ts';
import { isPe, parsePe } from './pe.ts';
import { buildReport, type BuildOptions } from './report.ts';
import type { HostInfo, InspectReport, Notice, ParsedBinary } from './types.ts';

export type { InspectReport } from './types.ts';

export interface InspectOptions {
  /** A plugin manifest's `symbols`: interface function name → exported name. */
  symbols?: Record<string, string>;
  /** Limit suggestions to these card types (e.g. the manifest's cardTypes). */
  cardTypes?: readonly CardType[];
  /** The host to judge loadability for; defaults to this process. */
  host?: HostInfo;
  /** A plugin manifest's kind for this library, to be checked against the file's CLR header. */
  declaredKind?: BuildOptions['declaredKind'];
}

/** Real vendor libraries are a few MB; anything this large is not one and is not read into memory. */
export const MAX_LIBRARY_BYTES = 256 * 1024 * 1024;

function readLibraryFile(path: string): Buffer {
  let size: number;
  try {
    const st = statSync(path);
    if (!st.isFile())
      throw InspectFileNotFound({ path }, { zh: `不是普通文件：${path}`, en: `not a regular file: ${path}` });
    size = st.size;
  } catch (e) {
    if (isMeterHubError(e)) throw e;
    throw InspectFileNotFound({ path }, { zh: path, en: `${path} (${(e as NodeJS.ErrnoException).code ?? 'error'})` });
  }
  if (size > MAX_LIBRARY_BYTES) {
    throw InspectBadFile({ path, size }, { zh: `文件过大（${size} 字节）`, en: `file too large (${size} bytes)` });
  }
  try {
    return readFileSync(path);
  } catch (e) {
    throw InspectFileNotFound({ path }, { zh: path, en: `${path} (${(e as NodeJS.ErrnoException).code ?? 'error'})` });
  }
}

/** Checks a symbol map's shape; unknown interface names are kept but warned about. */
export function validateSymbolMap(value: unknown): { symbols: Record<string, string>; warnings: Notice[] } {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw InspectBadSymbolMap(undefined, { zh: '不是 JSON 对象', en: 'not a JSON object' });
  }
  const symbols: Record<string, string> = {};
  const warnings: Notice[] = [];
  for (const [k, v] of Object.entries(value)) {
    if (typeof v !== 'string' || v.length === 0) {
      throw InspectBadSymbolMap(
        { key: k },
        { zh: `"${k}" 的值必须是非空字符串`, en: `the value of "${k}" must be a non-empty string` },
      );
    }
    if (!INTERFACE_BY_NAME.has(k)) {
      warnings.push({
        code: 'SYMBOL_MAP_UNKNOWN_FUNCTION',
        zh: `符号映射中的 "${k}" 不是接口函数`,
        en: `symbol map key "${k}" is not an interface function`,
      });
    }
    symbols[k] = v;
  }
  return { symbols, warnings };
}

export function parseBinary(buf: Buffer): ParsedBinary {
  if (buf.length === 0) throw corrupt('the file is empty', '文件为空');
  try {
    if (isPe(buf)) return parsePe(buf);
    if (isElf(buf)) return parseElf(buf);
  } catch (e) {
    if (isMeterHubError(e)) throw e;
    // A parser bug must still surface as a clean, stable error rather than a crash.
    throw InspectBadFile({ cause: String(e) }, { zh: '解析失败', en: `parse failed: ${String(e)}` });
  }
  const head = buf.subarray(0, 4);
  const machO = [0xfeedface, 0xfeedfacf, 0xcefaedfe, 0xcffaedfe, 0xcafebabe].includes(
    buf.length >= 4 ? buf.readUInt32BE(0) : -1,
  );
  throw corrupt(
    machO
      ? 'Mach-O (macOS) files are not supported; makers ship Windows DLLs or Linux shared objects'
      : `not a PE (MZ) or ELF file (starts with ${head.toString('hex')})`,
    machO
      ? '不支持 Mach-O（macOS）文件；厂家应提供 Windows DLL 或 Linux 共享库'
      : `不是 PE（MZ）或 ELF 文件（开头字节 ${head.toString('hex')}）`,
    { magic: head.toString('hex') },
  );
}

export function inspectLibrary(input: string | Buffer, options: InspectOptions = {}): InspectReport {
  const file = typeof input === 'string' ? input : null;
  const buffer = typeof input === 'string' ? readLibraryFile(input) : input;
  const { symbols, warnings } = validateSymbolMap(options.symbols ?? {});
  const bin = parseBinary(buffer);
  return buildReport(bin, {
    file,
    buffer,
    symbols,
    symbolWarnings: warnings,
    host: options.host ?? currentHost(),
    ...(options.cardTypes ? { cardTypes: options.cardTypes } : {}),
    ...(options.declaredKind ? { declaredKind: options.declaredKind } : {}),
  });
}
