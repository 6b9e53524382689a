/**
 * `meterhub token create --role counter|bank|ops|billing --name <n>` prints the token once (only its SHA-256 is
 * stored); `token list`; `token revoke --name <n>`. Uses <data> or DATABASE_URL, like the server.
 */
import type { Command } from 'commander';
import { dataOption } from '../options.ts';
import { openServerDatabase } from '../../server/server.ts';
import { ROLES } from '../../auth/roles.ts';
import { TokenStore } from '../../auth/token-store.ts';
import { runCli } from '../run-cli.ts';
import { loadMaintenanceConfig } from '../../config/load-config.ts';

interface Common {
  data: string;
  json?: boolean;
}

async function withTokens<T>(o: Common, fn: (t: TokenStore) => Promise<T>): Promise<T> {
  const config = loadMaintenanceConfig({ flags: o });
  const database = await openServerDatabase({ dataDir: config.dataDir, databaseUrl: config.databaseUrl });
  try {
    return await fn(new TokenStore(database));
  } finally {
    await database.close();
  }
}

export function register(program: Command): void {
  const cmd = program.command('token').description('API 令牌管理 / manage API tokens');
  const common = (c: Command) => c.addOption(dataOption('data directory')).option('--json', 'JSON output');

  common(cmd.command('create').description('创建令牌（只显示一次）/ create a token (shown once)'))
    .requiredOption('--role <role>', `one of ${ROLES.join('|')}`)
    .requiredOption('--name <name>', 'who uses it, e.g. counter-01, bank-icbc')
    .action((o: Common & { role: string; name: string }) =>
      runCli(() =>
        withTokens(o, async (t) => {
          const { token, info } = await t.create(o.name, o.role);
          if (o.json) return void console.log(JSON.stringify({ ...info, token }));
          console.log(
            `Token for ${info.name} (${info.role}) — shown only now / 仅显示这一次:\n\n  ${token}\n\nUse: Authorization: Bearer <token>`,
          );
        }),
      ),
    );

  common(cmd.command('list').description('列出令牌 / list tokens (never the token values)')).action((o: Common) =>
    runCli(() =>
      withTokens(o, async (t) => {
        const list = await t.list();
        if (o.json) return void console.log(JSON.stringify(list, null, 2));
        for (const i of list)
          console.log(
            `${i.name.padEnd(24)} ${i.role.padEnd(8)} created ${i.createdAt}${i.revokedAt ? `  REVOKED ${i.revokedAt}` : ''}`,
          );
      }),
    ),
  );

  common(cmd.command('revoke').description('吊销令牌 / revoke a token'))
    .requiredOption('--name <name>')
    .action((o: Common & { name: string }) =>
      runCli(() =>
        withTokens(o, async (t) => {
          const i = await t.revoke(o.name);
          console.log(o.json ? JSON.stringify(i) : `revoked ${i.name} (${i.role})`);
        }),
      ),
    );
}
