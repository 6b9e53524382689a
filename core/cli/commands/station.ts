/**
 * `meterhub station --server <url> --token <t> --reader sim|mwic:<port>|pcsc:<name> [--port N]`:
 * the counter station next to the Mingwah reader (core/station/station.ts, docs/station.md).
 */
import type { Command } from 'commander';
import { closeOnSignals } from '../../api/server.ts';
import { DEFAULT_STATION_PORT, startStation } from '../../station/station.ts';
import { runCli } from '../run-cli.ts';

interface Opts {
  server: string; token?: string; reader: string; port: string; host: string; data: string; pluginPath?: string[];
  cpuCom: string; psamSlot: string; mwicLibrary?: string; logLevel: string;
}

export function register(program: Command): void {
  program.command('station')
    .description('柜台工作站（读卡器旁）/ run the counter station next to the card reader')
    .requiredOption('--server <url>', 'central server URL, e.g. http://10.0.0.5:8080')
    .option('--token <token>', 'counter token for the central server (or METERHUB_STATION_TOKEN)')
    .option('--reader <reader>', 'sim | mwic:<port> | pcsc:<name>', 'sim')
    .option('--port <port>', 'local API port (0 = any free port)', String(DEFAULT_STATION_PORT))
    .option('--host <host>', 'local API address (no authentication: keep it on 127.0.0.1)', '127.0.0.1')
    .option('--data <dir>', 'station data (plugin state, CPU-card ledger)', './data/station')
    .option('--plugin-path <dir...>', 'extra plugin folders (enabled on this station)')
    .option('--cpu-com <n>', 'port number given to CPU-card maker libraries (from 0)', '0')
    .option('--psam-slot <n>', 'reader SAM slot holding the Tancy PSAM (1-3)', '1')
    .option('--mwic-library <path>', 'mwic_32.dll (or METERHUB_MWIC_LIBRARY)')
    .option('--log-level <level>', 'pino level', process.env.METERHUB_LOG_LEVEL ?? 'info')
    .action((o: Opts) => runCli(async () => {
      const port = Number(o.port);
      if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port must be 0-65535, got ${o.port}`);
      const psamSlot = Number(o.psamSlot);
      if (![1, 2, 3].includes(psamSlot)) throw new Error(`--psam-slot must be 1, 2 or 3, got ${o.psamSlot}`);
      const token = o.token ?? process.env.METERHUB_STATION_TOKEN ?? '';
      const station = await startStation({
        server: o.server, token, reader: o.reader, port, host: o.host, dataDir: o.data, cpuCom: Number(o.cpuCom),
        psamSlot: psamSlot as 1 | 2 | 3, logLevel: o.logLevel,
        ...(o.pluginPath ? { pluginPaths: o.pluginPath } : {}), ...(o.mwicLibrary ? { mwicLibrary: o.mwicLibrary } : {}),
        ...(process.env.METERHUB_STATION_SUPERVISOR_TOKEN ? { supervisorToken: process.env.METERHUB_STATION_SUPERVISOR_TOKEN } : {}),
      });
      station.app.log.info({ url: station.url, reader: station.reader.kind, server: o.server }, 'MeterHub station listening');
      process.stdout.write(`METERHUB_STATION_LISTENING ${station.url}\n`);
      closeOnSignals(() => station.close(), { logger: station.app.log as never });
    }));
}
