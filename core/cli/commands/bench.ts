/**
 * `meterhub bench [--only card,import,decode,e2e,serial,clerk] [--quick] [--out <file>]` (npm run bench): every
 * benchmark, each beside its same-run baseline or computed bound; rewrites BENCHMARKS.md (a --quick smoke run writes
 * bench/results/BENCHMARKS.quick.md instead, so it never replaces real figures). Prints every figure, then the
 * missed targets last; exit 1 only if a benchmark failed to run (a missed target exits 0).
 */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { runCli } from '../run-cli.ts';

export function register(program: Command): void {
  program
    .command('bench')
    .description('运行全部性能基准并重写 BENCHMARKS.md / run every benchmark and rewrite BENCHMARKS.md')
    .option('--only <names>', 'comma-separated: card,import,decode,e2e,serial,clerk')
    .option('--quick', 'short runs for smoke-testing (writes bench/results/BENCHMARKS.quick.md)')
    .option('--out <file>', 'markdown report path (default BENCHMARKS.md)')
    .action((o: { only?: string; quick?: boolean; out?: string }) =>
      runCli(async () => {
        // bench/ is a tool, outside the production graph: loaded only when this command runs (test/architecture).
        const { DEFAULT_MD, QUICK_MD, exitCodeOf, rel, reportLines, runBenchmarks, writeBenchReport } =
          await import('../../../bench/run-all.ts');
        const only = o.only
          ? o.only
              .split(',')
              .map((s) => s.trim())
              .filter(Boolean)
          : undefined;
        const report = await runBenchmarks({
          ...(only ? { only } : {}),
          quick: !!o.quick,
          log: (l) => console.error(l),
        });
        const md = o.out ? resolve(o.out) : o.quick ? QUICK_MD : DEFAULT_MD;
        const command = [
          'meterhub bench',
          ...(only ? [`--only ${only.join(',')}`] : []),
          ...(o.quick ? ['--quick'] : []),
        ].join(' ');
        writeBenchReport(report, md, command);
        console.log(`wrote ${rel(md)} (${report.seconds} s)`);
        // The missed targets come last (reportLines); a miss is reported, only a bench that failed to run is exit 1.
        for (const line of reportLines(report)) console.log(line);
        process.exitCode = exitCodeOf(report);
      }),
    );
}
