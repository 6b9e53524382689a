/**
 * `meterhub station`: the counter station's composition root. Builds, in this one place and from a validated
 * configuration (core/config/), the reader (sim | mwic:<port> | pcsc:<name>), the central-server client, the
 * local plugin host (CPU cards are written by the maker's library on this PC; the central server's ledger
 * records them) and the local API. Options given explicitly (tests) win over the configuration, and a test
 * replaces a part of the graph by handing it in (`parts`) instead of patching modules.
 */
import { join, resolve } from 'node:path';
import type { FastifyInstance } from 'fastify';
import pino, { type Logger } from 'pino';
import { REDACT_PATHS, requestSerializers } from '../http/logger.ts';
import { DEFAULT_STATION_PORT } from '../config/defaults.ts';
import { exportToChildren } from '../config/environment.ts';
import { loadStationConfig, type StationConfig } from '../config/load-config.ts';
import { createPluginHost } from '../plugins/plugin-host.ts';
import type { PluginHost } from '../plugins/plugin-types.ts';
import { CentralClient } from './central-client.ts';
import { CpuCardOps } from './cpu-ops.ts';
import { MemoryCardOps } from './memory-ops.ts';
import { PendingWrites } from './pending-writes.ts';
import { MwicReader } from './readers/mwic/mwic-reader.ts';
import type { ReaderDriver, SamSlot } from './readers/reader-driver.ts';
import { SimReader } from './readers/sim/sim-reader.ts';
import { CpuSimFile, SimControl } from './sim-control.ts';
import { buildStationApp } from './station-app.ts';
import { StationBadInput, StationReaderRequired, StationReaderUnsupported } from './station-errors.ts';
import { PairingStore } from './station-pairing.ts';
import { StationEvents } from './station-events.ts';

export { DEFAULT_STATION_PORT };

/** Parts of the graph a caller supplies instead of the ones startStation builds; the station closes the host. */
export interface StationParts {
  /** The central-server client (the `server`, `token` and retry options then go unused). */
  central: CentralClient;
  pluginHost: PluginHost;
}

export interface StationOptions {
  parts?: Partial<StationParts>;
  /** The validated configuration (`meterhub station` passes the one it loaded); default: loaded from the env. */
  config?: StationConfig;
  /** Central server URL. */
  server: string;
  /** Counter token for the central server (never logged); default the configuration's (METERHUB_STATION_TOKEN). */
  token?: string;
  /** "sim" | "mwic:<port>" | "pcsc:<name>", or a driver instance (tests). No default: sim must be asked for. */
  reader: string | ReaderDriver;
  /** Browser origins, besides the station's own page, that may call the local API (the company's web app). */
  allowOrigins?: string[];
  port?: number;
  /** Local API address; 127.0.0.1 unless told otherwise (its guards assume a loopback address). */
  host?: string;
  /** Station data: plugin state, simulated CPU card files. Default ./data/station. */
  dataDir?: string;
  pluginPaths?: string[];
  /** Use the bundled plugins folder (default true). */
  bundledPlugins?: boolean;
  pluginsDir?: string;
  /** Port number given to CPU-card maker libraries (default 0). */
  cpuCom?: number;
  psamSlot?: SamSlot;
  /** mwic_32.dll path (or the stand-in); default METERHUB_MWIC_LIBRARY, else mwic_32.dll / build/mwic stand-in. */
  mwicLibrary?: string;
  /** An ops token for rewrite/reverse of transactions this station's token did not create (usually not set). */
  supervisorToken?: string;
  logger?: Logger;
  logLevel?: string;
  serverTimeoutMs?: number;
  serverRetries?: number;
}

export interface RunningStation {
  url: string;
  app: FastifyInstance;
  reader: ReaderDriver;
  sim?: SimControl | undefined;
  events: StationEvents;
  pluginHost: PluginHost;
  close(): Promise<void>;
}

export const STATION_REDACT = {
  paths: [
    ...REDACT_PATHS,
    'supervisorToken',
    '*.supervisorToken',
    '*.*.supervisorToken',
    'psc',
    '*.psc',
    'key102',
    '*.key102',
    'req.headers["idempotency-key"]',
  ],
  censor: '[REDACTED]',
};

export function createStationLogger(o: { level?: string; destination?: pino.DestinationStream } = {}): Logger {
  const opts = {
    level: o.level ?? 'info',
    redact: STATION_REDACT,
    serializers: requestSerializers,
    base: { role: 'station' },
  };
  return o.destination ? pino(opts, o.destination) : pino(opts);
}

/** Without --mwic-library / METERHUB_MWIC_LIBRARY: the vendor DLL on Windows, else the stand-in built here. */
export function defaultMwicLibrary(root = process.cwd()): string {
  if (process.platform === 'win32') return 'mwic_32.dll';
  return join(root, 'build', 'mwic', `libmwic_standin.${process.platform === 'darwin' ? 'dylib' : 'so'}`);
}

