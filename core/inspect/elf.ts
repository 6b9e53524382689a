/**
 * ELF32/ELF64 reader (either endianness): the dynamic symbols a shared object exports.
 * Prefers the section headers (.dynsym + its linked string table); when they are missing or stripped
 * (sstrip, some vendor packers) it falls back to PT_DYNAMIC: DT_SYMTAB/DT_STRTAB, with the symbol count
 * taken from DT_HASH (nchain) or DT_GNU_HASH (walking the last bucket's chain).
 * Layout: System V gABI "Object Files" chapter; GNU hash: binutils bfd/elflink.c.
 */
import { ByteReader, corrupt, type Endianness } from './bytes.ts';
import { elfMachine } from './machines.ts';
import type { ExportedSymbol, ExportSource, Notice, ParsedBinary } from './types.ts';

const ET_DYN = 3;
const SHT_DYNSYM = 11;
const PT_LOAD = 1;
const PT_DYNAMIC = 2;
const DT_NULL = 0;
const DT_HASH = 4;
const DT_STRTAB = 5;
const DT_SYMTAB = 6;
const DT_STRSZ = 10;
const DT_SYMENT = 11;
const DT_SONAME = 14;
const DT_GNU_HASH = 0x6ffffef5;
const SHN_UNDEF = 0;
const SHN_XINDEX = 0xffff;

interface Header {
  r: ByteReader;
  is64: boolean;
  type: number;
  machine: number;
  phoff: number;
  phentsize: number;
  phnum: number;
  shoff: number;
  shentsize: number;
  shnum: number;
}

interface SymbolTable {
  symOffset: number;
  count: number;
  entSize: number;
  strOffset: number;
  strSize: number;
}

export function isElf(buf: Buffer): boolean {
  return buf.length >= 4 && buf[0] === 0x7f && buf[1] === 0x45 && buf[2] === 0x4c && buf[3] === 0x46;
}

function readHeader(buf: Buffer): Header {
  if (buf.length < 16) throw corrupt('ELF identification is truncated', 'ELF 标识被截断');
  const cls = buf[4];
  const data = buf[5];
  if (cls !== 1 && cls !== 2) throw corrupt(`unknown ELF class ${cls}`, `未知的 ELF 类别 ${cls}`);
  if (data !== 1 && data !== 2) throw corrupt(`unknown ELF data encoding ${data}`, `未知的 ELF 字节序 ${data}`);
  const is64 = cls === 2;
  const endian: Endianness = data === 1 ? 'little' : 'big';
  const r = new ByteReader(buf, endian);
  r.need(0, is64 ? 64 : 52, 'ELF header');
  const h: Header = {
    r,
    is64,
    type: r.u16(16),
    machine: r.u16(18),
    phoff: r.word(is64 ? 32 : 28, is64, 'e_phoff'),
    shoff: r.word(is64 ? 40 : 32, is64, 'e_shoff'),
    phentsize: r.u16(is64 ? 54 : 42),
    phnum: r.u16(is64 ? 56 : 44),
    shentsize: r.u16(is64 ? 58 : 46),
    shnum: r.u16(is64 ? 60 : 48),
  };
  return h;
}

interface SectionHeader {
  type: number;
  offset: number;
  size: number;
  link: number;
  entsize: number;
}

function readSections(h: Header, warnings: Notice[]): SectionHeader[] {
  const { r, is64 } = h;
  if (h.shoff === 0) return [];
  const minEnt = is64 ? 64 : 40;
  if (h.shentsize < minEnt || !r.has(h.shoff, minEnt)) {
    warnings.push({
      code: 'ELF_BAD_SECTIONS',
      en: 'section header table is damaged; using the dynamic segment',
      zh: '节头表已损坏；改用动态段',
    });
    return [];
  }
  const at = (i: number): SectionHeader => {
    const o = h.shoff + i * h.shentsize;
    r.need(o, minEnt, `section header #${i}`);
    return {
      type: r.u32(o + 4),
      offset: r.word(o + (is64 ? 24 : 16), is64),
      size: r.word(o + (is64 ? 32 : 20), is64),
      link: r.u32(o + (is64 ? 40 : 24)),
      entsize: r.word(o + (is64 ? 56 : 36), is64),
    };
  };
  // e_shnum == 0 with a table present means "more than 0xff00 sections": the real count is in sh_size of entry 0.
  let count = h.shnum;
  if (count === 0 || count === SHN_XINDEX) count = at(0).size;
  if (!r.has(h.shoff, count * h.shentsize)) {
    warnings.push({
      code: 'ELF_BAD_SECTIONS',
      en: 'section header table runs past the end of the file; using the dynamic segment',
      zh: '节头表超出文件末尾；改用动态段',
    });
    return [];
  }
  const out: SectionHeader[] = [];
  for (let i = 0; i < count; i++) out.push(at(i));
  return out;
}

