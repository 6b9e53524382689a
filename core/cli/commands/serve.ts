/**
 * `meterhub serve [--port 8080] [--host 127.0.0.1] [--data ./data]`: the central server.
 * SQLite in <data> unless DATABASE_URL is set; plugins from ./plugins and METERHUB_PLUGIN_PATH; migrations run
 * at start; the first start with no tokens prints a one-time ops token.
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { loadServerConfig } from '../../config/load-config.ts';
import { releaseYoungGeneration } from '../../util/start-memory.mjs';
import { closeOnSignals, startServer } from '../../server/server.ts';
import { dataOption } from '../options.ts';
import { runCli } from '../run-cli.ts';

// Options carry no defaults from the environment: core/config/settings.ts gives each its variable and default,
// and loadServerConfig validates them all once (a bad value is CONFIG_INVALID naming the setting).
export function register(program: Command): void {
  program
    .command('serve')
    .description('启动中心服务器 / run the central server (card API, ledger)')
    .option('--port <port>', 'TCP port, 0 = any free port (env PORT, default 8080)')
    .option('--host <host>', 'address to listen on (default 127.0.0.1)')
    .addOption(dataOption())
    .option('--plugin-path <dir...>', 'extra plugin folders (also METERHUB_PLUGIN_PATH)')
    .option('--log-level <level>', 'pino level (env METERHUB_LOG_LEVEL, default info)')
    .option('--no-bootstrap-token', 'do not create an ops token on first start')
    .option('--gateway <config.json>', 'also run a remote-read gateway (serial/collector/MQTT) in this process')
    .option(
      '--trust-proxy <list>',
      'proxies trusted for X-Forwarded-For: true|false|addresses/CIDRs|loopback (env METERHUB_TRUST_PROXY)',
    )
    .option(
      '--headers-timeout-ms <ms>',
      'request head must arrive within (env METERHUB_HEADERS_TIMEOUT_MS, default 15000)',
    )
    .option(
      '--request-timeout-ms <ms>',
      'whole request must arrive within (env METERHUB_REQUEST_TIMEOUT_MS, default 30000)',
    )
    .option(
      '--keep-alive-timeout-ms <ms>',
      'idle keep-alive socket closed after (env METERHUB_KEEPALIVE_TIMEOUT_MS, default 65000)',
    )
    .option('--max-connections <n>', 'open sockets at most (env METERHUB_MAX_CONNECTIONS, default 1024)')
    .action((o: Record<string, unknown>) =>
      runCli(async () => {
        const config = loadServerConfig({ flags: o });
        // Loaded only with --gateway: serialport and mqtt stay out of a plain server (issue 17, idle memory).
        const gateway = config.gatewayFile
          ? (await import('../../../gateways/gateway.ts')).validateGatewayConfig(
              JSON.parse(readFileSync(config.gatewayFile, 'utf8')),
            )
          : undefined;
        const server = await startServer({ config, ...(gateway ? { gateway } : {}) });
        // bin/meterhub.mjs held the new space small while we loaded and started (issue 17): the load may grow it now.
        releaseYoungGeneration();
        server.app.log.info(
          { url: server.url, database: server.database.location, dialect: server.database.dialect },
          'MeterHub listening',
        );
        // Machine-readable line for supervisors and tests that start on port 0.
        process.stdout.write(`METERHUB_LISTENING ${server.url}\n`);
        closeOnSignals(() => server.close(), { logger: server.app.log as never });
      }),
    );
}
