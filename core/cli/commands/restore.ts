/**
 * `meterhub restore --data <dir> --from <file> [--force] [--key-file <file>] [--database-url postgres://…]`:
 * brings a backup back (stop the servers first). Refuses to overwrite a ledger unless --force, which moves
 * the old files aside. See docs/deploy/backup-restore.md.
 */
import type { Command } from 'commander';
import { dataOption } from '../options.ts';
import { restore } from '../../ops/restore.ts';
import { runCli } from '../run-cli.ts';
import { loadMaintenanceConfig } from '../../config/load-config.ts';

interface Opts {
  data: string;
  from: string;
  force?: boolean;
  keyFile?: string;
  databaseUrl?: string;
  json?: boolean;
}

export function register(program: Command): void {
  program
    .command('restore')
    .description('从备份恢复台账（先停止服务）/ restore the ledger from a backup (stop the servers first)')
    .addOption(dataOption('data directory to restore into'))
    .requiredOption('--from <file>', 'archive written by `meterhub backup`')
    .option('--force', 'replace an existing ledger (old files are moved into <data>/pre-restore-*)')
    .option('--key-file <file>', 'ledger key file, when the archive does not hold the key')
    .option('--database-url <url>', 'PostgreSQL target for a PostgreSQL backup (default DATABASE_URL)')
    .option('--json', 'JSON output')
    .action((o: Opts) =>
      runCli(async () => {
        const config = loadMaintenanceConfig({ flags: o });
        const r = await restore({
          dataDir: config.dataDir,
          from: o.from,
          force: o.force === true,
          keyFile: o.keyFile,
          databaseUrl: config.databaseUrl,
        });
        if (o.json) console.log(JSON.stringify(r));
        else {
          console.log(`restored / 已恢复: ${r.database} (${r.dialect}, backup of ${r.createdAt})`);
          console.log(
            `  audit chain 审计链: ${r.audit.ok ? 'OK' : 'BROKEN'} (${r.audit.rows} rows, last seq ${r.audit.lastSeq})`,
          );
          console.log(`  ledger key 台账密钥: ${r.ledgerKey.keyId ?? '(none)'} from ${r.ledgerKey.source}`);
          if (r.movedAside) console.log(`  previous files moved to 旧文件已移至: ${r.movedAside}`);
        }
        for (const w of r.warnings) console.error(`  warning 警告: ${w}`);
        if (!r.audit.ok) process.exitCode = 1;
      }),
    );
}
