/**
 * `meterhub reconcile cards --file <old-system export> [--mapping <file>] [--json]`: the parallel-run report —
 * the old system's card base against MeterHub's ledger, card by card (core/golive/reconcile.ts). Read-only.
 * Exit 0 when both agree on every card, 3 when they differ (the report says where), 2 on an error.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { dataOption } from '../options.ts';
import { openDatabase } from '../../db/database.ts';
import { reconcileCards } from '../../golive/reconcile.ts';
import { createPluginHost } from '../../plugins/plugin-host.ts';
import { runCli } from '../run-cli.ts';
import { DEFAULT_SQLITE_FILE } from '../../config/defaults.ts';
import { loadMaintenanceConfig } from '../../config/load-config.ts';

interface Opts {
  file: string;
  mapping?: string;
  data: string;
  databaseUrl?: string;
  json?: boolean;
}

export function register(program: Command): void {
  const cmd = program.command('reconcile').description('并行期对账 / parallel-run reconciliation with the old system');
  cmd
    .command('cards')
    .description("逐卡比对原系统导出与本系统台账 / compare the old system's card export with the ledger, card by card")
    .requiredOption('--file <file>', "the old system's export (.csv or .json), same layout as for the import")
    .option('--mapping <file>', 'the same mapping file as for the import')
    .addOption(dataOption('data directory (SQLite, plugin state)'))
    .option('--database-url <url>', 'PostgreSQL (default DATABASE_URL; otherwise SQLite in --data)')
    .option('--json', 'JSON output')
    .action((o: Opts) =>
      runCli(async () => {
        const config = loadMaintenanceConfig({ flags: o });
        const database = openDatabase({ url: config.databaseUrl ?? join(config.dataDir, DEFAULT_SQLITE_FILE) });
        const host = await createPluginHost({ dataDir: config.dataDir });
        try {
          const r = await reconcileCards({
            database,
            host,
            text: readFileSync(o.file, 'utf8'),
            mappingText: o.mapping ? readFileSync(o.mapping, 'utf8') : undefined,
          });
          if (o.json) console.log(JSON.stringify(r, null, 2));
          else {
            console.log(
              `原系统行数 old rows ${r.rows} · 本系统卡数 ledger cards ${r.ledgerCards} · 一致 same ${r.same}`,
            );
            for (const [k, n] of Object.entries(r.byKind)) console.log(`  ${k}: ${n}`);
            for (const d of r.differences) {
              const old = d.old ? `原 old ${d.old.count}/${d.old.state}` : '原 old -';
              const mh = d.meterhub ? `本 MeterHub ${d.meterhub.count}/${d.meterhub.state}` : '本 MeterHub -';
              const where = `${d.maker ?? '-'}/${d.cardNo ?? '-'}${d.line ? ` (第 ${d.line} 行 line)` : ''}`;
              console.log(`[${d.kind}] ${where}: ${old} · ${mh} — ${d.zh} / ${d.en}`);
            }
          }
          if (r.differences.length) process.exitCode = 3;
        } finally {
          await host.close();
          await database.close();
        }
      }),
    );
}