function tableFromSections(h: Header, sections: SectionHeader[]): SymbolTable | null {
  const dynsym = sections.find((s) => s.type === SHT_DYNSYM);
  if (!dynsym) return null;
  const str = sections[dynsym.link];
  const entSize = dynsym.entsize || (h.is64 ? 24 : 16);
  if (!str || entSize < (h.is64 ? 24 : 16))
    throw corrupt('.dynsym has no valid string table or entry size', '.dynsym 缺少有效的字符串表或表项大小');
  h.r.need(dynsym.offset, dynsym.size, '.dynsym');
  h.r.need(str.offset, str.size, '.dynstr');
  return {
    symOffset: dynsym.offset,
    count: Math.floor(dynsym.size / entSize),
    entSize,
    strOffset: str.offset,
    strSize: str.size,
  };
}

interface Segment {
  type: number;
  offset: number;
  vaddr: number;
  filesz: number;
}

function readSegments(h: Header): Segment[] {
  const { r, is64 } = h;
  if (h.phoff === 0 || h.phnum === 0) return [];
  const minEnt = is64 ? 56 : 32;
  if (h.phentsize < minEnt)
    throw corrupt(`program header entry size ${h.phentsize} is too small`, `程序头表项大小 ${h.phentsize} 过小`);
  r.need(h.phoff, h.phnum * h.phentsize, 'program header table');
  const out: Segment[] = [];
  for (let i = 0; i < h.phnum; i++) {
    const o = h.phoff + i * h.phentsize;
    out.push(
      is64
        ? { type: r.u32(o), offset: r.u64(o + 8), vaddr: r.u64(o + 16), filesz: r.u64(o + 32) }
        : { type: r.u32(o), offset: r.u32(o + 4), vaddr: r.u32(o + 8), filesz: r.u32(o + 16) },
    );
  }
  return out;
}

interface DynamicInfo {
  entries: Map<number, number>;
  toOffset: (vaddr: number) => number | null;
}

function readDynamic(h: Header, segments: Segment[]): DynamicInfo | null {
  const { r, is64 } = h;
  const dyn = segments.find((s) => s.type === PT_DYNAMIC);
  if (!dyn) return null;
  const loads = segments.filter((s) => s.type === PT_LOAD);
  const toOffset = (vaddr: number): number | null => {
    for (const s of loads) {
      if (vaddr >= s.vaddr && vaddr < s.vaddr + s.filesz) return s.offset + (vaddr - s.vaddr);
    }
    return null;
  };
  const entSize = is64 ? 16 : 8;
  r.need(dyn.offset, dyn.filesz, 'PT_DYNAMIC');
  const entries = new Map<number, number>();
  // Bounded by the segment's file size; DT_NULL ends it early.
  for (let o = dyn.offset; o + entSize <= dyn.offset + dyn.filesz; o += entSize) {
    const tag = r.word(o, is64, 'd_tag');
    if (tag === DT_NULL) break;
    if (!entries.has(tag)) entries.set(tag, r.word(o + entSize / 2, is64, 'd_val'));
  }
  return { entries, toOffset };
}

/** Number of symbols in DT_GNU_HASH's table: one past the highest index any bucket chain reaches. */
function gnuHashCount(r: ByteReader, off: number, is64: boolean): number {
  const nbuckets = r.u32(off, 'GNU hash nbuckets');
  const symoffset = r.u32(off + 4, 'GNU hash symoffset');
  const bloomSize = r.u32(off + 8, 'GNU hash bloom size');
  const bucketsOff = off + 16 + bloomSize * (is64 ? 8 : 4);
  r.need(bucketsOff, nbuckets * 4, 'GNU hash buckets');
  let max = 0;
  for (let i = 0; i < nbuckets; i++) max = Math.max(max, r.u32(bucketsOff + i * 4));
  if (max === 0) return symoffset;
  if (max < symoffset) throw corrupt('GNU hash bucket points below symoffset', 'GNU 哈希桶指向 symoffset 之前');
  const chainsOff = bucketsOff + nbuckets * 4;
  // Every step reads 4 more bytes of the file, so the walk ends at the file's end at the latest.
  for (let idx = max; ; idx++) {
    const word = r.u32(chainsOff + (idx - symoffset) * 4, 'GNU hash chain');
    if (word & 1) return idx + 1;
  }
}

function tableFromDynamic(h: Header, info: DynamicInfo): { table: SymbolTable; source: ExportSource } | null {
  const { r, is64 } = h;
  const e = info.entries;
  const symtab = e.get(DT_SYMTAB);
  const strtab = e.get(DT_STRTAB);
  if (symtab === undefined || strtab === undefined) return null;
  const symOffset = info.toOffset(symtab);
  const strOffset = info.toOffset(strtab);
  if (symOffset === null || strOffset === null)
    throw corrupt('DT_SYMTAB/DT_STRTAB point outside every loaded segment', 'DT_SYMTAB/DT_STRTAB 指向所有可加载段之外');
  const entSize = e.get(DT_SYMENT) ?? (is64 ? 24 : 16);
  if (entSize < (is64 ? 24 : 16)) throw corrupt(`DT_SYMENT ${entSize} is too small`, `DT_SYMENT ${entSize} 过小`);
  const strSize = Math.min(e.get(DT_STRSZ) ?? r.size - strOffset, r.size - strOffset);
  let count: number;
  let source: ExportSource;
  const gnu = e.get(DT_GNU_HASH);
  const sysv = e.get(DT_HASH);
  if (gnu !== undefined) {
    const off = info.toOffset(gnu);
    if (off === null) throw corrupt('DT_GNU_HASH points outside the file', 'DT_GNU_HASH 指向文件之外');
    count = gnuHashCount(r, off, is64);
    source = 'elf-dynamic-gnu-hash';
  } else if (sysv !== undefined) {
    const off = info.toOffset(sysv);
    if (off === null) throw corrupt('DT_HASH points outside the file', 'DT_HASH 指向文件之外');
    count = r.u32(off + 4, 'DT_HASH nchain');
    source = 'elf-dynamic-hash';
  } else {
    return null;
  }
  r.need(symOffset, count * entSize, 'dynamic symbol table');
  return { table: { symOffset, count, entSize, strOffset, strSize }, source };
}

