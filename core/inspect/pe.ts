/**
 * PE32 / PE32+ reader: headers, section table and the export directory (names, ordinals, forwarders).
 * Layout: Microsoft PE/COFF specification, "Optional Header Data Directories" and "The .edata Section".
 */
import { ByteReader, corrupt } from './bytes.ts';
import { peMachine } from './machines.ts';
import type { ExportedSymbol, Notice, ParsedBinary } from './types.ts';

const IMAGE_FILE_DLL = 0x2000;
const DIR_EXPORT = 0;
const DIR_CLR = 14;
const SECTION_HEADER_SIZE = 40;
/** The spec caps sections at 96; loaders accept more, but 65535 (the field's max) is already bounded. */
const EXPORT_DIR_SIZE = 40;

interface Section {
  name: string;
  virtualAddress: number;
  virtualSize: number;
  rawOffset: number;
  rawSize: number;
}

export function isPe(buf: Buffer): boolean {
  return buf.length >= 2 && buf[0] === 0x4d && buf[1] === 0x5a; // "MZ"
}

export function parsePe(buf: Buffer): ParsedBinary {
  const r = new ByteReader(buf, 'little');
  const warnings: Notice[] = [];
  const peOffset = r.u32(0x3c, 'DOS header e_lfanew');
  r.need(peOffset, 24, 'PE header');
  if (r.u32(peOffset, 'PE signature') !== 0x00004550) {
    throw corrupt(
      'MZ file without a "PE\\0\\0" signature (DOS program or damaged file)',
      'MZ 文件缺少 "PE\\0\\0" 签名（DOS 程序或文件已损坏）',
    );
  }
  const coff = peOffset + 4;
  const machine = peMachine(r.u16(coff));
  const sectionCount = r.u16(coff + 2);
  const optSize = r.u16(coff + 16);
  const characteristics = r.u16(coff + 18);
  const opt = coff + 20;
  if (optSize < 2)
    throw corrupt(
      'PE file without an optional header (object file, not an image)',
      'PE 文件缺少可选头（目标文件而非映像）',
    );
  r.need(opt, optSize, 'PE optional header');
  const magic = r.u16(opt);
  let is64: boolean;
  if (magic === 0x10b) is64 = false;
  else if (magic === 0x20b) is64 = true;
  else
    throw corrupt(`unknown optional header magic 0x${magic.toString(16)}`, `未知的可选头标识 0x${magic.toString(16)}`);

  const dirCountOffset = is64 ? 108 : 92;
  const dirsOffset = is64 ? 112 : 96;
  const declaredDirs = optSize >= dirCountOffset + 4 ? r.u32(opt + dirCountOffset) : 0;
  // The count is only trusted as far as the optional header actually has room for the entries.
  const dirCount = Math.min(declaredDirs, Math.max(0, Math.floor((optSize - dirsOffset) / 8)), 16);
  const dir = (i: number) =>
    i < dirCount
      ? { rva: r.u32(opt + dirsOffset + i * 8), size: r.u32(opt + dirsOffset + i * 8 + 4) }
      : { rva: 0, size: 0 };
  const sizeOfHeaders = optSize >= 64 ? r.u32(opt + 60) : 0;

  const sectionTable = opt + optSize;
  r.need(sectionTable, sectionCount * SECTION_HEADER_SIZE, 'PE section table');
  const sections: Section[] = [];
  for (let i = 0; i < sectionCount; i++) {
    const s = sectionTable + i * SECTION_HEADER_SIZE;
    sections.push({
      name: buf.toString('latin1', s, s + 8).replace(/\0.*$/s, ''),
      virtualSize: r.u32(s + 8),
      virtualAddress: r.u32(s + 12),
      rawSize: r.u32(s + 16),
      rawOffset: r.u32(s + 20),
    });
  }

  /** RVA → file offset, or null when the RVA has no bytes in the file. */
  const toOffset = (rva: number, length = 1): number | null => {
    if (rva < sizeOfHeaders && r.has(rva, length)) return rva;
    for (const s of sections) {
      const span = Math.max(s.virtualSize, s.rawSize);
      if (rva >= s.virtualAddress && rva < s.virtualAddress + span) {
        const delta = rva - s.virtualAddress;
        if (delta + length > s.rawSize) return null; // uninitialised tail: not in the file
        const off = s.rawOffset + delta;
        return r.has(off, length) ? off : null;
      }
    }
    return null;
  };
  const mustOffset = (rva: number, length: number, what: string): number => {
    const off = toOffset(rva, length);
    if (off === null)
      throw corrupt(
        `${what} (RVA 0x${rva.toString(16)}, ${length} bytes) is not in the file`,
        `${what}（RVA 0x${rva.toString(16)}，${length} 字节）不在文件中`,
        { what, rva, length },
      );
    return off;
  };
  const stringAt = (rva: number, what: string): string => {
    const off = toOffset(rva);
    const s = off === null ? null : r.cstring(off);
    if (s === null)
      throw corrupt(
        `${what} at RVA 0x${rva.toString(16)} is not a terminated string inside the file`,
        `${what}（RVA 0x${rva.toString(16)}）不是文件内以 NUL 结尾的字符串`,
        { what, rva },
      );
    return s;
  };

  const readCode = (rva: number, max: number): Buffer | null => {
    for (const s of sections) {
      if (rva < s.virtualAddress || rva >= s.virtualAddress + Math.max(s.virtualSize, s.rawSize)) continue;
      const delta = rva - s.virtualAddress;
      const len = Math.min(max, s.rawSize - delta, buf.length - (s.rawOffset + delta));
      return len > 0 ? buf.subarray(s.rawOffset + delta, s.rawOffset + delta + len) : null;
    }
    return null;
  };

  const clr = dir(DIR_CLR);
  const exp = dir(DIR_EXPORT);
  const exports: ExportedSymbol[] = [];
  let libraryName: string | undefined;
  if (exp.rva !== 0 && exp.size !== 0) {
    const d = mustOffset(exp.rva, EXPORT_DIR_SIZE, 'export directory');
    const nameRva = r.u32(d + 12);
    const base = r.u32(d + 16);
    const functionCount = r.u32(d + 20);
    const nameCount = r.u32(d + 24);
    const functionsRva = r.u32(d + 28);
    const namesRva = r.u32(d + 32);
    const ordinalsRva = r.u32(d + 36);
    // mustOffset bounds each table by the file size, so the loops below are bounded by it too.
    const eat = functionCount ? mustOffset(functionsRva, functionCount * 4, 'export address table') : 0;
    const names = nameCount ? mustOffset(namesRva, nameCount * 4, 'export name pointer table') : 0;
    const ords = nameCount ? mustOffset(ordinalsRva, nameCount * 2, 'export ordinal table') : 0;
    if (nameRva) {
      const off = toOffset(nameRva);
      libraryName = (off !== null ? r.cstring(off) : null) ?? undefined;
    }

    const namesByIndex = new Map<number, string[]>();
    for (let j = 0; j < nameCount; j++) {
      const name = stringAt(r.u32(names + j * 4), `export name #${j}`);
      const index = r.u16(ords + j * 2);
      if (index >= functionCount) {
        warnings.push({
          code: 'PE_EXPORT_BAD_ORDINAL',
          en: `export "${name}" points past the address table; ignored`,
          zh: `导出名 "${name}" 指向导出地址表之外，已忽略`,
        });
        continue;
      }
      const list = namesByIndex.get(index) ?? [];
      list.push(name);
      namesByIndex.set(index, list);
    }
    for (let i = 0; i < functionCount; i++) {
      const rva = r.u32(eat + i * 4);
      const assigned = namesByIndex.get(i);
      if (rva === 0 && !assigned) continue; // unused ordinal slot
      let forwarder: string | undefined;
      if (rva >= exp.rva && rva < exp.rva + exp.size) {
        const off = toOffset(rva);
        forwarder = (off !== null ? r.cstring(off) : null) ?? undefined;
        if (forwarder === undefined)
          warnings.push({
            code: 'PE_BAD_FORWARDER',
            en: `forwarder of ordinal ${base + i} is unreadable`,
            zh: `序号 ${base + i} 的转发项无法读取`,
          });
      }
      for (const name of assigned ?? [null]) {
        exports.push({ name, ordinal: base + i, ...(forwarder !== undefined ? { forwarder } : { address: rva }) });
      }
    }
  }

  return {
    format: is64 ? 'PE32+' : 'PE32',
    machine,
    bits: is64 ? 64 : 32,
    endianness: 'little',
    isLibrary: (characteristics & IMAGE_FILE_DLL) !== 0,
    ...(libraryName !== undefined ? { libraryName } : {}),
    dotNet: clr.rva !== 0 && clr.size !== 0,
    exports,
    exportSource: exp.rva !== 0 && exp.size !== 0 ? 'pe-export-directory' : 'pe-none',
    readCode,
    warnings,
  };
}
