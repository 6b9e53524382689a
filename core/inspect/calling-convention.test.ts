/**
 * Calling conventions read from the code of DLLs built here with mingw: stdcall (`ret N`), cdecl (plain
 * `ret`), a debug-style jump table with a chained thunk, a forwarder back into the same DLL, and the
 * `--kill-at` build of the whole interface. Cross-checked against objdump's disassembly.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inspectLibrary } from './inspect.ts';
import { formatReport } from './report.ts';
import { FIXTURES, makeTempDir, run, tool } from './test-support.ts';

const mingw32 = tool('i686-w64-mingw32-gcc', 'gcc-mingw-w64-i686');
const mingw64 = tool('x86_64-w64-mingw32-gcc', 'gcc-mingw-w64-x86-64');
const host = { platform: 'linux', arch: 'x64' };
const tmp = makeTempDir();
afterAll(() => tmp.cleanup());

function build(cc: string, out: string, x64 = false): string {
  const path = join(tmp.dir, out);
  let def = join(FIXTURES, 'conventions.def');
  if (x64) {
    // x64 symbols have no @N decoration to alias.
    const text = readFileSync(def, 'utf8').replace(/ = (\w+)@\d+/g, '');
    def = join(tmp.dir, 'conventions64.def');
    writeFileSync(def, text);
  }
  run(cc, ['-shared', '-O1', join(FIXTURES, 'conventions.c'), def, '-o', path]);
  return path;
}

describe.skipIf(mingw32.skip || mingw64.skip)('calling conventions from the code', () => {
  let dll32: string;
  let dll64: string;
  beforeAll(() => {
    dll32 = build(mingw32.bin, 'conventions.dll');
    dll64 = build(mingw64.bin, 'conventions64.dll', true);
  });

  const popped = (file: string, name: string) =>
    inspectLibrary(file, { host }).exports.find((e) => e.name === name)!.popped;

  it('stdcall pops N, cdecl ends in a plain ret, whatever the (undecorated) names say', () => {
    expect(popped(dll32, 'StdFive')).toEqual({ kind: 'stdcall', bytes: 20, via: [] });
    expect(popped(dll32, 'CdeclThree')).toEqual({ kind: 'plain-ret', via: [] });
    // objdump agrees on the bytes the code pops.
    const asm = run('i686-w64-mingw32-objdump', ['-d', dll32]);
    expect(asm).toMatch(/<_StdFive@20>:[\s\S]*?ret\s+\$0x14/);
  });

  it('follows a jump-table thunk (E9 rel32), a chained short jump, and a forwarder into the same DLL', () => {
    const seven = popped(dll32, 'ThunkSeven')!;
    expect(seven).toMatchObject({ kind: 'stdcall', bytes: 28 });
    expect(seven.via).toHaveLength(1);
    expect(popped(dll32, 'ThunkOne')).toMatchObject({ kind: 'stdcall', bytes: 4 });
    const chain = popped(dll32, 'ThunkChain')!;
    expect(chain).toMatchObject({ kind: 'stdcall', bytes: 28 });
    expect(chain.via).toHaveLength(2);
    const fwd = popped(dll32, 'SelfForward')!;
    expect(fwd).toMatchObject({ kind: 'stdcall', bytes: 20 });
    expect(fwd.via[0]).toBe('forwarder conventions.StdFive');
  });

  it('warns when the symbol map binds an export whose popped bytes differ from what the function needs', () => {
    const r = inspectLibrary(dll32, {
      host,
      symbols: {
        Buy4442Card: 'ThunkSeven',
        Read4442Card: 'SelfForward',
        Check4442Card: 'CdeclThree',
        Format4442Card: 'ThunkOne',
      },
    });
    expect(r.functions.find((f) => f.name === 'Buy4442Card')!.popped).toMatchObject({
      bytes: 28,
      expectedBytes: 28,
      ok: true,
    });
    expect(r.functions.find((f) => f.name === 'Read4442Card')!.popped).toMatchObject({
      bytes: 20,
      expectedBytes: 20,
      ok: true,
    });
    expect(r.conventionMismatches).toEqual([
      { interfaceName: 'Format4442Card', exportName: 'ThunkOne', popped: 'ret 4 (stdcall 4)', expectedBytes: 8 },
      {
        interfaceName: 'Check4442Card',
        exportName: 'CdeclThree',
        popped: 'plain ret (cdecl or register)',
        expectedBytes: 4,
      },
    ]);
    expect(r.warnings.filter((w) => w.code === 'CALLING_CONVENTION_MISMATCH').map((w) => w.en.split(' ')[0])).toEqual([
      'Format4442Card',
      'Check4442Card',
    ]);
    expect(r.cardTypes.find((c) => c.cardType === '4442')!.stdcallMismatch).toEqual([
      'Format4442Card',
      'Check4442Card',
    ]);
    expect(formatReport(r)).toContain('调用约定不符');
  });

  it('never proposes one export for two interface functions, and only exports whose bytes fit', () => {
    const r = inspectLibrary(dll32, { host });
    const names = r.suggestions.map((s) => s.exportName);
    expect(new Set(names).size).toBe(names.length);
    expect(names).not.toContain('CdeclThree');
  });

  it('x64 has one convention: nothing to check, nothing suggested from names alone', () => {
    const r = inspectLibrary(dll64, { host, symbols: { Check4442Card: 'CdeclThree' } });
    expect(r.format).toBe('PE32+');
    expect(r.conventionMismatches).toEqual([]);
    expect(r.exports.every((e) => e.popped === undefined)).toBe(true);
    expect(r.suggestions).toEqual([]);
  });
});
