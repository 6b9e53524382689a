/**
 * Conformance: every stand-in passes for every card type its plugin declares; every fault-injected build
 * fails with the right finding while the kit itself survives.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import koffi from 'koffi';
import { afterAll, describe, expect, it } from 'vitest';
import type { Finding } from '../../core/conformance/check-result.ts';
import { runConformance } from '../../core/conformance/kit.ts';
import { bundledPeers } from '../../core/conformance/stand-in-peers.ts';
import { discoverPlugins } from '../../core/plugins/discovery.ts';
import { libraryFor, loadManifest } from '../../core/plugins/manifest.ts';

const ROOT = resolve(import.meta.dirname, '..', '..');
const simDir = mkdtempSync(join(tmpdir(), 'mh-conf-cpu-'));
process.env.METERHUB_SIM_CPU_DIR = simDir;
afterAll(() => rmSync(simDir, { recursive: true, force: true }));

const plugins = discoverPlugins({ bundledDir: join(ROOT, 'plugins') }).map((s) => loadManifest(s.dir));

describe('conformance of the bundled stand-in libraries', () => {
  for (const p of plugins) {
    for (const cardType of p.manifest.cardTypes) {
      it(`${p.manifest.id} passes every check for ${cardType}, extensions included`, async () => {
        const library = libraryFor(p)!;
        if (cardType === 'cpu') {
          // The CPU kit expects a blank card in the reader; the stand-in simulates one.
          const lib = koffi.load(library);
          lib.func('int StandInCpuInsertBlank(int16_t com)')(2);
          lib.func('int StandInCpuSetPsam(int16_t com, int present)')(2, 1);
          lib.unload();
        }
        const report = await runConformance({
          library,
          cardTypes: [cardType],
          strict: true,
          com: 2,
          against: bundledPeers(library, join(ROOT, 'plugins')),
        });
        expect(report.checks.filter((c) => c.status !== 'pass')).toEqual([]);
        expect(report.checks.filter((c) => c.group === 'core').length).toBeGreaterThan(cardType === 'cpu' ? 8 : 25);
        expect(report).toMatchObject({
          passed: true,
          coreConformant: true,
          extensionsComplete: true,
          driverRestarts: 0,
        });
        if (cardType !== 'cpu') {
          const others = report.checks.filter((c) => c.id.startsWith(`${cardType}.check.other.`)).map((c) => c.id);
          const peersWithType = plugins.filter((o) => o !== p && o.manifest.cardTypes.includes(cardType)).length;
          expect(others).toHaveLength(peersWithType);
        }
      }, 120_000);
    }
  }
});

const FAULTS: Array<[string, Finding, string]> = [
  ['segv', 'crash', 'SIGSEGV'],
  ['abort', 'crash', 'SIGABRT'],
  ['hang', 'hang', 'timed out'],
  ['overrun', 'overrun', 'past the spec'],
  ['garbage', 'output-form', 'not upper-case hex'],
  ['claim_all', 'false-claim', 'rc 0'],
  ['nondet', 'nondeterministic', 'Buy output differs'],
  // Crashes only for 17..20-digit card numbers: only the sweep sends those.
  ['kh_length', 'crash', 'kh of 17 digits'],
];

describe('fault-injected builds fail conformance with the right finding, and the kit survives', () => {
  for (const [fault, finding, text] of FAULTS) {
    it(`${fault}: ${finding}`, async () => {
      const library = join(ROOT, 'build/native/faults', `libgascard_fault_${fault}.so`);
      const report = await runConformance({ library, cardTypes: ['4442'], callTimeoutMs: 1500 });
      expect(report.passed).toBe(false);
      const failed = report.checks.filter((c) => c.status === 'fail');
      const hit = failed.find((c) => c.finding === finding);
      expect(hit, JSON.stringify(failed.slice(0, 3))).toBeDefined();
      expect(hit!.detail).toContain(text);
      if (finding === 'crash' || finding === 'hang') expect(report.driverRestarts).toBeGreaterThan(0);
      // The kit went on after the fault: later checks still ran and answered.
      expect(report.checks.some((c) => c.id === 'version' || c.id === 'errorText')).toBe(true);
    }, 120_000);
  }
});

describe('the conformance CLI', () => {
  it('prints one line per check in Chinese and English and exits 0 on a conformant library', () => {
    const lib = join(ROOT, 'plugins/chint/lib', `${process.platform}-${process.arch}`, 'libgascard_chint.so');
    const r = spawnSync(process.execPath, [join(ROOT, 'bin/meterhub.mjs'), 'conformance', '--lib', lib], {
      cwd: ROOT,
      encoding: 'utf8',
    });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(
      /通过 PASS\s+核心 core\s+4442 发新卡后读卡，卡号\/气量\/次数\/类型一致 \/ 4442 WriteNew then Read returns the same kh\/ql\/cs\/klx/,
    );
    expect(r.stdout).toContain('Verdict: CONFORMANT');
  }, 120_000);

  it('exits 1 on a non-conformant library and names the finding', () => {
    const lib = join(ROOT, 'build/native/faults/libgascard_fault_claim_all.so');
    const r = spawnSync(
      process.execPath,
      [join(ROOT, 'bin/meterhub.mjs'), 'conformance', '--lib', lib, '--card', '4442', '--no-peers'],
      { cwd: ROOT, encoding: 'utf8' },
    );
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/失败 FAIL\s+核心 core\s+4442 判卡：空白卡\(factory\)返回-1.*\[false-claim\] rc 0/);
    expect(r.stdout).toContain('Verdict: NOT CONFORMANT');
  }, 120_000);

  it('rejects an unknown card type with a clear error and exit 2', () => {
    const r = spawnSync(
      process.execPath,
      [join(ROOT, 'bin/meterhub.mjs'), 'conformance', '--lib', '/nonexistent.so', '--card', '4428'],
      { cwd: ROOT, encoding: 'utf8' },
    );
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('BAD_INPUT');
  });
});
