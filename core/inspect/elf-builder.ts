/**
 * Test-only writer for minimal ELF shared objects of any class and byte order, for the combinations the
 * host's gcc cannot produce (ELF32, big-endian). Output is checked with binutils readelf in the tests,
 * so the parser is never only compared with this writer. Layout: one PT_LOAD over the whole file
 * (vaddr = offset), PT_DYNAMIC, .dynstr, .dynsym, SysV .hash, .dynamic, .text, optional section headers.
 */
export interface ElfSymbolSpec {
  name: string;
  type: 'FUNC' | 'OBJECT' | 'NOTYPE';
  bind: 'GLOBAL' | 'WEAK' | 'LOCAL';
  defined: boolean;
  hidden?: boolean;
}

export interface ElfSpec {
  bits: 32 | 64;
  endian: 'little' | 'big';
  machine: number;
  symbols: ElfSymbolSpec[];
  soname?: string;
  /** Section header table (default true). */
  sections?: boolean;
  /**
   * Point DT_GNU_HASH (instead of DT_HASH) at a GNU hash table appended at the very end of the file.
   * 'unterminated' leaves the last chain word without its end bit, so a reader that trusts the chain
   * would walk off the end of the file.
   */
  gnuHash?: 'ok' | 'unterminated';
}

/** dl_new_hash from glibc: h = h * 33 + c, starting at 5381. */
function gnuHashOf(name: string): number {
  let h = 5381;
  for (const c of Buffer.from(name, 'latin1')) h = (Math.imul(h, 33) + c) >>> 0;
  return h;
}

const TYPE = { NOTYPE: 0, OBJECT: 1, FUNC: 2 } as const;
const BIND = { LOCAL: 0, GLOBAL: 1, WEAK: 2 } as const;
const align = (n: number, a: number) => Math.ceil(n / a) * a;