function readSymbols(h: Header, t: SymbolTable): ExportedSymbol[] {
  const { r, is64 } = h;
  r.need(t.symOffset, t.count * t.entSize, 'dynamic symbol table');
  const out: ExportedSymbol[] = [];
  const seen = new Set<string>();
  for (let i = 1; i < t.count; i++) {
    const o = t.symOffset + i * t.entSize;
    const nameOff = r.u32(o);
    const info = r.u8(o + (is64 ? 4 : 12));
    const other = r.u8(o + (is64 ? 5 : 13));
    const shndx = r.u16(o + (is64 ? 6 : 14));
    const value = is64 ? r.u64Lossy(o + 8) : r.u32(o + 4);
    const bind = info >> 4;
    const type = info & 0xf;
    const visibility = other & 3;
    if (shndx === SHN_UNDEF) continue; // imported, not exported
    if (visibility === 1 || visibility === 2) continue; // internal / hidden
    const binding = bind === 1 ? 'GLOBAL' : bind === 2 ? 'WEAK' : bind === 10 ? 'UNIQUE' : null;
    const kind = type === 2 ? 'FUNC' : type === 1 ? 'OBJECT' : type === 10 ? 'IFUNC' : null;
    if (!binding || !kind) continue;
    const name = nameOff < t.strSize ? r.cstring(t.strOffset + nameOff, t.strOffset + t.strSize) : null;
    if (!name || seen.has(name)) continue; // versioned duplicates appear once
    seen.add(name);
    out.push({ name, address: value, type: kind, binding });
  }
  return out;
}

const segmentsPresent = (h: Header): boolean => h.phoff !== 0 && h.phnum !== 0;

export function parseElf(buf: Buffer): ParsedBinary {
  const warnings: Notice[] = [];
  const h = readHeader(buf);
  const bits = h.is64 ? 64 : 32;
  const sections = readSections(h, warnings);
  let table: SymbolTable | null = null;
  try {
    table = tableFromSections(h, sections);
  } catch (e) {
    // A damaged .dynsym section header still leaves the dynamic segment, which is what the loader uses.
    warnings.push({
      code: 'ELF_BAD_SECTIONS',
      en: '.dynsym section header is damaged; using the dynamic segment',
      zh: '.dynsym 节头已损坏；改用动态段',
    });
    if (!segmentsPresent(h)) throw e;
  }
  let source: ExportSource = table ? 'elf-section-dynsym' : 'elf-none';
  let dynamic: DynamicInfo | null = null;
  try {
    dynamic = readDynamic(h, readSegments(h));
  } catch (e) {
    // Damaged program headers only matter when the sections cannot give us the symbols.
    if (!table) throw e;
    warnings.push({
      code: 'ELF_BAD_DYNAMIC',
      en: 'program headers are damaged; used the section headers',
      zh: '程序头已损坏；已使用节头',
    });
  }
  if (!table && dynamic) {
    const fromDyn = tableFromDynamic(h, dynamic);
    if (fromDyn) {
      table = fromDyn.table;
      source = fromDyn.source;
    }
  }
  let libraryName: string | undefined;
  const soname = dynamic?.entries.get(DT_SONAME);
  const strtab = dynamic?.entries.get(DT_STRTAB);
  if (dynamic && soname !== undefined && strtab !== undefined) {
    const off = dynamic.toOffset(strtab);
    libraryName = (off !== null ? h.r.cstring(off + soname) : null) ?? undefined;
  }
  if (h.type !== ET_DYN) {
    warnings.push({
      code: 'ELF_NOT_SHARED',
      en: `ELF type ${h.type} is not a shared object (ET_DYN)`,
      zh: `ELF 类型 ${h.type} 不是共享库（ET_DYN）`,
    });
  }
  return {
    format: h.is64 ? 'ELF64' : 'ELF32',
    machine: elfMachine(h.machine, bits, h.r.endian),
    bits,
    endianness: h.r.endian,
    isLibrary: h.type === ET_DYN,
    ...(libraryName !== undefined ? { libraryName } : {}),
    exports: table ? readSymbols(h, table) : [],
    exportSource: source,
    warnings,
  };
}
