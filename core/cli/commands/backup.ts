/**
 * `meterhub backup --data <dir> --out <file> [--no-key] [--database-url postgres://…] [--json]`: a consistent
 * backup of the ledger (and the audit trail, tokens, readings) while the server runs, with the ledger key.
 * See docs/deploy/backup-restore.md.
 */
import type { Command } from 'commander';
import { dataOption } from '../options.ts';
import { API_VERSION } from '../../server/app.ts';
import { backup } from '../../ops/backup.ts';
import { runCli } from '../run-cli.ts';
import { loadMaintenanceConfig } from '../../config/load-config.ts';

interface Opts {
  data: string;
  out: string;
  key: boolean;
  databaseUrl?: string;
  json?: boolean;
}

export function register(program: Command): void {
  program
    .command('backup')
    .description('备份台账（服务运行时也可）/ back up the ledger (safe while the server runs)')
    .addOption(dataOption())
    .requiredOption('--out <file>', 'archive to write (.tar.gz, mode 0600)')
    .option('--no-key', 'leave ledger.key out of the archive (then keep the key with the backup yourself)')
    .option(
      '--database-url <url>',
      'PostgreSQL to dump with pg_dump (default DATABASE_URL; otherwise SQLite in --data)',
    )
    .option('--json', 'JSON output')
    .action((o: Opts) =>
      runCli(async () => {
        const config = loadMaintenanceConfig({ flags: o });
        const r = await backup({
          dataDir: config.dataDir,
          out: o.out,
          includeKey: o.key,
          databaseUrl: config.databaseUrl,
          meterhubVersion: API_VERSION,
        });
        if (o.json) {
          console.log(JSON.stringify(r));
          return;
        }
        const m = r.manifest;
        console.log(`backup written / 备份已写入: ${r.out} (${r.bytes} bytes, ${m.dialect})`);
        if (m.counts)
          console.log(
            `  ledger transactions 台账交易: ${m.counts.ledgerTransactions}, cards 卡: ${m.counts.ledgerCards}, audit rows 审计: ${m.counts.auditRows}`,
          );
        if (m.audit) console.log(`  audit chain 审计链: ${m.audit.ok ? 'OK' : 'BROKEN'} (${m.audit.rows} rows)`);
        console.log(
          `  ledger key 台账密钥: ${m.ledgerKey.keyId ?? '(none)'} — ${m.ledgerKey.included ? 'in the archive / 已包含（请妥善保管此文件）' : 'NOT in the archive / 未包含'}`,
        );
        for (const w of r.warnings) console.error(`  warning 警告: ${w}`);
      }),
    );
}
