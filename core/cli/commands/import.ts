/**
 * `meterhub import cards|meters --file <csv|json> [--mapping <file>] [--dry-run] [--update] [--json]
 * [--report <file>]`: the old system's card base into the ledger (core/golive/card-import.ts), or its meters into
 * the meter registry (core/meters/meter-import.ts). SQLite in <data> unless --database-url / DATABASE_URL; plugins
 * as the server finds them (a card's maker must be known and enabled; a meter's dialect must be in the profiles the
 * enabled plugins give). A real import is appended to the audit trail with its batch id. Exit 0 when every row went
 * in or was unchanged, 3 when some rows were refused (the report says which and why), 2 on an error.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { Command } from 'commander';
import { dataOption } from '../options.ts';
import { AuditLog } from '../../audit/audit-log.ts';
import { openDatabase, type MeterHubDatabase } from '../../db/database.ts';
import { migrateAll } from '../../schema/all-migrations.ts';
import { importCards } from '../../golive/card-import.ts';
import { auditCliImport, type ImportKind, type ImportReportOf } from '../../golive/import-batch.ts';
import { importReportLines } from '../../golive/import-report-text.ts';
import type { Actor } from '../../ledger/ledger-store.ts';
import { importMeters } from '../../meters/meter-import.ts';
import type { PluginHost } from '../../plugins/plugin-types.ts';
import { ProfileRegistry } from '../../telemetry/profile-registry.ts';
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

/** What an import subcommand gets: the opened database and plugin host (with the profiles it pushed), the file. */
interface ImportRun {
  database: MeterHubDatabase;
  host: PluginHost;
  profiles: ProfileRegistry;
  actor: Actor;
  text: string;
  fileName: string;
  mappingText: string | undefined;
  dryRun: boolean | undefined;
  update: boolean | undefined;
}

/** One `import <kind>` subcommand: the same options, opening, audit, report and exit code for every kind. */
function importCommand(
  parent: Command,
  kind: ImportKind,
  description: string,
  update: string,
  run: (r: ImportRun) => Promise<ImportReportOf<ImportKind, object>>,
): void {
  parent
    .command(kind)
    .description(description)
    .requiredOption('--file <file>', "the old system's export (.csv or .json)")
    .option('--mapping <file>', "JSON mapping: their column names and codes → MeterHub's (docs/ops/go-live.md)")
    .option('--dry-run', 'check every row and print the report; write nothing')
    .option('--update', update)
    .addOption(dataOption('data directory (SQLite, plugin state)'))
    .option('--database-url <url>', 'PostgreSQL (default DATABASE_URL; otherwise SQLite in --data)')
    .option('--plugin-path <dir...>', 'extra plugin folders (also METERHUB_PLUGIN_PATH)')
    .option('--report <file>', 'write the full report as JSON')
    .option('--json', 'JSON output')
    .action((o: Opts) =>
      runCli(async () => {
        const config = loadMaintenanceConfig({ flags: o });
        const database = openDatabase({ url: config.databaseUrl ?? join(config.dataDir, DEFAULT_SQLITE_FILE) });
        const profiles = new ProfileRegistry();
        const host = await createPluginHost({
          dataDir: config.dataDir,
          profiles,
          ...(config.pluginPaths.length ? { pluginPaths: [...config.pluginPaths] } : {}),
        });
        try {
          await migrateAll(database);
          const actor = { name: `cli:${osUser()}`, role: 'ops', channel: 'cli' };
          const fileName = basename(o.file);
          const report = await run({
            database,
            host,
            profiles,
            actor,
            text: readFileSync(o.file, 'utf8'),
            fileName,
            dryRun: o.dryRun,
            update: o.update,
            mappingText: o.mapping ? readFileSync(o.mapping, 'utf8') : undefined,
          });
          if (!report.dryRun) await auditCliImport(new AuditLog(database), report, actor, fileName);
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

export function register(program: Command): void {
  const cmd = program.command('import').description('上线导入：从原系统导入 / go-live: import from the old system');
  importCommand(
    cmd,
    'cards',
    '导入卡片台账 / import the card base (CSV or JSON)',
    'apply changed rows (only cards MeterHub has not written yet); each change is kept',
    (r) => importCards(r),
  );
  importCommand(
    cmd,
    'meters',
    '导入表档案（远传表登记簿）/ import the meter registry (CSV or JSON)',
    'apply changed rows (e.g. a meter moved, retired); each change is kept',
    (r) => importMeters(r),
  );
}
