/**
 * `meterhub plugins list|enable|disable [--json]`: ops control from a shell. State is shared with a
 * running server through <data>/plugins.json. `list` starts each enabled plugin's driver to report
 * real driver health, then stops it.
 */
import type { Command } from 'commander';
import { dataOption } from '../options.ts';
import { createPluginHost } from '../../plugins/plugin-host.ts';
import { presentAll, presentPlugin } from '../../plugins/routes.ts';
import { STAND_IN_LABEL } from '../../plugins/plugin-host.ts';
import { runCli } from '../run-cli.ts';

interface Opts {
  json?: boolean;
  data: string;
  probe: boolean;
}

export function register(program: Command): void {
  const cmd = program.command('plugins').description('表厂插件管理 / manage maker plugins');
  const common = (c: Command) => c.option('--json', 'JSON output').addOption(dataOption('data directory'));

  common(
    cmd
      .command('list')
      .description('列出插件 / list plugins')
      .option('--no-probe', 'do not start drivers to check health'),
  ).action((o: Opts) =>
    runCli(async () => {
      const host = await createPluginHost({ dataDir: o.data });
      try {
        if (o.probe) {
          await Promise.all(
            host
              .list()
              .filter((p) => p.enabled && p.libraryFound)
              .map(async (p) => {
                try {
                  await host.driver(p.id).info();
                } catch {
                  /* health() below carries the error */
                }
              }),
          );
        }
        const plugins = presentAll(host);
        if (o.json) return void console.log(JSON.stringify({ plugins }, null, 2));
        for (const p of plugins) {
          if (p.state === 'invalid') {
            console.log(
              [p.id.padEnd(10), '清单无效 invalid', p.error.code, p.error.messageZh, p.error.messageEn, p.dir].join(
                '  ',
              ),
            );
            continue;
          }
          const health = p.driver
            ? `${p.driver.state}${p.driver.lastError ? ` (${p.driver.lastError.code})` : ''}`
            : '-';
          console.log(
            [
              p.id.padEnd(10),
              `${p.name['zh-CN']} ${p.name.en}`.padEnd(22),
              p.cardTypes.join(',').padEnd(9),
              p.enabled ? '已启用 enabled ' : '已停用 disabled',
              p.libraryFound ? '库已找到 library found' : '缺少动态库 library missing',
              p.standIn ? STAND_IN_LABEL : '正式库 real',
              `驱动 driver: ${health}`,
            ].join('  '),
          );
        }
      } finally {
        await host.close();
      }
    }),
  );

  for (const action of ['enable', 'disable'] as const) {
    common(
      cmd
        .command(`${action} <id>`)
        .description(action === 'enable' ? '启用插件 / enable a plugin' : '停用插件 / disable a plugin'),
    ).action((id: string, o: Opts) =>
      runCli(async () => {
        const host = await createPluginHost({ dataDir: o.data });
        try {
          const st = presentPlugin(await host[action](id));
          if (o.json) console.log(JSON.stringify(st, null, 2));
          else console.log(`${st.id}: ${st.enabled ? '已启用 enabled' : '已停用 disabled'}`);
        } finally {
          await host.close();
        }
      }),
    );
  }
}
