/**
 * PE32 / PE32+ inspection against real DLLs built here with the mingw-w64 cross compilers, cross-checked
 * with binutils objdump. Without the compilers the suite is skipped outside CI and fails in CI.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { INTERFACE_FUNCTIONS } from '../driver/interface-functions.ts';
import { inspectLibrary } from './inspect.ts';
import { formatReport } from './report.ts';
import { FIXTURES, SDK_INCLUDE, makeTempDir, objdumpPeExports, run, tool } from './test-support.ts';

const mingw32 = tool('i686-w64-mingw32-gcc', 'gcc-mingw-w64-i686');
const mingw64 = tool('x86_64-w64-mingw32-gcc', 'gcc-mingw-w64-x86-64');
const linuxX64 = { platform: 'linux', arch: 'x64' };
const winX64 = { platform: 'win32', arch: 'x64' };
const winIa32 = { platform: 'win32', arch: 'ia32' };

const ALL = INTERFACE_FUNCTIONS.map((f) => f.name);
const full = join(FIXTURES, 'full-interface.c');
const tmp = makeTempDir();
afterAll(() => tmp.cleanup());

function buildDll(cc: string, out: string, sources: string[], extra: string[] = []): string {
  const path = join(tmp.dir, out);
  run(cc, ['-shared', '-O1', '-Wall', '-DGASCARD_BUILD', `-I${SDK_INCLUDE}`, ...sources, '-o', path, ...extra]);
  return path;
}

/** objdump is the reference: our named exports must be exactly its name table. */
function expectSameAsObjdump(path: string, names: Array<string | null>): void {
  const ref = objdumpPeExports(path);
  expect(ref, 'objdump not available to cross-check').not.toBeNull();
  expect(names.filter((n): n is string => n !== null).sort()).toEqual([...ref!.names].sort());
}

