/**
 * `meterhub audit verify [--data ./data]`: walks the audit hash chain. Exit 0 when intact; exit 1 naming the
 * first bad row otherwise.
 */
import type { Command } from 'commander';
import { dataOption } from '../options.ts';
import { openServerDatabase } from '../../server/server.ts';
import { AuditLog } from '../../audit/audit-log.ts';
import { runCli } from '../run-cli.ts';
import { loadMaintenanceConfig } from '../../config/load-config.ts';

export function register(program: Command): void {
  const cmd = program.command('audit').description('审计日志 / audit trail');
  cmd
    .command('verify')
    .description('校验审计哈希链 / verify the tamper-evident hash chain')
    .addOption(dataOption('data directory'))
    .option('--json', 'JSON output')
    .action((o: { data: string; json?: boolean }) =>
      runCli(async () => {
        const config = loadMaintenanceConfig({ flags: o });
        const database = await openServerDatabase({ dataDir: config.dataDir, databaseUrl: config.databaseUrl });
        try {
          const r = await new AuditLog(database).verify();
          if (o.json) console.log(JSON.stringify(r));
          else if (r.ok) console.log(`audit chain OK / 审计链完整: ${r.rows} rows, last seq ${r.lastSeq}`);
          else
            console.error(
              `audit chain BROKEN / 审计链被破坏 at row ${r.firstBad!.seq}: ${r.firstBad!.reason} (${r.rows} rows verified before it)`,
            );
          if (!r.ok) process.exitCode = 1;
        } finally {
          await database.close();
        }
      }),
    );
}
