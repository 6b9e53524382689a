/**
 * Native or .NET (issue 14, "Tancy both ways"): `inspect` reads the kind from the CLR header, and with a plugin
 * manifest says which kind it must declare. The native DLL is a Tancy_IC-shaped mingw i686 build made here
 * (stdcall, `_FillCard@40`-style decorated and plain exports); the .NET one is the Tancy stand-in assembly
 * (替身, build/tancy/Tancy.StandIn.dll, built by plugins/tancy/bridge/build.mjs with Mono's mcs).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inspectLibrary } from './inspect.ts';
import { formatReport } from './report.ts';
import { REPO_ROOT, makeTempDir, run, tool } from './test-support.ts';

const mingw32 = tool('i686-w64-mingw32-gcc', 'gcc-mingw-w64-i686');
const mcs = tool('mcs', 'mono-mcs');
const host = { platform: 'linux', arch: 'x64' };
const tmp = makeTempDir();
afterAll(() => tmp.cleanup());

const STANDIN = join(REPO_ROOT, 'build/tancy/Tancy.StandIn.dll');
const NATIVE_SRC = `
__declspec(dllexport) int __stdcall GetVer(char *out) { out[0] = '1'; out[1] = 0; return 0; }
__declspec(dllexport) int __stdcall SaleGas(short com, char *kh, int ql, short cs) { return com + ql + cs + kh[0]; }
__declspec(dllexport) int __stdcall FillCard(short com, char *a, char *b,
  int c, int d, int e, int f, int g, int h, int i)
  { return com + a[0] + b[0] + c + d + e + f + g + h + i; }
`;

function cli(...args: string[]) {
  const res = spawnSync(process.execPath, [join(REPO_ROOT, 'bin', 'meterhub.mjs'), 'inspect', ...args], {
    encoding: 'utf8',
    timeout: 120_000,
    cwd: REPO_ROOT,
  });
  return { code: res.status, stdout: res.stdout, stderr: res.stderr };
}

/** A minimal valid plugin folder whose win32-ia32 entry is `library`, declared `kind` (or nothing). */
function plugin(name: string, library: string, kind?: 'native' | 'dotnet'): string {
  const dir = join(tmp.dir, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, 'meterhub-plugin.json'),
    JSON.stringify({
      id: name,
      name: { 'zh-CN': name, en: name },
      cardTypes: ['cpu'],
      library: { 'win32-ia32': library },
      ...(kind ? { libraryKind: { 'win32-ia32': kind } } : {}),
      bridge: { exe: { 'win32-ia32': 'MeterHub.TancyBridge.exe' } },
      catalogues: { returnCodes: [], toolCards: [] },
    }),
  );
  return dir;
}

describe.skipIf(mingw32.skip || mcs.skip)('library kind: native DLL or .NET assembly', () => {
  let native: string;
  beforeAll(() => {
    const src = join(tmp.dir, 'tancy_like.c');
    writeFileSync(src, NATIVE_SRC);
    native = join(tmp.dir, 'Tancy_IC.dll');
    run(mingw32.bin, ['-shared', '-O1', src, '-o', native]);
    if (!existsSync(STANDIN)) run(process.execPath, [join(REPO_ROOT, 'plugins/tancy/bridge/build.mjs')]);
  }, 180_000);

  it('a mingw-built native DLL is native; the stand-in assembly is dotnet (CLR header)', () => {
    const n = inspectLibrary(native, { host });
    expect(n).toMatchObject({ format: 'PE32', libraryKind: 'native' });
    expect(n.dotNet).toBeUndefined();
    // The decorated stdcall export proves this is the native shape the public Tancy_IC.dll has.
    expect(n.exports.map((e) => e.name)).toContain('FillCard@40');
    const d = inspectLibrary(STANDIN, { host });
    expect(d).toMatchObject({ libraryKind: 'dotnet', dotNet: true });
    expect(formatReport(d)).toContain('库类型 Library kind: dotnet');
    expect(formatReport(n)).toContain('库类型 Library kind: native');
  });

  it('with a manifest: says which kind it must declare; a default (native) that fits is fine', () => {
    const ok = cli(native, '--json', '--manifest', plugin('kindok', native));
    expect(ok.code).toBe(0);
    const r = JSON.parse(ok.stdout);
    expect(r.manifestKind).toMatchObject({
      platform: 'win32-ia32',
      declared: 'native',
      explicit: false,
      required: 'native',
      ok: true,
    });
    expect(r.warnings.map((w: { code: string }) => w.code)).not.toContain('LIBRARY_KIND_MISMATCH');
    const dn = JSON.parse(cli(STANDIN, '--json', '--manifest', plugin('kinddn', STANDIN, 'dotnet')).stdout);
    expect(dn.manifestKind).toMatchObject({ declared: 'dotnet', explicit: true, required: 'dotnet', ok: true });
  });

  it('a mismatch either way is reported, with the fix, and exits 1', () => {
    // Today's Tancy mistake: the native Tancy_IC.dll declared as a .NET assembly would go to the bridge.
    const manifestFile = join(plugin('kindbad', native, 'dotnet'), 'meterhub-plugin.json');
    const wrong = cli(native, '--json', '--manifest', manifestFile);
    expect(wrong.code).toBe(1);
    const r = JSON.parse(wrong.stdout);
    expect(r.manifestKind).toMatchObject({ declared: 'dotnet', required: 'native', ok: false });
    const w = r.warnings.find((x: { code: string }) => x.code === 'LIBRARY_KIND_MISMATCH');
    expect(w.en).toContain('"libraryKind": {"win32-ia32": "native"}');
    expect(w.zh).toContain('清单');
    // A .NET assembly left at the default is just as wrong: koffi cannot bind managed code.
    const text = cli(STANDIN, '--manifest', plugin('kinddef', STANDIN));
    expect(text.code).toBe(1);
    expect(text.stdout).toContain('声明 declares native (默认 default), 须为 must be dotnet  ✗ 不符 MISMATCH');
  });

  it('a manifest with no entry for the file needs --platform; an unknown platform is a clean error', () => {
    const dir = plugin('kindnone', 'elsewhere/Tancy_IC.dll', 'native');
    const none = cli(native, '--json', '--manifest', dir);
    expect(none.code).toBe(2);
    expect(JSON.parse(none.stdout).error).toMatchObject({ code: 'INSPECT_MANIFEST_NO_ENTRY' });
    expect(cli(native, '--manifest', dir, '--platform', 'win32-ia32').code).toBe(0);
    const unknown = cli(native, '--manifest', dir, '--platform', 'win32-arm64');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('win32-arm64');
  });
});