describe.skipIf(mingw32.skip)(
  `PE32 DLLs from i686-w64-mingw32-gcc${mingw32.skip ? ` (skipped: ${mingw32.reason})` : ''}`,
  () => {
    let decorated: string;
    let msvcStyle: string;
    let killAt: string;
    let maker: string;
    let mismatch: string;

    beforeAll(() => {
      // (a) mingw's default for __declspec(dllexport) __stdcall: `Name@N`, no leading underscore (checked below).
      decorated = buildDll(
        mingw32.bin,
        'decorated.dll',
        [full],
        [`-Wl,--output-def,${join(tmp.dir, 'decorated.def')}`],
      );
      // (a') MSVC's spelling `_Name@N`, added through a .def generated from the interface table. The header's
      // __declspec(dllexport) keeps mingw's `Name@N` too: both name the same function (an alias).
      const def = [
        'LIBRARY msvcstyle.dll',
        'EXPORTS',
        ...INTERFACE_FUNCTIONS.map((f) => `  _${f.name}@${f.params.length * 4} = ${f.name}@${f.params.length * 4}`),
      ].join('\n');
      writeFileSync(join(tmp.dir, 'msvcstyle.def'), `${def}\n`);
      msvcStyle = buildDll(mingw32.bin, 'msvcstyle.dll', [full, join(tmp.dir, 'msvcstyle.def')]);
      // (b) undecorated.
      killAt = buildDll(mingw32.bin, 'killat.dll', [full], ['-Wl,--kill-at']);
      // (c) maker-like names, an ordinal-only export and a forwarder.
      maker = buildDll(mingw32.bin, 'goldlike.dll', [join(FIXTURES, 'maker-like.c'), join(FIXTURES, 'maker-like.def')]);
      mismatch = buildDll(mingw32.bin, 'mismatch.dll', [join(FIXTURES, 'stdcall-mismatch.c')]);
    });

    it('mingw really emits Name@N (no underscore) by default — confirmed by its own --output-def', () => {
      const def = readFileSync(join(tmp.dir, 'decorated.def'), 'utf8');
      expect(def).toMatch(/^\s+Buy4442Card@28\b/m);
      expect(def).not.toMatch(/_Buy4442Card@28/);
    });

    it('(a) decorated Name@N: every interface function found by undecorating, stdcall sizes check out', () => {
      const r = inspectLibrary(decorated, { host: linuxX64 });
      expectSameAsObjdump(
        decorated,
        r.exports.map((e) => e.name),
      );
      expect(r.format).toBe('PE32');
      expect(r.machine.name).toBe('i386');
      expect(r.bits).toBe(32);
      expect(r.isLibrary).toBe(true);
      expect(r.present).toEqual(ALL);
      expect(r.completeCardTypes).toEqual(['4442', '102', 'cpu']);
      const buy = r.functions.find((f) => f.name === 'Buy4442Card')!;
      expect(buy).toMatchObject({
        exportName: 'Buy4442Card@28',
        via: 'undecorated',
        stdcall: { declaredBytes: 28, expectedBytes: 28, ok: true },
      });
      expect(r.functions.every((f) => f.stdcall?.ok === true)).toBe(true);
      expect(r.stdcallMismatches).toEqual([]);
      expect(r.otherExports).toEqual(['FixtureBuildTag']);
    });

    it("(a') MSVC-style _Name@N is recognised the same way", () => {
      const r = inspectLibrary(msvcStyle, { host: linuxX64 });
      expectSameAsObjdump(
        msvcStyle,
        r.exports.map((e) => e.name),
      );
      expect(r.exports.map((e) => e.name)).toContain('_WriteNew4442Card@28');
      expect(r.present).toEqual(ALL);
      expect(r.functions.find((f) => f.name === 'CheckCpuCard')).toMatchObject({
        exportName: '_CheckCpuCard@4',
        stdcall: { ok: true },
      });
      // The mingw-spelled alias of each bound function is neither "other" nor a suggestion.
      expect(r.exports.map((e) => e.name)).toContain('CheckCpuCard@4');
      expect(r.otherExports).toEqual(['FixtureBuildTag']);
    });

    it('(b) undecorated (--kill-at): exact matches, and a warning that stdcall cannot be verified', () => {
      const r = inspectLibrary(killAt, { host: linuxX64 });
      expectSameAsObjdump(
        killAt,
        r.exports.map((e) => e.name),
      );
      expect(r.present).toEqual(ALL);
      expect(r.functions.every((f) => f.via === 'exact' && f.stdcall === undefined)).toBe(true);
      // The names say nothing; the code's `ret N` does: every function pops 4 bytes per parameter.
      expect(r.functions.every((f) => f.popped?.kind === 'stdcall' && f.popped.ok === true)).toBe(true);
      expect(r.functions.find((f) => f.name === 'Buy4442Card')!.popped).toMatchObject({
        kind: 'stdcall',
        bytes: 28,
        expectedBytes: 28,
      });
      expect(r.warnings.map((w) => w.code)).not.toContain('CALLING_CONVENTION_UNVERIFIED');
      expect(r.conventionMismatches).toEqual([]);
    });

    it('(c) maker-like DLL: nothing matches, names are suggested (labelled), forwarder and ordinal-only export shown', () => {
      const r = inspectLibrary(maker, { host: linuxX64 });
      const ref = objdumpPeExports(maker)!;
      expectSameAsObjdump(
        maker,
        r.exports.map((e) => e.name),
      );
      expect(r.libraryName).toBe('goldlike.dll');
      expect(r.present).toEqual([]);
      expect(r.completeCardTypes).toEqual([]);
      const fwd = r.exports.find((e) => e.name === 'GetTickCountForwarded')!;
      expect(fwd.forwarder).toBe('KERNEL32.GetTickCount');
      expect(ref.forwarders).toEqual(['KERNEL32.GetTickCount']);
      expect(r.exports.find((e) => e.name === null)).toMatchObject({ ordinal: 77 });
      expect(r.otherExports).toContain('#77 (ordinal only / 仅序号)');
      // Only exports whose code pops what the function needs: Gold_Writecard pops 20 where WriteNew4442Card
      // needs 28, Gold_Buycard 16 where Buy4442Card needs 28, so neither is offered whatever its name.
      const narrowed = inspectLibrary(maker, { host: linuxX64, cardTypes: ['4442'] });
      expect(narrowed.suggestedSymbols).toEqual({ Read4442Card: 'Gold_Readcard', Check4442Card: 'Gold_CheckCard' });
      expect(narrowed.suggestedSymbols.WriteNew4442Card).toBeUndefined();
      expect(narrowed.suggestedSymbols.Buy4442Card).toBeUndefined();
      for (const rep of [r, narrowed]) {
        const names = rep.suggestions.map((x) => x.exportName);
        expect(new Set(names).size).toBe(names.length);
      }
      // Forwarders are not implemented here, so never suggested.
      expect(Object.values(r.suggestedSymbols)).not.toContain('GetTickCountForwarded');
      const text = formatReport(r);
      expect(text).toContain('SUGGESTIONS ONLY');
      expect(text).toContain('代码弹出字节数与接口相符');
    });

    it('(c) a symbol map that binds an export popping other bytes is warned about and leaves the card type incomplete', () => {
      const symbols = {
        WriteNew4442Card: 'Gold_Writecard',
        Read4442Card: 'Gold_Readcard',
        Buy4442Card: 'Gold_Buycard',
        Format4442Card: 'Gold_Formatcard',
        Check4442Card: 'Gold_CheckCard',
      };
      const r = inspectLibrary(maker, { host: linuxX64, symbols });
      expect(r.functions.find((f) => f.name === 'Buy4442Card')).toMatchObject({
        present: true,
        via: 'symbol-map',
        exportName: 'Gold_Buycard',
        popped: { kind: 'stdcall', bytes: 16, expectedBytes: 28, ok: false },
      });
      expect(r.conventionMismatches.map((c) => c.interfaceName)).toEqual([
        'WriteNew4442Card',
        'Buy4442Card',
        'Format4442Card',
      ]);
      expect(r.warnings.filter((w) => w.code === 'CALLING_CONVENTION_MISMATCH')).toHaveLength(3);
      expect(r.completeCardTypes).toEqual([]);
      expect(formatReport(r)).toContain('Gold_Buycard: ret 16 (stdcall 16), 应为 expected ret 28 (Buy4442Card)');
      expect(r.otherExports).not.toContain('Gold_Buycard');
      // A map entry that names nothing exported is reported as missing with what it asked for.
      const bad = inspectLibrary(maker, { host: linuxX64, symbols: { Check102Card: 'Gold_Nope', NotAFunction: 'X' } });
      expect(bad.functions.find((f) => f.name === 'Check102Card')).toMatchObject({
        present: false,
        mappedTo: 'Gold_Nope',
      });
      expect(bad.warnings.map((w) => w.code)).toContain('SYMBOL_MAP_UNKNOWN_FUNCTION');
    });

    it('stdcall argument bytes that disagree with gascard.h are reported; __fastcall is not counted', () => {
      const r = inspectLibrary(mismatch, { host: linuxX64 });
      expectSameAsObjdump(
        mismatch,
        r.exports.map((e) => e.name),
      );
      expect(r.stdcallMismatches).toEqual([
        { interfaceName: 'Buy4442Card', exportName: 'Buy4442Card@24', declaredBytes: 24, expectedBytes: 28 },
        { interfaceName: 'Check102Card', exportName: 'Check102Card@4', declaredBytes: 4, expectedBytes: 8 },
      ]);
      expect(r.functions.find((f) => f.name === 'Check4442Card')!.stdcall).toEqual({
        declaredBytes: 4,
        expectedBytes: 4,
        ok: true,
      });
      expect(r.cardTypes.find((c) => c.cardType === '4442')).toMatchObject({
        present: ['Buy4442Card', 'Check4442Card'],
        stdcallMismatch: ['Buy4442Card'],
        complete: false,
      });
      expect(r.functions.find((f) => f.name === 'Read4442Card')!.present).toBe(false);
      expect(r.warnings.map((w) => w.code)).toContain('WRONG_CALLING_CONVENTION');
      expect(r.suggestedSymbols.Read4442Card).toBeUndefined();
      expect(formatReport(r)).toContain('Buy4442Card@24: 声明 declares 24, 应为 expected 28');
    });

    it('loadability of a 32-bit DLL depends on the host', () => {
      expect(inspectLibrary(decorated, { host: linuxX64 }).loadability).toMatchObject({ verdict: 'cannot-load' });
      expect(inspectLibrary(decorated, { host: linuxX64 }).loadability.en).toContain('inspect only; load on Windows');
      const onWin64 = inspectLibrary(decorated, { host: winX64 }).loadability;
      expect(onWin64.verdict).toBe('needs-32bit-host');
      expect(onWin64.en).toContain('32-bit Node 22 (win32-ia32)');
      expect(onWin64.en).toContain('driver.execPath');
      expect(inspectLibrary(decorated, { host: winIa32 }).loadability.verdict).toBe('direct');
      // And for this very process (no host injected).
      const here = inspectLibrary(decorated).loadability;
      expect(here.host).toEqual({ platform: process.platform, arch: process.arch });
    });
  },
);

