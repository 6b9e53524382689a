/**
 * The bench runner's verdicts: a target is a ratio condition on the row's same-run ratio, `met` is the runner's
 * (never the bench's), an absolute target is refused, a missed target is printed last and exits 0, and only a
 * benchmark that fails to run (or states a target that is not a ratio) makes the exit code 1. The end-to-end cases
 * run small real scripts through the runner's own child-process path.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  BENCHMARKS,
  evaluateRow,
  exitCodeOf,
  missedTargets,
  parseTarget,
  reportLines,
  runBenchmarks,
  type BenchDef,
  type BenchReport,
  type BenchRowSpec,
} from './run-all.ts';

const row = (ratio: number | undefined, target?: string, extra: Partial<BenchRowSpec> = {}): BenchRowSpec => ({
  bench: 't',
  metric: `m ${ratio}`,
  value: 1,
  unit: '/s',
  baseline: { label: 'bare route', value: 10, unit: '/s' },
  ...(ratio !== undefined ? { ratio } : {}),
  ...(target !== undefined ? { target } : {}),
  ...extra,
});

describe('parseTarget: ratio conditions only', () => {
  it('accepts the issue-17 targets and the converted ones', () => {
    expect(parseTarget('≥ 0.25')).toEqual({ op: '≥', value: 0.25 });
    expect(parseTarget('≥ 0.15')).toEqual({ op: '≥', value: 0.15 });
    expect(parseTarget('≤ 3×')).toEqual({ op: '≤', value: 3 });
    expect(parseTarget('≤ 2×')).toEqual({ op: '≤', value: 2 });
    expect(parseTarget('≤ 1.3×')).toEqual({ op: '≤', value: 1.3 });
    expect(parseTarget('≥ 0.85')).toEqual({ op: '≥', value: 0.85 });
    expect(parseTarget('<= 2x')).toEqual({ op: '≤', value: 2 });
  });

  it.each(['≥ 2000/s', '< 0.2 ms', '≥ 10,000/s', '≥ 0.8 of store ceiling', '≤ 5 ms', '2000', '≥', '= 1'])(
    'refuses the absolute or malformed target %j',
    (t) => {
      expect(() => parseTarget(t)).toThrow(/not a ratio condition/);
    },
  );
});

describe('evaluateRow: the runner computes met from the ratio', () => {
  it('≥ x is met at and above x, missed below', () => {
    expect(evaluateRow(row(0.25, '≥ 0.25')).met).toBe(true);
    expect(evaluateRow(row(0.3, '≥ 0.25')).met).toBe(true);
    expect(evaluateRow(row(0.249, '≥ 0.25')).met).toBe(false);
  });

  it('≤ x× is met at and below x, missed above', () => {
    expect(evaluateRow(row(3, '≤ 3×')).met).toBe(true);
    expect(evaluateRow(row(1.2, '≤ 1.3×')).met).toBe(true);
    expect(evaluateRow(row(3.01, '≤ 3×')).met).toBe(false);
  });

  it("ignores a bench's own met (the ratio decides)", () => {
    const claimed = { ...row(0.1, '≥ 0.25'), met: true } as BenchRowSpec;
    expect(evaluateRow(claimed).met).toBe(false);
    const noTarget = { ...row(0.1), met: false } as BenchRowSpec;
    expect(evaluateRow(noTarget)).not.toHaveProperty('met');
  });

  it('refuses an absolute target, a target without a baseline and a target without a ratio', () => {
    expect(() => evaluateRow(row(0.1, '≥ 2000/s'))).toThrow(/absolute targets are refused/);
    expect(() => evaluateRow(row(0.1, '≥ 0.25', { baseline: undefined }))).toThrow(/no same-run baseline/);
    expect(() => evaluateRow(row(undefined, '≥ 0.25'))).toThrow(/no finite ratio/);
    expect(() => evaluateRow(row(Number.NaN, '≥ 0.25'))).toThrow(/no finite ratio/);
  });
});

describe('runBenchmarks, the exit code and the misses printed last (real child scripts)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mh-run-all-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** A bench script that writes `figures` where the runner asks, then exits with `code`. */
  const script = (name: string, figures: unknown, code = 0): string => {
    const p = join(dir, `${name}.ts`);
    writeFileSync(
      p,
      `import { writeFileSync } from 'node:fs';\n` +
        `writeFileSync(process.env.METERHUB_BENCH_OUT!, ${JSON.stringify(JSON.stringify(figures))});\n` +
        `process.exit(${code});\n`,
    );
    return p;
  };
  const def = (name: string, path: string, target: string): BenchDef => ({
    name,
    title: name,
    script: path,
    args: () => [],
    method: 'test',
    rows: (o: { ratio: number }) => [
      {
        bench: name,
        metric: `${name} figure`,
        value: o.ratio * 100,
        unit: '/s',
        baseline: { label: 'same-run baseline', value: 100, unit: '/s' },
        ratio: o.ratio,
        target,
      },
    ],
  });

  it('a missed target exits 0 and is the last thing printed; a met one is not listed', async () => {
    const rep = await runBenchmarks({
      quick: true,
      benchmarks: [
        def('slow', script('slow', { ratio: 0.1 }), '≥ 0.25'),
        def('fast', script('fast', { ratio: 0.5 }), '≥ 0.25'),
      ],
    });
    expect(rep.runs.map((r) => [r.name, r.status])).toEqual([
      ['slow', 'ok'],
      ['fast', 'ok'],
    ]);
    expect(rep.runs.map((r) => r.rows[0]?.met)).toEqual([false, true]);
    expect(missedTargets(rep).map((r) => r.bench)).toEqual(['slow']);
    expect(exitCodeOf(rep)).toBe(0);
    const lines = reportLines(rep);
    expect(lines.slice(-2)).toEqual([
      'targets missed (1 of 2):',
      '  - slow: slow figure: ratio 0.1 to same-run baseline, target ≥ 0.25',
    ]);
  });

  it('a bench that fails to run, or states an absolute target, exits 1; the misses still come last', async () => {
    const rep = await runBenchmarks({
      quick: true,
      benchmarks: [
        def('broken', script('broken', { ratio: 1 }, 3), '≥ 0.25'),
        def('absolute', script('absolute', { ratio: 1 }), '≥ 2000/s'),
        def('missed', script('missed', { ratio: 2 }), '≤ 1.3×'),
      ],
    });
    expect(rep.runs.map((r) => r.status)).toEqual(['failed', 'failed', 'ok']);
    expect(rep.runs[0]?.note).toMatch(/^exit 3/);
    expect(rep.runs[1]?.note).toMatch(/^target refused: .*"≥ 2000\/s" is not a ratio condition/);
    expect(rep.runs[1]?.rows).toEqual([]);
    expect(exitCodeOf(rep)).toBe(1);
    const lines = reportLines(rep);
    const failedAt = lines.indexOf('benchmarks that failed to run (2):');
    const missedAt = lines.indexOf('targets missed (1 of 1):');
    expect(failedAt).toBeGreaterThan(-1);
    expect(missedAt).toBeGreaterThan(failedAt);
    expect(lines.at(-1)).toBe('  - missed: missed figure: ratio 2 to same-run baseline, target ≤ 1.3×');
  });

  it('every target met: one closing line, exit 0', () => {
    const rep: BenchReport = {
      date: '',
      quick: true,
      ok: true,
      seconds: 0,
      machine: {
        cpuModel: '',
        cores: 2,
        memoryGiB: 1,
        os: '',
        node: '',
        loadAverageBefore: [],
        loadAverageAfter: [],
      },
      runs: [
        {
          name: 'a',
          script: 'a.ts',
          args: [],
          status: 'ok',
          seconds: 1,
          loadBefore: [],
          loadAfter: [],
          rows: [evaluateRow(row(0.9, '≥ 0.8')), evaluateRow(row(0.5))],
        },
      ],
    };
    expect(exitCodeOf(rep)).toBe(0);
    expect(reportLines(rep).at(-1)).toBe('targets: all 1 met');
  });
});

