/**
 * ELF inspection: a real shared object from the system gcc (with and without section headers, GNU and
 * SysV hash), synthetic ELF32/ELF64 big- and little-endian files validated by readelf, and any stand-in
 * libraries already built under plugins/ (optional). Cross-checked with nm -D / readelf --dyn-syms.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { INTERFACE_FUNCTIONS } from '../driver/interface-functions.ts';
import { buildElf, type ElfSymbolSpec } from './elf-builder.ts';
import { inspectLibrary } from './inspect.ts';
import {
  FIXTURES,
  REPO_ROOT,
  SDK_INCLUDE,
  makeTempDir,
  nmDynamicDefined,
  readelfDynamicExports,
  run,
  stripSectionHeaders,
  tool,
} from './test-support.ts';

const gcc = tool('gcc', 'gcc');
const ALL = INTERFACE_FUNCTIONS.map((f) => f.name);
const linuxX64 = { platform: 'linux', arch: 'x64' };
const tmp = makeTempDir();
afterAll(() => tmp.cleanup());

const isX64Linux = process.platform === 'linux' && process.arch === 'x64';

describe.skipIf(gcc.skip)(`shared objects from the system gcc${gcc.skip ? ` (skipped: ${gcc.reason})` : ''}`, () => {
  let gnu: string;
  let sysv: string;

  beforeAll(() => {
    const src = join(FIXTURES, 'full-interface.c');
    const base = ['-shared', '-fPIC', '-O1', '-Wall', '-DGASCARD_BUILD', `-I${SDK_INCLUDE}`, src];
    gnu = join(tmp.dir, 'libfull-gnu.so');
    sysv = join(tmp.dir, 'libfull-sysv.so');
    run(gcc.bin, [...base, '-Wl,--hash-style=gnu', '-Wl,-soname,libfull.so.1', '-o', gnu]);
    run(gcc.bin, [...base, '-Wl,--hash-style=sysv', '-o', sysv]);
  });

  it('lists exactly the defined default-visibility dynamic symbols (as nm -D does)', () => {
    const r = inspectLibrary(gnu, { host: linuxX64 });
    const names = r.exports.map((e) => e.name!);
    expect(names.sort()).toEqual(nmDynamicDefined(gnu)!.sort());
    expect(r.exportSource).toBe('elf-section-dynsym');
    expect(r.libraryName).toBe('libfull.so.1');
    expect(names).not.toContain('fixture_hidden_helper');
    expect(r.exports.find((e) => e.name === 'FixtureWeakHook')).toMatchObject({ type: 'FUNC', binding: 'WEAK' });
    expect(r.exports.find((e) => e.name === 'FixtureBuildTag')).toMatchObject({ type: 'OBJECT', binding: 'GLOBAL' });
    expect(r.present).toEqual(ALL);
    expect(r.completeCardTypes).toEqual(['4442', '102', 'cpu']);
    expect(r.otherExports.sort()).toEqual(['FixtureBuildTag', 'FixtureWeakHook']);
  });

  it("reports the architecture of this host's compiler output and loads directly on the same host", () => {
    const r = inspectLibrary(gnu);
    expect(r.isLibrary).toBe(true);
    if (isX64Linux) {
      expect(r).toMatchObject({
        format: 'ELF64',
        bits: 64,
        endianness: 'little',
        machine: { name: 'x86-64', nodeArch: 'x64' },
      });
    }
    expect(r.machine.nodeArch).toBe(process.arch);
    expect(r.loadability.verdict).toBe('direct');
    expect(inspectLibrary(gnu, { host: { platform: 'win32', arch: process.arch } }).loadability).toMatchObject({
      verdict: 'cannot-load',
    });
  });

  it('without section headers: the same exports via PT_DYNAMIC with DT_GNU_HASH and with DT_HASH', () => {
    const withSections = inspectLibrary(gnu)
      .exports.map((e) => e.name)
      .sort();
    for (const [file, source] of [
      [gnu, 'elf-dynamic-gnu-hash'],
      [sysv, 'elf-dynamic-hash'],
    ] as const) {
      const stripped = join(tmp.dir, `stripped-${source}.so`);
      writeFileSync(stripped, stripSectionHeaders(readFileSync(file)));
      // binutils agrees that the section headers are gone.
      expect(run('readelf', ['-S', '-W', stripped])).toMatch(/There are no sections/);
      const r = inspectLibrary(stripped);
      expect(r.exportSource).toBe(source);
      expect(r.exports.map((e) => e.name).sort()).toEqual(withSections);
      expect(r.completeCardTypes).toEqual(['4442', '102', 'cpu']);
    }
    expect(inspectLibrary(join(tmp.dir, 'stripped-elf-dynamic-gnu-hash.so')).libraryName).toBe('libfull.so.1');
  });
});

describe('synthetic ELF32/ELF64 in both byte orders (validated by readelf)', () => {
  const symbols: ElfSymbolSpec[] = [
    ...['WriteNew102Card', 'Read102Card', 'Buy102Card', 'Format102Card', 'Check102Card'].map((name) => ({
      name,
      type: 'FUNC' as const,
      bind: 'GLOBAL' as const,
      defined: true,
    })),
    { name: 'GasCardErrorText', type: 'FUNC', bind: 'WEAK', defined: true },
    { name: 'maker_table', type: 'OBJECT', bind: 'GLOBAL', defined: true },
    { name: 'memcpy', type: 'FUNC', bind: 'GLOBAL', defined: false },
    { name: 'hidden_fn', type: 'FUNC', bind: 'GLOBAL', defined: true, hidden: true },
    { name: 'local_fn', type: 'FUNC', bind: 'LOCAL', defined: true },
    { name: 'a_notype', type: 'NOTYPE', bind: 'GLOBAL', defined: true },
  ];
  const expected = [
    'WriteNew102Card',
    'Read102Card',
    'Buy102Card',
    'Format102Card',
    'Check102Card',
    'GasCardErrorText',
    'maker_table',
  ];
  const cases = [
    { bits: 32, endian: 'big', machine: 8, name: 'MIPS', arch: 'mips', host: { platform: 'linux', arch: 'mips' } },
    { bits: 32, endian: 'little', machine: 40, name: 'ARM', arch: 'arm', host: { platform: 'linux', arch: 'arm' } },
    { bits: 32, endian: 'little', machine: 3, name: 'i386', arch: 'ia32', host: { platform: 'linux', arch: 'ia32' } },
    { bits: 64, endian: 'big', machine: 22, name: 'S/390', arch: 's390x', host: { platform: 'linux', arch: 's390x' } },
    {
      bits: 64,
      endian: 'little',
      machine: 183,
      name: 'ARM64 (AArch64)',
      arch: 'arm64',
      host: { platform: 'linux', arch: 'arm64' },
    },
  ] as const;

  for (const c of cases) {
    for (const sections of [true, false]) {
      it(`ELF${c.bits} ${c.endian}-endian ${c.name}${sections ? '' : ', no section headers'}`, () => {
        const buf = buildElf({
          bits: c.bits,
          endian: c.endian,
          machine: c.machine,
          symbols,
          soname: 'libmaker.so',
          sections,
        });
        const path = join(tmp.dir, `syn-${c.bits}-${c.endian}-${c.machine}-${sections}.so`);
        writeFileSync(path, buf);
        if (sections && gcc.available) expect(readelfDynamicExports(path)!.sort()).toEqual([...expected].sort());
        const r = inspectLibrary(buf, { host: c.host });
        expect(r).toMatchObject({
          format: `ELF${c.bits}`,
          bits: c.bits,
          endianness: c.endian,
          machine: { name: c.name, nodeArch: c.arch },
          libraryName: 'libmaker.so',
        });
        expect(r.exportSource).toBe(sections ? 'elf-section-dynsym' : 'elf-dynamic-hash');
        expect(r.exports.map((e) => e.name)).toEqual(expected);
        expect(r.completeCardTypes).toEqual(['102']);
        expect(r.cardTypes.find((t) => t.cardType === '4442')).toMatchObject({ complete: false, present: [] });
        expect(r.otherExports).toEqual(['maker_table']);
        expect(r.loadability.verdict).toBe('direct');
        expect(
          inspectLibrary(buf, { host: { platform: 'linux', arch: c.arch === 'arm64' ? 'x64' : 'arm64' } }).loadability
            .verdict,
        ).toBe('cannot-load');
      });
    }
  }

  it('an i386 shared object on 64-bit Linux says why it cannot load', () => {
    const buf = buildElf({ bits: 32, endian: 'little', machine: 3, symbols });
    const l = inspectLibrary(buf, { host: linuxX64 }).loadability;
    expect(l.verdict).toBe('cannot-load');
    expect(l.en).toContain('32-bit (i386)');
    expect(l.zh).toContain('32 位');
  });
});

/** Another engineer's stand-ins, when `node scripts/build-native.mjs` has been run; never required. */
const standIns = (() => {
  const dir = join(REPO_ROOT, 'plugins');
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((p) => {
    const lib = join(dir, p, 'lib', 'linux-x64');
    return existsSync(lib)
      ? readdirSync(lib)
          .filter((f) => f.endsWith('.so'))
          .map((f) => join(lib, f))
      : [];
  });
})();

describe.skipIf(standIns.length === 0)(
  `stand-in libraries under plugins/*/lib/linux-x64${standIns.length ? '' : ' (skipped: none built; run node scripts/build-native.mjs)'}`,
  () => {
    for (const path of standIns) {
      it(path.slice(REPO_ROOT.length + 1), () => {
        const r = inspectLibrary(path, { host: linuxX64 });
        expect(r.format).toBe('ELF64');
        expect(r.machine.name).toBe('x86-64');
        const nm = nmDynamicDefined(path);
        if (nm) expect(r.exports.map((e) => e.name!).sort()).toEqual([...new Set(nm)].sort());
        // Every interface name nm sees is reported present, and nothing else is.
        const iface = new Set(ALL);
        expect(r.present.sort()).toEqual((nm ?? r.exports.map((e) => e.name!)).filter((n) => iface.has(n)).sort());
      });
    }
  },
);
