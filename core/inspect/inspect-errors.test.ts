/**
 * Unusable input: empty, text, truncated and corrupted files must end in a MeterHubError
 * (INSPECT_BAD_FILE, Chinese + English), never a crash, a RangeError or a hang.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { isMeterHubError, type MeterHubError } from '../errors/meterhub-error.ts';
import { ByteReader } from './bytes.ts';
import { buildElf } from './elf-builder.ts';
import { inspectLibrary } from './inspect.ts';
import { FIXTURES, SDK_INCLUDE, makeTempDir, run, stripSectionHeaders, tool } from './test-support.ts';

const tmp = makeTempDir();
afterAll(() => tmp.cleanup());
const gcc = tool('gcc', 'gcc');
const mingw32 = tool('i686-w64-mingw32-gcc', 'gcc-mingw-w64-i686');

function errorOf(fn: () => unknown): MeterHubError {
  try {
    fn();
  } catch (e) {
    if (isMeterHubError(e)) return e;
    throw new Error(`expected a MeterHubError, got ${String(e)}`, { cause: e });
  }
  throw new Error('expected an error, got a report');
}

/**
 * Bounds-checked reads the parser made while fn ran. Every read of the file goes through ByteReader.need, so a
 * parser that trusted a corrupt count (2^32-1 names, an endless hash chain) would make billions; one that stops
 * at the end of the file makes at most one per byte. Counted, not timed: the count is the same on a loaded machine.
 */
function readsDuring<T>(fn: () => T): { result: T; reads: number } {
  const spy = vi.spyOn(ByteReader.prototype, 'need');
  try {
    const result = fn();
    return { result, reads: spy.mock.calls.length };
  } finally {
    spy.mockRestore();
  }
}

/** Either a report or INSPECT_BAD_FILE — anything else (RangeError, TypeError, hang) fails. */
function reportOrBadFile(buf: Buffer): 'report' | 'error' {
  try {
    inspectLibrary(buf);
    return 'report';
  } catch (e) {
    if (isMeterHubError(e) && e.code === 'INSPECT_BAD_FILE') return 'error';
    throw e;
  }
}

