/**
 * The native build (scripts/build-native.mjs) and the maker demo (sdk/demo/gascard_demo.c) against stand-ins.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import koffi from 'koffi';
import { beforeAll, describe, expect, test } from 'vitest';
import { INTERFACE_FUNCTIONS } from '../../core/driver/interface-functions.ts';
import { MAKERS, ROOT, StandIn, ensureBuilt, libraryPath } from './test-support.ts';

const KH = '3701020025';
let demo: string;
beforeAll(() => {
  const m = ensureBuilt();
  expect(m.demo).not.toBeNull();
  demo = join(ROOT, m.demo!.path);
});

function runDemo(args: string[], env: NodeJS.ProcessEnv = process.env) {
  return spawnSync(demo, args, { encoding: 'utf8', env, timeout: 20_000 });
}

describe('build-native', () => {
  test('the manifest lists every maker, fault build, the demo and the header checks', () => {
    const m = ensureBuilt();
    expect(m.makers.map((x) => [x.maker, x.cardTypes])).toEqual(MAKERS.map((x) => [x.maker, x.cardTypes]));
    for (const x of m.makers) {
      expect(x.standIn).toBe(true);
      expect(x.path).toBe(
        `plugins/${x.maker}/lib/${process.platform}-${process.arch}/libgascard_${x.maker}.${process.platform === 'darwin' ? 'dylib' : 'so'}`,
      );
      expect(existsSync(join(ROOT, x.path))).toBe(true);
    }
    expect(m.faults.map((f) => f.name)).toEqual([
      'segv',
      'abort',
      'hang',
      'overrun',
      'garbage',
      'claim_all',
      'nondet',
      'kh_length',
    ]);
    for (const f of m.faults) expect(existsSync(join(ROOT, f.path))).toBe(true);
    expect((m as unknown as { headerCheck: Record<string, string> }).headerCheck.c89).toBe('ok');
  });

  test('every stand-in exports every function of the interface', () => {
    for (const { maker } of MAKERS) {
      const lib = koffi.load(libraryPath(maker));
      for (const f of INTERFACE_FUNCTIONS)
        expect(() => lib.func(`int ${f.name}()`), `${maker} ${f.name}`).not.toThrow();
    }
  });

  test('a second run is incremental: nothing is rebuilt', () => {
    const out = execFileSync(process.execPath, [join(ROOT, 'scripts', 'build-native.mjs')], {
      cwd: ROOT,
      encoding: 'utf8',
    });
    expect(out).not.toMatch(/^built /m);
    // stand-ins + fault builds + demo + header checks (C89, C++); the Tancy .NET bridge reports its own lines
    expect(out.match(/^up-to-date (?!.*build\/tancy\/)/gm)?.length).toBe(MAKERS.length + 8 + 1 + 2);
  });

  test('a missing compiler: exit 0 with --if-compiler, exit 1 without, explained in Chinese and English', () => {
    const env = { ...process.env, CC: join(ROOT, 'no-such-compiler') };
    const soft = spawnSync(process.execPath, [join(ROOT, 'scripts', 'build-native.mjs'), '--if-compiler'], {
      cwd: ROOT,
      env,
      encoding: 'utf8',
    });
    expect(soft.status).toBe(0);
    expect(soft.stdout).toContain('未找到C编译器');
    expect(soft.stdout).toContain('were NOT built');
    const hard = spawnSync(process.execPath, [join(ROOT, 'scripts', 'build-native.mjs')], {
      cwd: ROOT,
      env,
      encoding: 'utf8',
    });
    expect(hard.status).toBe(1);
    expect(hard.stderr).toContain('No C compiler found');
  });
});

describe('gascard_demo', () => {
  test.each([
    ['kingcard', '4442'],
    ['kingcard', '102'],
    ['zenner', '102'],
    ['lanbaoshi', '4442'],
    ['songchuan', '102'],
    ['chint', '4442'],
  ])('runs every function of the %s stand-in for %s cards', (maker, t) => {
    const r = runDemo([libraryPath(maker), t, '--kh', KH]);
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain('stand-in library / 替身库');
    expect(r.stdout).toContain(`kh=${KH} ql=50 cs=2 klx=1`);
    expect(r.stdout).toContain(`kh=${KH} ql=0 cs=3 klx=1`);
    expect(r.stdout).toMatch(/Check blank card -> -1 +rc=-1/);
    expect(r.stdout).toContain('202503  12.50 m3');
    expect(r.stdout).not.toContain('[FAIL]');
    expect(r.stdout).toMatch(/RESULT: PASS \(\d+ steps, 0 failed\)/);
    expect(r.status).toBe(0);
    // keys are secrets: masked unless asked for
    const key = new StandIn(maker).writeNew(t as '4442' | '102', KH, 100, 1, 1).newKey;
    expect(r.stdout).not.toContain(key);
    expect(runDemo([libraryPath(maker), t, '--kh', KH, '--show-keys']).stdout).toContain(`newKey=${key}`);
  });

  test('runs the CPU stand-in with a simulated card', () => {
    const dir = mkdtempSync(join(tmpdir(), 'meterhub-demo-cpu-'));
    try {
      const r = runDemo([libraryPath('tancy'), 'cpu', '--com', '2'], { ...process.env, METERHUB_SIM_CPU_DIR: dir });
      expect(r.stdout).toContain('kh=3701020025 ql=100 cs=1 klx=1');
      expect(r.stdout).toMatch(/Check TRANSFER tool card -> 1 +rc=1/);
      expect(r.stdout).toMatch(/RESULT: PASS/);
      expect(r.status).toBe(0);
      expect(existsSync(join(dir, 'com2.card'))).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('reports failure when the library does not behave', () => {
    // asking a 102-only library for 4442 cards: the core functions answer GC_E_UNSUPPORTED
    const r = runDemo([libraryPath('zenner'), '4442']);
    expect(r.stdout).toMatch(/\[FAIL\] WriteNew/);
    expect(r.stdout).toMatch(/RESULT: FAIL/);
    expect(r.status).toBe(1);
    expect(runDemo([join(ROOT, 'no-such-lib.so'), '4442']).status).toBe(2);
  });
});