describe.skipIf(mingw64.skip)(
  `PE32+ DLLs from x86_64-w64-mingw32-gcc${mingw64.skip ? ` (skipped: ${mingw64.reason})` : ''}`,
  () => {
    it('(d) PE32+ x86-64: undecorated names, complete, loads on 64-bit Windows only', () => {
      const path = buildDll(mingw64.bin, 'full64.dll', [full]);
      const r = inspectLibrary(path, { host: winX64 });
      expectSameAsObjdump(
        path,
        r.exports.map((e) => e.name),
      );
      expect(r.format).toBe('PE32+');
      expect(r.machine.name).toBe('x86-64');
      expect(r.bits).toBe(64);
      expect(r.present).toEqual(ALL);
      expect(r.completeCardTypes).toEqual(['4442', '102', 'cpu']);
      expect(r.functions.every((f) => f.via === 'exact')).toBe(true);
      expect(r.warnings.map((w) => w.code)).not.toContain('CALLING_CONVENTION_UNVERIFIED');
      expect(r.loadability.verdict).toBe('direct');
      expect(inspectLibrary(path, { host: winIa32 }).loadability.verdict).toBe('cannot-load');
      expect(inspectLibrary(path, { host: { platform: 'win32', arch: 'arm64' } }).loadability.verdict).toBe(
        'needs-other-host',
      );
      expect(inspectLibrary(path, { host: linuxX64 }).loadability.verdict).toBe('cannot-load');
    });
  },
);