export function buildElf(input: ElfSpec): Buffer {
  // gABI: local symbols precede the others in a symbol table, and sh_info counts them (+ the null entry).
  const spec = {
    ...input,
    symbols: [...input.symbols].sort((a, b) => Number(b.bind === 'LOCAL') - Number(a.bind === 'LOCAL')),
  };
  const firstGlobal = 1 + spec.symbols.filter((s) => s.bind === 'LOCAL').length;
  const is64 = spec.bits === 64;
  const le = spec.endian === 'little';
  const W = is64 ? 8 : 4;
  const ehsize = is64 ? 64 : 52;
  const phentsize = is64 ? 56 : 32;
  const symentsize = is64 ? 24 : 16;
  const shentsize = is64 ? 64 : 40;
  const withSections = spec.sections !== false;

  // String table: "\0", soname, names.
  const strParts: string[] = [''];
  const strIndex = new Map<string, number>();
  let strLen = 1;
  for (const s of [...(spec.soname ? [spec.soname] : []), ...spec.symbols.map((x) => x.name)]) {
    if (strIndex.has(s)) continue;
    strIndex.set(s, strLen);
    strParts.push(s);
    strLen += Buffer.byteLength(s) + 1;
  }
  const dynstr = Buffer.from(strParts.join('\0') + '\0', 'latin1');
  const nsyms = spec.symbols.length + 1;
  const dynEntries = 6 + (spec.soname ? 1 : 0) + 1;
  const shstr = Buffer.from('\0.dynstr\0.dynsym\0.hash\0.dynamic\0.text\0.shstrtab\0', 'latin1');
  const shName = (n: string) => shstr.indexOf(Buffer.from(`\0${n}\0`, 'latin1')) + 1;

  const offPh = ehsize;
  const offDynstr = offPh + 2 * phentsize;
  const offDynsym = align(offDynstr + dynstr.length, 8);
  const offHash = align(offDynsym + nsyms * symentsize, 4);
  const hashSize = (2 + 1 + nsyms) * 4;
  const offDynamic = align(offHash + hashSize, 8);
  const dynSize = dynEntries * 2 * W;
  const offText = align(offDynamic + dynSize, 16);
  const textSize = 16 * Math.max(1, spec.symbols.length);
  const offShstr = offText + textSize;
  const offSh = align(offShstr + shstr.length, 8);
  const endOfTables = withSections ? offSh + 7 * shentsize : offShstr + shstr.length;
  // GNU hash: nbuckets=1, symoffset=1, one all-ones bloom word, bucket[0]=1, one chain word per symbol.
  const offGnu = align(endOfTables, 8);
  const total = spec.gnuHash ? offGnu + 16 + W + 4 + (nsyms - 1) * 4 : endOfTables;

  const b = Buffer.alloc(total);
  const u16 = (o: number, v: number) => (le ? b.writeUInt16LE(v, o) : b.writeUInt16BE(v, o));
  const u32 = (o: number, v: number) => (le ? b.writeUInt32LE(v, o) : b.writeUInt32BE(v, o));
  const word = (o: number, v: number) =>
    is64 ? (le ? b.writeBigUInt64LE(BigInt(v), o) : b.writeBigUInt64BE(BigInt(v), o)) : u32(o, v);

  b.set([0x7f, 0x45, 0x4c, 0x46, is64 ? 2 : 1, le ? 1 : 2, 1, 0], 0);
  u16(16, 3); // ET_DYN
  u16(18, spec.machine);
  u32(20, 1);
  word(24, 0); // e_entry
  word(24 + W, offPh);
  word(24 + 2 * W, withSections ? offSh : 0);
  const o = 24 + 3 * W;
  u32(o, 0); // e_flags
  u16(o + 4, ehsize);
  u16(o + 6, phentsize);
  u16(o + 8, 2);
  u16(o + 10, withSections ? shentsize : 0);
  u16(o + 12, withSections ? 7 : 0);
  u16(o + 14, withSections ? 6 : 0);

  const phdr = (i: number, type: number, offset: number, size: number, flags: number) => {
    const p = offPh + i * phentsize;
    u32(p, type);
    if (is64) {
      u32(p + 4, flags);
      word(p + 8, offset);
      word(p + 16, offset);
      word(p + 24, offset);
      word(p + 32, size);
      word(p + 40, size);
      word(p + 48, type === 1 ? 0x1000 : 8);
    } else {
      u32(p + 4, offset);
      u32(p + 8, offset);
      u32(p + 12, offset);
      u32(p + 16, size);
      u32(p + 20, size);
      u32(p + 24, flags);
      u32(p + 28, type === 1 ? 0x1000 : 4);
    }
  };
  phdr(0, 1, 0, total, 5); // PT_LOAD R+X
  phdr(1, 2, offDynamic, dynSize, 6); // PT_DYNAMIC

  dynstr.copy(b, offDynstr);
  spec.symbols.forEach((s, i) => {
    const p = offDynsym + (i + 1) * symentsize;
    const info = (BIND[s.bind] << 4) | TYPE[s.type];
    const other = s.hidden ? 2 : 0;
    const shndx = s.defined ? 5 : 0; // .text
    const value = s.defined ? offText + i * 16 : 0;
    u32(p, strIndex.get(s.name)!);
    if (is64) {
      b[p + 4] = info;
      b[p + 5] = other;
      u16(p + 6, shndx);
      word(p + 8, value);
      word(p + 16, s.defined ? 16 : 0);
    } else {
      u32(p + 4, value);
      u32(p + 8, s.defined ? 16 : 0);
      b[p + 12] = info;
      b[p + 13] = other;
      u16(p + 14, shndx);
    }
  });

  // SysV hash: one bucket, all symbols on one chain (valid, just slow for a loader).
  u32(offHash, 1);
  u32(offHash + 4, nsyms);
  u32(offHash + 8, nsyms - 1);
  for (let i = 0; i < nsyms; i++) u32(offHash + 12 + i * 4, i === 0 ? 0 : i - 1);

  if (spec.gnuHash) {
    u32(offGnu, 1);
    u32(offGnu + 4, 1);
    u32(offGnu + 8, 1);
    u32(offGnu + 12, 6);
    b.fill(0xff, offGnu + 16, offGnu + 16 + W);
    u32(offGnu + 16 + W, nsyms > 1 ? 1 : 0);
    spec.symbols.forEach((sym, i) => {
      const last = i === spec.symbols.length - 1;
      const end = last && spec.gnuHash === 'ok' ? 1 : 0;
      u32(offGnu + 20 + W + i * 4, ((gnuHashOf(sym.name) & ~1) | end) >>> 0);
    });
  }

  const dyn: Array<[number, number]> = [
    ...(spec.soname ? ([[14, strIndex.get(spec.soname)!]] as Array<[number, number]>) : []),
    [spec.gnuHash ? 0x6ffffef5 : 4, spec.gnuHash ? offGnu : offHash],
    [5, offDynstr],
    [6, offDynsym],
    [10, dynstr.length],
    [11, symentsize],
    [0, 0],
  ];
  dyn.forEach(([tag, val], i) => {
    word(offDynamic + i * 2 * W, tag);
    word(offDynamic + i * 2 * W + W, val);
  });
  b.fill(0xc3, offText, offText + textSize);
  shstr.copy(b, offShstr);

  if (withSections) {
    const sh = (
      i: number,
      name: number,
      type: number,
      flags: number,
      offset: number,
      size: number,
      link: number,
      info: number,
      al: number,
      ent: number,
    ) => {
      const p = offSh + i * shentsize;
      u32(p, name);
      u32(p + 4, type);
      if (is64) {
        word(p + 8, flags);
        word(p + 16, offset);
        word(p + 24, offset);
        word(p + 32, size);
        u32(p + 40, link);
        u32(p + 44, info);
        word(p + 48, al);
        word(p + 56, ent);
      } else {
        u32(p + 8, flags);
        u32(p + 12, offset);
        u32(p + 16, offset);
        u32(p + 20, size);
        u32(p + 24, link);
        u32(p + 28, info);
        u32(p + 32, al);
        u32(p + 36, ent);
      }
    };
    sh(1, shName('.dynstr'), 3, 2, offDynstr, dynstr.length, 0, 0, 1, 0);
    sh(2, shName('.dynsym'), 11, 2, offDynsym, nsyms * symentsize, 1, firstGlobal, 8, symentsize);
    sh(3, shName('.hash'), 5, 2, offHash, hashSize, 2, 0, 4, 4);
    sh(4, shName('.dynamic'), 6, 3, offDynamic, dynSize, 1, 0, 8, 2 * W);
    sh(5, shName('.text'), 1, 6, offText, textSize, 0, 0, 16, 0);
    sh(6, shName('.shstrtab'), 3, 0, offShstr, shstr.length, 0, 0, 1, 0);
  }
  return b;
}
