/**
 * `meterhub serve [--port 8080] [--host 127.0.0.1] [--data ./data]`: the central server.
 * SQLite in <data> unless DATABASE_URL is set; plugins from ./plugins and METERHUB_PLUGIN_PATH; migrations run
 * at start; the first start with no tokens prints a one-time ops token.
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { validateGatewayConfig } from '../../../gateways/gateway.ts';
import { closeOnSignals, startServer } from '../../api/server.ts';
import { runCli } from '../run-cli.ts';

interface Opts { port: string; host: string; data: string; pluginPath?: string[]; logLevel?: string; bootstrapToken: boolean; gateway?: string }

export function register(program: Command): void {
  program.command('serve')
    .description('启动中心服务器 / run the central server (card API, ledger)')
    .option('--port <port>', 'TCP port (0 = any free port)', process.env.PORT ?? '8080')
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--data <dir>', 'data directory (SQLite, ledger key, plugin state)', './data')
    .option('--plugin-path <dir...>', 'extra plugin folders (also METERHUB_PLUGIN_PATH)')
    .option('--log-level <level>', 'pino level', process.env.METERHUB_LOG_LEVEL ?? 'info')
    .option('--no-bootstrap-token', 'do not create an ops token on first start')
    .option('--gateway <config.json>', 'also run a remote-read gateway (serial/collector/MQTT) in this process')
    .action((o: Opts) => runCli(async () => {
      const port = Number(o.port);
      if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port must be 0-65535, got ${o.port}`);
      const gateway = o.gateway ? validateGatewayConfig(JSON.parse(readFileSync(o.gateway, 'utf8'))) : undefined;
      const server = await startServer({
        ...(gateway ? { gateway } : {}),
        port, host: o.host, dataDir: o.data, bootstrapToken: o.bootstrapToken,
        ...(o.pluginPath ? { pluginPaths: o.pluginPath } : {}), ...(o.logLevel ? { logLevel: o.logLevel } : {}),
      });
      server.app.log.info({ url: server.url, database: server.database.location, dialect: server.database.dialect }, 'MeterHub listening');
      // Machine-readable line for supervisors and tests that start on port 0.
      process.stdout.write(`METERHUB_LISTENING ${server.url}\n`);
      closeOnSignals(() => server.close(), { logger: server.app.log as never });
    }));
}
