/**
 * `meterhub bench [--only card,import,decode,e2e,serial] [--quick] [--out <file>]` (npm run bench): every benchmark,
 * each beside its same-run baseline or computed bound; rewrites BENCHMARKS.md (a --quick smoke run writes
 * bench/results/BENCHMARKS.quick.md instead, so it never replaces real figures). Exit 1 only if a benchmark
 * failed to run.
 */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { runCli } from '../run-cli.ts';

export function register(program: Command): void {
  program
    .command('bench')
    .description('运行全部性能基准并重写 BENCHMARKS.md / run every benchmark and rewrite BENCHMARKS.md')
    .option('--only <names>', 'comma-separated: card,import,decode,e2e,serial')
    .option('--quick', 'short runs for smoke-testing (writes bench/results/BENCHMARKS.quick.md)')
    .option('--out <file>', 'markdown report path (default BENCHMARKS.md)')
    .action((o: { only?: string; quick?: boolean; out?: string }) =>
      runCli(async () => {
        // bench/ is a tool, outside the production graph: loaded only when this command runs (test/architecture).
        const { DEFAULT_MD, QUICK_MD, rel, runBenchmarks, writeBenchReport } =
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
        for (const run of report.runs) {
          console.log(
            `${run.name.padEnd(7)} ${run.status.padEnd(8)} ${String(run.seconds).padStart(6)} s  load ${run.loadBefore.join(' ')} → ${run.loadAfter.join(' ')}${run.note ? `  (${run.note})` : ''}`,
          );
          for (const row of run.rows)
            console.log(
              `        ${row.metric}: ${row.value} ${row.unit}${row.ratio !== undefined ? `  ratio ${row.ratio}` : ''}${row.target ? `  target ${row.target} ${row.met ? 'met' : 'NOT met'}` : ''}`,
            );
        }
        console.log(`wrote ${rel(md)} (${report.seconds} s)`);
        if (!report.ok) process.exitCode = 1;
      }),
    );
}