describe("the project's benchmarks state ratio targets the runner accepts", () => {
  const entry = (name: string) => {
    const b = BENCHMARKS.find((x) => x.name === name);
    if (!b) throw new Error(`no benchmark ${name}`);
    return b;
  };
  /** The targeted rows of an entry fed these figures, as the runner evaluates them. */
  const targeted = (name: string, figures: unknown) =>
    entry(name)
      .rows(figures)
      .map(evaluateRow)
      .filter((x) => x.target !== undefined)
      .map((x) => [x.target, x.ratio, x.met]);

  it('import: ≥ 0.3 of COPY', () => {
    const io = { seconds: 20, rowsPerSecond: 50_000, rerunSeconds: 20 };
    const figures = { rows: 1e6, postgres: io, sqlite: io, copy: { rowsPerSecond: 1e6 }, ratio: 0.05, target: 0.3 };
    expect(targeted('import', figures)).toEqual([['≥ 0.3', 0.05, false]]);
  });

  it('e2e: ≥ 0.85 of min(transport, store) (no longer ≥ 10,000/s), webhook batches ≥ 0.8 of the store', () => {
    const data = {
      N: 100_000,
      transport: 118_000,
      store: 8_000,
      e2e: { rate: 7_000 },
      e2eWebhook: { rate: 3_800, counters: { inserted: 20_000 } },
      e2eWebhookBatch: { rate: 8_700, perPost: 500, counters: { inserted: 20_000 } },
    };
    expect(targeted('e2e', { data })).toEqual([
      ['≥ 0.85', 0.875, true],
      ['≥ 0.8', 1.087, true],
    ]);
  });

  it('serial: efficiency ≥ 0.85', () => {
    const data = { meters: 20, sweeps: 3, efficiency: 0.8, boundTotal: 16_500, exchanges: 60, perRead: 340 };
    expect(targeted('serial', { data })).toEqual([['≥ 0.85', 0.8, false]]);
  });

  it('clerk: time per sale against its card I/O ≥ 0.8; the flow card I/O against a minimal sale ≤ 2×', () => {
    const figures = {
      settings: { sales: 20 },
      perSale: {
        measuredMs: 2000,
        p50Ms: 2000,
        maxMs: 2100,
        boundMs: 1700,
        ratio: 0.85,
        bytes: { commands: 42, sent: 120, received: 1685 },
        programmed: 5,
      },
      read: { measuredMs: 400, boundMs: 330, ratio: 0.825 },
      purchase: { measuredMs: 1600, boundMs: 1370, ratio: 0.856 },
      callsPerSale: { read4442: 9 },
      minimalSale: { boundMs: 325, flowOverMinimal: 5.23 },
    };
    expect(targeted('clerk', figures)).toEqual([
      ['≥ 0.8', 0.85, true],
      ['≤ 2×', 5.23, false],
    ]);
    const cut = { ...figures, minimalSale: { boundMs: 325, flowOverMinimal: 1.46 } };
    expect(targeted('clerk', cut)).toEqual([
      ['≥ 0.8', 0.85, true],
      ['≤ 2×', 1.46, true],
    ]);
  });
});
