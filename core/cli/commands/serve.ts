/**
 * `meterhub serve [--port 8080] [--host 127.0.0.1] [--data ./data]`: the central server.
 * SQLite in <data> unless DATABASE_URL is set; plugins from ./plugins and METERHUB_PLUGIN_PATH; migrations run
 * at start; the first start with no tokens prints a one-time ops token.
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { validateGatewayConfig } from '../../../gateways/gateway.ts';
import { closeOnSignals, parseTrustProxy, startServer } from '../../api/server.ts';
import { runCli } from '../run-cli.ts';

interface Opts {
  port: string; host: string; data: string; pluginPath?: string[]; logLevel?: string; bootstrapToken: boolean; gateway?: string;
  trustProxy?: string; headersTimeoutMs?: string; requestTimeoutMs?: string; keepAliveTimeoutMs?: string; maxConnections?: string;
}

/** A whole number flag, or undefined when not given (then the METERHUB_* env, then the default). */
function whole(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a positive whole number, got ${v}`);
  return n;
}

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
    .option('--trust-proxy <list>', 'proxies trusted for X-Forwarded-For: true|false|addresses/CIDRs|loopback (env METERHUB_TRUST_PROXY)')
    .option('--headers-timeout-ms <ms>', 'request head must arrive within (env METERHUB_HEADERS_TIMEOUT_MS, default 15000)')
    .option('--request-timeout-ms <ms>', 'whole request must arrive within (env METERHUB_REQUEST_TIMEOUT_MS, default 30000)')
    .option('--keep-alive-timeout-ms <ms>', 'idle keep-alive socket closed after (env METERHUB_KEEPALIVE_TIMEOUT_MS, default 65000)')
    .option('--max-connections <n>', 'open sockets at most (env METERHUB_MAX_CONNECTIONS, default 1024)')
    .action((o: Opts) => runCli(async () => {
      const port = Number(o.port);
      if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port must be 0-65535, got ${o.port}`);
      const gateway = o.gateway ? validateGatewayConfig(JSON.parse(readFileSync(o.gateway, 'utf8'))) : undefined;
      const http = {
        headersTimeoutMs: whole('headers-timeout-ms', o.headersTimeoutMs), requestTimeoutMs: whole('request-timeout-ms', o.requestTimeoutMs),
        keepAliveTimeoutMs: whole('keep-alive-timeout-ms', o.keepAliveTimeoutMs), maxConnections: whole('max-connections', o.maxConnections),
      };
      const trustProxy = parseTrustProxy(o.trustProxy);
      const server = await startServer({
        ...(gateway ? { gateway } : {}), ...(trustProxy !== undefined ? { trustProxy } : {}),
        http: Object.fromEntries(Object.entries(http).filter(([, v]) => v !== undefined)),
        port, host: o.host, dataDir: o.data, bootstrapToken: o.bootstrapToken,
        ...(o.pluginPath ? { pluginPaths: o.pluginPath } : {}), ...(o.logLevel ? { logLevel: o.logLevel } : {}),
      });
      server.app.log.info({ url: server.url, database: server.database.location, dialect: server.database.dialect }, 'MeterHub listening');
      // Machine-readable line for supervisors and tests that start on port 0.
      process.stdout.write(`METERHUB_LISTENING ${server.url}\n`);
      closeOnSignals(() => server.close(), { logger: server.app.log as never });
    }));
}
