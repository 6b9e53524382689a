/**
 * `meterhub station --server <url> --token <t> --reader mwic:<port>|sim|pcsc:<name> [--port N]
 *  [--allow-origin <origin>…]`: the counter station next to the Mingwah reader (core/station/station.ts,
 * docs/station.md). `meterhub station pair|unpair|pairs --data <dir>` manage the clients' pairing keys.
 */
import type { Command } from 'commander';
import { closeOnSignals } from '../../server/server.ts';
import { DEFAULT_STATION_DATA_DIR } from '../../config/defaults.ts';
import { loadStationConfig } from '../../config/load-config.ts';
import { startStation } from '../../station/station.ts';
import { StationBadInput, StationReaderRequired } from '../../station/station-errors.ts';
import { parseOrigin } from '../../station/station-guard.ts';
import { createPairing, readPairings, removePairing } from '../../station/station-pairing.ts';
import { dataOption } from '../options.ts';
import { runCli } from '../run-cli.ts';

export function register(program: Command): void {
  const station = program
    .command('station')
    .description('柜台工作站（读卡器旁）/ run the counter station next to the card reader')
    .option('--server <url>', 'central server URL, e.g. http://10.0.0.5:8080 (required)')
    .option('--token <token>', 'counter token for the central server (or METERHUB_STATION_TOKEN)')
    .option('--reader <reader>', 'required: mwic:<port> | sim (simulated, training only) | pcsc:<name>')
    .option(
      '--allow-origin <origin...>',
      'browser origin of the company web app allowed to call the station (repeatable)',
    )
    .option('--port <port>', 'local API port, 0 = any free port (default 8790)')
    .option('--host <host>', 'local API address (keep it on 127.0.0.1: the guards answer loopback names only)')
    .addOption(dataOption('station data (plugin state, CPU-card ledger)', DEFAULT_STATION_DATA_DIR))
    .option('--plugin-path <dir...>', 'extra plugin folders (enabled on this station)')
    .option('--cpu-com <n>', 'port number given to CPU-card maker libraries (from 0, default 0)')
    .option('--psam-slot <n>', 'reader SAM slot holding the Tancy PSAM (1-3, default 1)')
    .option('--mwic-library <path>', 'mwic_32.dll (or METERHUB_MWIC_LIBRARY)')
    .option('--log-level <level>', 'pino level (env METERHUB_LOG_LEVEL, default info)')
    .action((o: { reader?: string; server?: string } & Record<string, unknown>) =>
      runCli(async () => {
        // No default reader: a station that silently sold onto simulated cards through a real token was a defect.
        if (!o.reader) throw StationReaderRequired({ choices: ['mwic:<port>', 'sim', 'pcsc:<name>'] });
        if (!o.server)
          throw StationBadInput(
            { field: 'server' },
            { zh: '需要中心服务器地址 --server <url>', en: '--server <url> is required' },
          );
        const config = loadStationConfig({ flags: o });
        const allowOrigins = config.allowOrigins.map(parseOrigin);
        const station = await startStation({ config, server: o.server, reader: o.reader, allowOrigins });
        station.app.log.info(
          { url: station.url, reader: station.reader.kind, server: o.server, allowOrigins },
          'MeterHub station listening',
        );
        if (station.sim)
          process.stdout.write(
            '模拟读卡器（培训）/ simulated reader (training): sales are recorded as channel station-sim\n',
          );
        process.stdout.write(`METERHUB_STATION_LISTENING ${station.url}\n`);
        closeOnSignals(() => station.close(), { logger: station.app.log as never });
      }),
    );

  // --data is the station's own option (commander gives it to the parent wherever it is written).
  const dataOf = () => (station.opts() as { data: string }).data;
  station
    .command('pair')
    .description(
      '为一个客户端（公司营收系统、柜台页面、card 命令）生成配对密钥，只显示一次 / make a pairing key for a client, shown once',
    )
    .requiredOption('--name <name>', 'client name, e.g. yingshou or counter-page (1-64 of [A-Za-z0-9_.:@-])')
    .option('--json', 'JSON output')
    .action((o: { name: string; json?: boolean }) =>
      runCli(async () => {
        const r = createPairing(dataOf(), o.name);
        if (o.json) console.log(JSON.stringify(r));
        else {
          console.log(`配对密钥（只显示这一次，请妥善保存）/ pairing key for ${r.name} (shown once; keep it secret):`);
          console.log(r.key);
        }
      }),
    );
  station
    .command('unpair')
    .description("撤销一个客户端的配对密钥 / revoke a client's pairing key")
    .requiredOption('--name <name>', 'client name')
    .action((o: { name: string }) =>
      runCli(async () => {
        const gone = removePairing(dataOf(), o.name);
        console.log(gone ? `已撤销 / revoked: ${o.name}` : `没有这个配对 / no such pairing: ${o.name}`);
        if (!gone) process.exitCode = 2;
      }),
    );
  station
    .command('pairs')
    .description('列出已配对的客户端（不含密钥）/ list paired clients (no keys)')
    .action(() =>
      runCli(async () => {
        for (const p of readPairings(dataOf())) console.log(`${p.name}\t${p.created}`);
      }),
    );
}