/** Deterministic PRNG so a failure reproduces. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
}

describe('files that are not libraries', () => {
  it('empty file, text file, directory, missing file, Mach-O: clean bilingual errors', () => {
    const empty = join(tmp.dir, 'empty.dll');
    const text = join(tmp.dir, 'readme.dll');
    writeFileSync(empty, '');
    writeFileSync(text, '这不是 DLL / this is not a DLL\n'.repeat(20));
    for (const p of [empty, text]) {
      const e = errorOf(() => inspectLibrary(p));
      expect(e.code).toBe('INSPECT_BAD_FILE');
      expect(e.zh).toMatch(/[\u4e00-\u9fff]/);
      expect(e.en).toMatch(/Cannot parse/);
    }
    expect(errorOf(() => inspectLibrary(empty)).en).toContain('empty');
    expect(errorOf(() => inspectLibrary(tmp.dir)).code).toBe('INSPECT_FILE_NOT_FOUND');
    expect(errorOf(() => inspectLibrary(join(tmp.dir, 'nope.dll'))).code).toBe('INSPECT_FILE_NOT_FOUND');
    const macho = Buffer.alloc(64);
    macho.writeUInt32BE(0xcffaedfe, 0);
    expect(errorOf(() => inspectLibrary(macho)).en).toContain('Mach-O');
  });

  it('headers that point outside the file', () => {
    const mz = Buffer.alloc(128);
    mz.write('MZ', 0, 'latin1');
    mz.writeUInt32LE(0x7fffffff, 0x3c);
    expect(errorOf(() => inspectLibrary(mz)).code).toBe('INSPECT_BAD_FILE');
    mz.writeUInt32LE(0x40, 0x3c); // points at zeros: no PE signature
    expect(errorOf(() => inspectLibrary(mz)).en).toContain('PE\\0\\0');
    expect(errorOf(() => inspectLibrary(Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1]))).code).toBe('INSPECT_BAD_FILE');
    const badClass = Buffer.alloc(64);
    badClass.set([0x7f, 0x45, 0x4c, 0x46, 9, 1]);
    expect(errorOf(() => inspectLibrary(badClass)).en).toContain('ELF class 9');
  });

  it('a bad symbol map is its own error', () => {
    const buf = buildElf({ bits: 64, endian: 'little', machine: 62, symbols: [] });
    expect(errorOf(() => inspectLibrary(buf, { symbols: [] as unknown as Record<string, string> })).code).toBe(
      'INSPECT_BAD_SYMBOL_MAP',
    );
    expect(
      errorOf(() => inspectLibrary(buf, { symbols: { Buy4442Card: 3 } as unknown as Record<string, string> })).code,
    ).toBe('INSPECT_BAD_SYMBOL_MAP');
  });
});

describe('truncated and corrupted synthetic ELF (always available)', () => {
  const syms = ['Check4442Card', 'Read4442Card', 'x'].map((name) => ({
    name,
    type: 'FUNC' as const,
    bind: 'GLOBAL' as const,
    defined: true,
  }));
  for (const sections of [true, false]) {
    it(`every truncation and random corruption ends in a report or INSPECT_BAD_FILE (sections: ${sections})`, () => {
      const buf = buildElf({ bits: 32, endian: 'big', machine: 8, symbols: syms, sections, soname: 'libx.so' });
      let errors = 0;
      for (let n = 0; n < buf.length; n++) if (reportOrBadFile(buf.subarray(0, n)) === 'error') errors++;
      expect(errors).toBeGreaterThan(0);
      const rand = rng(sections ? 1 : 2);
      for (let i = 0; i < 2000; i++) {
        const b = Buffer.from(buf);
        for (let k = 0; k < 4; k++) b[Math.floor(rand() * b.length)] = Math.floor(rand() * 256);
        reportOrBadFile(b);
      }
    });
  }
});

describe('GNU hash walk', () => {
  const symbols = ['Check4442Card', 'Read4442Card', 'Buy4442Card'].map((name) => ({
    name,
    type: 'FUNC' as const,
    bind: 'GLOBAL' as const,
    defined: true,
  }));

  it('a terminated chain gives the symbol count', () => {
    for (const bits of [32, 64] as const) {
      const r = inspectLibrary(buildElf({ bits, endian: 'big', machine: 8, symbols, sections: false, gnuHash: 'ok' }));
      expect(r.exportSource).toBe('elf-dynamic-gnu-hash');
      expect(r.exports.map((e) => e.name)).toEqual(['Check4442Card', 'Read4442Card', 'Buy4442Card']);
    }
  });

  it('a chain without its end bit stops at the end of the file with INSPECT_BAD_FILE', () => {
    const buf = buildElf({
      bits: 64,
      endian: 'little',
      machine: 62,
      symbols,
      sections: false,
      gnuHash: 'unterminated',
    });
    let e: MeterHubError | undefined;
    const { reads } = readsDuring(() => (e = errorOf(() => inspectLibrary(buf))));
    expect(e!.code).toBe('INSPECT_BAD_FILE');
    expect(e!.en).toContain('GNU hash chain');
    expect(reads).toBeGreaterThan(0);
    expect(reads).toBeLessThanOrEqual(buf.length);
  });
});

describe.skipIf(gcc.skip)(
  `truncated and corrupted real shared object${gcc.skip ? ` (skipped: ${gcc.reason})` : ''}`,
  () => {
    let so: Buffer;
    beforeAll(() => {
      const out = join(tmp.dir, 'libfull.so');
      run(gcc.bin, [
        '-shared',
        '-fPIC',
        '-DGASCARD_BUILD',
        `-I${SDK_INCLUDE}`,
        join(FIXTURES, 'full-interface.c'),
        '-o',
        out,
      ]);
      so = readFileSync(out);
    });

    it('truncations (with and without section headers) never crash', () => {
      const stripped = stripSectionHeaders(so);
      for (const b of [so, stripped]) {
        for (let n = 0; n < b.length; n += 13) reportOrBadFile(b.subarray(0, n));
      }
      // Cut just before the section header table: a clear error or the dynamic-segment fallback.
      const r = reportOrBadFile(so.subarray(0, so.length - 10));
      expect(['report', 'error']).toContain(r);
    });

    it('random corruption never crashes', () => {
      const rand = rng(42);
      for (let i = 0; i < 1500; i++) {
        const b = Buffer.from(i % 2 ? so : stripSectionHeaders(so));
        // Aim at the headers and tables, where the offsets and counts live.
        for (let k = 0; k < 3; k++) b[Math.floor(rand() * Math.min(b.length, 0x1000))] = Math.floor(rand() * 256);
        reportOrBadFile(b);
      }
    });
  },
);

describe.skipIf(mingw32.skip)(
  `truncated and corrupted real DLL${mingw32.skip ? ` (skipped: ${mingw32.reason})` : ''}`,
  () => {
    let dll: Buffer;
    beforeAll(() => {
      const out = join(tmp.dir, 'goldlike.dll');
      run(mingw32.bin, ['-shared', join(FIXTURES, 'maker-like.c'), join(FIXTURES, 'maker-like.def'), '-o', out]);
      dll = readFileSync(out);
    });

    it('truncations never crash; a cut inside the headers is INSPECT_BAD_FILE', () => {
      for (let n = 0; n < dll.length; n += 17) reportOrBadFile(dll.subarray(0, n));
      expect(reportOrBadFile(dll.subarray(0, 200))).toBe('error');
    });

    it('an export directory claiming 2^32-1 names is rejected without allocating or looping', () => {
      const r = inspectLibrary(dll);
      expect(r.exports.length).toBeGreaterThan(5);
      // Find the export directory through the same header fields the parser uses.
      const pe = dll.readUInt32LE(0x3c);
      const opt = pe + 24;
      const exportRva = dll.readUInt32LE(opt + 96);
      const nsec = dll.readUInt16LE(pe + 6);
      const secs = opt + dll.readUInt16LE(pe + 20);
      let dirOff = -1;
      for (let i = 0; i < nsec; i++) {
        const s = secs + i * 40;
        const va = dll.readUInt32LE(s + 12);
        if (exportRva >= va && exportRva < va + dll.readUInt32LE(s + 16))
          dirOff = dll.readUInt32LE(s + 20) + exportRva - va;
      }
      expect(dirOff).toBeGreaterThan(0);
      for (const field of [20, 24]) {
        const b = Buffer.from(dll);
        b.writeUInt32LE(0xffffffff, dirOff + field);
        const { result: e, reads } = readsDuring(() => errorOf(() => inspectLibrary(b)));
        expect(e.code).toBe('INSPECT_BAD_FILE');
        expect(reads).toBeGreaterThan(0);
        expect(reads).toBeLessThanOrEqual(b.length);
      }
    });

    it('random corruption never crashes', () => {
      const rand = rng(7);
      for (let i = 0; i < 1500; i++) {
        const b = Buffer.from(dll);
        for (let k = 0; k < 3; k++) b[Math.floor(rand() * Math.min(b.length, 0x800))] = Math.floor(rand() * 256);
        reportOrBadFile(b);
      }
    });
  },
);