/** Parses --reader. pcsc is designed (readers/README.md §2) but not built: a clear error, not a guess. */
export function createReader(
  spec: string | undefined,
  o: { psamSlot: SamSlot; mwicLibrary?: string | undefined; logger?: Logger | undefined },
): ReaderDriver {
  if (!spec) throw StationReaderRequired({ choices: ['mwic:<port>', 'sim', 'pcsc:<name>'] });
  if (spec === 'sim') return new SimReader({ sams: [o.psamSlot] });
  const m = /^(mwic|pcsc):(.+)$/.exec(spec);
  if (m?.[1] === 'mwic') {
    const port = Number(m[2]);
    if (!Number.isInteger(port) || port < 0 || port > 255) {
      throw StationBadInput(
        { field: 'reader' },
        {
          zh: 'mwic:<端口号>，端口号 0-255（0 = COM1，USB 型号用 100）',
          en: 'mwic:<port>, port 0-255 (0 = COM1, USB models 100)',
        },
      );
    }
    return new MwicReader({ libraryPath: o.mwicLibrary ?? defaultMwicLibrary(), port });
  }
  if (m?.[1] === 'pcsc') {
    throw StationReaderUnsupported(
      { reader: 'pcsc', name: m[2] },
      {
        zh: 'PC/SC 读卡器暂不支持（设计见 core/station/readers/README.md）；请用 --reader mwic:<端口> 或 --reader sim',
        en: 'PC/SC readers are not supported yet (design in core/station/readers/README.md); use --reader mwic:<port> or --reader sim',
      },
    );
  }
  throw StationBadInput(
    { field: 'reader' },
    { zh: '应为 sim、mwic:<端口> 或 pcsc:<名称>', en: 'must be sim, mwic:<port> or pcsc:<name>' },
  );
}

export async function startStation(o: StationOptions): Promise<RunningStation> {
  const config = o.config ?? loadStationConfig();
  if (!o.server || !/^https?:\/\//.test(o.server))
    throw StationBadInput(
      { field: 'server' },
      { zh: '中心服务器地址应为 http(s)://…', en: 'the server URL must be http(s)://…' },
    );
  const token = o.token ?? config.token;
  if (!token) {
    throw StationBadInput(
      { field: 'token' },
      {
        zh: '需要柜台令牌（--token 或 METERHUB_STATION_TOKEN）',
        en: 'a counter token is required (--token or METERHUB_STATION_TOKEN)',
      },
    );
  }
  const logger = o.logger
    ? o.logger.child({}, { redact: STATION_REDACT })
    : createStationLogger({ level: o.logLevel ?? config.logLevel });
  const dataDir = resolve(o.dataDir ?? config.dataDir);
  const psamSlot = o.psamSlot ?? config.psamSlot;
  const com = o.cpuCom ?? config.cpuCom;
  const supervisorToken = o.supervisorToken ?? config.supervisorToken;
  const pluginPaths = o.pluginPaths ?? [...config.pluginPaths];
  const mwicLibrary = o.mwicLibrary ?? config.mwicLibrary;
  const reader = typeof o.reader === 'string' ? createReader(o.reader, { psamSlot, mwicLibrary, logger }) : o.reader;

  let sim: SimControl | undefined;
  if (reader instanceof SimReader) {
    // The Tancy stand-in keeps its simulated CPU card in files; the driver child inherits this variable.
    const simDir = exportToChildren('METERHUB_SIM_CPU_DIR', config.simCpuDir ?? join(dataDir, 'sim-cpu'));
    sim = new SimControl(reader, new CpuSimFile(simDir, com), psamSlot);
  }

  const pluginHost =
    o.parts?.pluginHost ??
    (await createPluginHost({
      ...(o.bundledPlugins === false ? { bundledDir: null } : o.pluginsDir ? { bundledDir: o.pluginsDir } : {}),
      pluginPaths: [...pluginPaths, ...config.pluginPathEnv],
      ignoreEnv: true,
      dataDir,
      logger,
    }));
  // Plugins added from extra folders start disabled on a server; a station that is given a folder means it.
  for (const p of pluginHost.list()) {
    if (!p.enabled && pluginPaths.some((dir) => p.dir.startsWith(resolve(dir)))) await pluginHost.enable(p.id);
  }

  const events = new StationEvents();
  reader.on('inserted', (e) => events.emit({ type: 'card.inserted', cardType: e.cardType }));
  reader.on('removed', () => events.emit({ type: 'card.removed' }));
  reader.on('gone', (e) => events.emit({ type: 'reader.gone', code: e.code }));
  try {
    await reader.open();
  } catch (err) {
    // The station still starts: the counter client sees READER_GONE per call until the reader is back.
    logger.warn({ code: (err as { code?: string }).code }, 'reader did not open');
  }

  // Sales on the simulated reader are training: the server records their channel so billing can tell them apart.
  const central =
    o.parts?.central ??
    new CentralClient({
      url: o.server,
      token,
      channel: sim ? 'station-sim' : 'station',
      ...(o.serverTimeoutMs ? { timeoutMs: o.serverTimeoutMs } : {}),
      ...(o.serverRetries !== undefined ? { retries: o.serverRetries } : {}),
    });
  const pending = new PendingWrites();
  const memory = new MemoryCardOps({ reader, central, pending, logger, supervisorToken });
  const cpu = new CpuCardOps({
    reader,
    host: pluginHost,
    central,
    logger,
    com,
    psamSlot,
    supervisorToken,
    yieldReader: !(reader instanceof SimReader),
  });
  const pairing = new PairingStore(dataDir);
  const app = await buildStationApp({
    reader,
    central,
    memory,
    cpu,
    pending,
    events,
    host: pluginHost,
    logger,
    sim,
    pairing,
    allowOrigins: o.allowOrigins ?? [],
  });
  const url = await app.listen({ port: o.port ?? config.port, host: o.host ?? config.host });
  let closed = false;
  return {
    url,
    app,
    reader,
    sim,
    events,
    pluginHost,
    async close() {
      if (closed) return;
      closed = true;
      await app.close();
      await reader.close().catch(() => undefined);
      await pluginHost.close();
    },
  };
}
