/**
 * `meterhub import cards --file <csv|json> [--mapping <file>] [--dry-run] [--update] [--json] [--report <file>]`:
 * the old system's card base into the ledger (core/golive/card-import.ts). SQLite in <data> unless
 * --database-url / DATABASE_URL; plugins as the server finds them (the maker must be known and enabled).
 * A real import is appended to the audit trail with its batch id. Exit 0 when every row went in or was unchanged,
 * 3 when some rows were refused (the report says which and why), 2 on an error.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { Command } from 'commander';
import { dataOption } from '../options.ts';
import { AuditLog } from '../../audit/audit-log.ts';
import { openDatabase } from '../../db/database.ts';
import { migrateAll } from '../../schema/all-migrations.ts';
import { importCards } from '../../golive/card-import.ts';
import { importReportLines } from '../../golive/import-report-text.ts';
import { createPluginHost } from '../../plugins/plugin-host.ts';
import { runCli } from '../run-cli.ts';
import { DEFAULT_SQLITE_FILE } from '../../config/defaults.ts';
import { loadMaintenanceConfig } from '../../config/load-config.ts';
import { osUser } from '../../config/environment.ts';

interface Opts {
  file: string;
  mapping?: string;
  dryRun?: boolean;
  update?: boolean;
  data: string;
  databaseUrl?: string;
  json?: boolean;
  report?: string;
  pluginPath?: string[];
}

export function register(program: Command): void {
  const cmd = program.command('import').description('上线导入：从原系统导入 / go-live: import from the old system');
  cmd
    .command('cards')
    .description('导入卡片台账 / import the card base (CSV or JSON)')
    .requiredOption('--file <file>', "the old system's export (.csv or .json)")
    .option('--mapping <file>', "JSON mapping: their column names and codes → MeterHub's (docs/ops/go-live.md)")
    .option('--dry-run', 'check every row and print the report; write nothing')
    .option('--update', 'apply changed rows (only cards MeterHub has not written yet); each change is kept')
    .addOption(dataOption('data directory (SQLite, plugin state)'))
    .option('--database-url <url>', 'PostgreSQL (default DATABASE_URL; otherwise SQLite in --data)')
    .option('--plugin-path <dir...>', 'extra plugin folders (also METERHUB_PLUGIN_PATH)')
    .option('--report <file>', 'write the full report as JSON')
    .option('--json', 'JSON output')
    .action((o: Opts) =>
      runCli(async () => {
        const config = loadMaintenanceConfig({ flags: o });
        const database = openDatabase({ url: config.databaseUrl ?? join(config.dataDir, DEFAULT_SQLITE_FILE) });
        const host = await createPluginHost({
          dataDir: config.dataDir,
          ...(config.pluginPaths.length ? { pluginPaths: [...config.pluginPaths] } : {}),
        });
        try {
          await migrateAll(database);
          const actor = { name: `cli:${osUser()}`, role: 'ops', channel: 'cli' };
          const report = await importCards({
            database,
            host,
            actor,
            text: readFileSync(o.file, 'utf8'),
            fileName: basename(o.file),
            dryRun: o.dryRun,
            update: o.update,
            mappingText: o.mapping ? readFileSync(o.mapping, 'utf8') : undefined,
          });
          if (!report.dryRun) {
            // The batch id names the source's SHA-256 (its first 12 hex); the batch row holds all of it.
            const audit = new AuditLog(database);
            await audit.append({
              at: new Date().toISOString(),
              requestId: report.batchId!,
              actor: actor.name,
              role: actor.role,
              channel: actor.channel,
              method: 'CLI',
              path: `import cards ${basename(o.file)} sha256=${report.sourceSha256}`,
              route: 'meterhub import cards',
              status: report.invalid + report.conflicts ? 207 : 200,
              transactionId: report.batchId,
              idempotencyKey: null,
              ip: null,
              durationMs: Math.round(report.seconds * 1000),
            });
            await audit.flush();
          }
          if (o.report) writeFileSync(o.report, JSON.stringify(report, null, 2));
          console.log(o.json ? JSON.stringify(report, null, 2) : importReportLines(report).join('\n'));
          if (report.invalid + report.conflicts > 0) process.exitCode = 3;
        } finally {
          await host.close();
          await database.close();
        }
      }),
    );
}
