/**
 * Every setting a MeterHub program reads, in one table per program: its type and default (a TypeBox schema),
 * the command-line option that sets it, the environment variable that sets it when the option is absent, and
 * a rule in Chinese and English for the error that names it. load-config.ts validates a program's table once at
 * start and freezes the result; the composition roots (core/server/compose-server.ts, core/station/station.ts) pass
 * it down. A new setting is one row here: nothing else reads the environment.
 *
 * Precedence: option > environment variable > default.
 */
import { Type, type TSchema } from 'typebox';
import {
  DEFAULT_DATA_DIR,
  DEFAULT_HOST,
  DEFAULT_SERVER_PORT,
  DEFAULT_STATION_DATA_DIR,
  DEFAULT_STATION_PORT,
} from './defaults.ts';

export interface Setting {
  /** Property of the configuration object. */
  key: string;
  /** The commander option attribute that sets it (`--plugin-path` → pluginPath), when there is an option. */
  opt?: string;
  /** The option as users type it, for messages. */
  flag?: string;
  env?: string;
  schema: TSchema;
  /** Environment text is a list: comma separated, or a path list (':' on POSIX, ';' on Windows). */
  list?: 'comma' | 'path';
  /** Never echoed in errors (tokens, keys, URLs with passwords). */
  secret?: boolean;
  rule: { zh: string; en: string };
}

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

const text = (o: { default?: string } = {}) => Type.String({ minLength: 1, ...o });
const textRule = { zh: '不能为空', en: 'must not be empty' };
const listRule = { zh: '应为列表', en: 'must be a list' };
const tcpPort = (d: number) => Type.Integer({ minimum: 0, maximum: 65535, default: d });
const portRule = {
  zh: '应为 0-65535 的整数（0 = 任意空闲端口）',
  en: 'must be a whole number 0-65535 (0 = any free port)',
};
const positive = () => Type.Integer({ minimum: 1 });
const positiveRule = { zh: '应为正整数', en: 'must be a positive whole number' };
const logLevel = Type.Union(
  LOG_LEVELS.map((l) => Type.Literal(l)),
  { default: 'info' },
);
const logLevelRule = { zh: `应为 ${LOG_LEVELS.join(' / ')}`, en: `must be one of ${LOG_LEVELS.join(', ')}` };

/**
 * A PostgreSQL URL, a `sqlite:` URL, `:memory:`, or a file path (it has a slash or a dot: `meterhub.db`,
 * `./data/x`). A bare word (`notaurl`, a typo for a URL) or another scheme (`mysql://…`) is refused rather than
 * silently becoming a SQLite file of that name in the working directory.
 */
const DATABASE_URL_PATTERN = String.raw`^(?:postgres(?:ql)?://\S+|sqlite:\S+|:memory:|(?![A-Za-z][A-Za-z0-9+.-]*://).*[\\/.].*)$`;

const common = {
  // `serve` takes it from the environment only; the maintenance commands also have --database-url.
  databaseUrl: {
    key: 'databaseUrl',
    env: 'DATABASE_URL',
    schema: Type.String({ minLength: 1, pattern: DATABASE_URL_PATTERN }),
    secret: true,
    rule: { zh: 'PostgreSQL 地址 postgres://…，或 SQLite 文件路径', en: 'a postgres://… URL or a SQLite file path' },
  },
  host: { key: 'host', opt: 'host', flag: '--host', schema: text({ default: DEFAULT_HOST }), rule: textRule },
  pluginPaths: {
    key: 'pluginPaths',
    opt: 'pluginPath',
    flag: '--plugin-path',
    schema: Type.Array(text(), { default: [] }),
    rule: listRule,
  },
  // Kept apart from --plugin-path: the station enables the plugins of folders it is given on the command line only.
  pluginPathEnv: {
    key: 'pluginPathEnv',
    env: 'METERHUB_PLUGIN_PATH',
    list: 'path',
    schema: Type.Array(text(), { default: [] }),
    rule: listRule,
  },
  logLevel: {
    key: 'logLevel',
    opt: 'logLevel',
    flag: '--log-level',
    env: 'METERHUB_LOG_LEVEL',
    schema: logLevel,
    rule: logLevelRule,
  },
} satisfies Record<string, Setting>;

/** `meterhub serve`. */
export const SERVER_SETTINGS: readonly Setting[] = [
  { key: 'port', opt: 'port', flag: '--port', env: 'PORT', schema: tcpPort(DEFAULT_SERVER_PORT), rule: portRule },
  common.host,
  { key: 'dataDir', opt: 'data', flag: '--data', schema: text({ default: DEFAULT_DATA_DIR }), rule: textRule },
  common.databaseUrl,
  common.pluginPaths,
  common.pluginPathEnv,
  common.logLevel,
  {
    key: 'bootstrapToken',
    opt: 'bootstrapToken',
    flag: '--no-bootstrap-token',
    schema: Type.Boolean({ default: true }),
    rule: { zh: '应为 true 或 false', en: 'must be true or false' },
  },
  { key: 'gatewayFile', opt: 'gateway', flag: '--gateway', schema: text(), rule: textRule },
  {
    key: 'trustProxy',
    opt: 'trustProxy',
    flag: '--trust-proxy',
    env: 'METERHUB_TRUST_PROXY',
    schema: text(),
    rule: {
      zh: 'true、false，或以逗号分隔的地址/CIDR/loopback',
      en: 'true, false, or comma-separated addresses/CIDRs/loopback',
    },
  },
  {
    key: 'headersTimeoutMs',
    opt: 'headersTimeoutMs',
    flag: '--headers-timeout-ms',
    env: 'METERHUB_HEADERS_TIMEOUT_MS',
    schema: positive(),
    rule: positiveRule,
  },
  {
    key: 'requestTimeoutMs',
    opt: 'requestTimeoutMs',
    flag: '--request-timeout-ms',
    env: 'METERHUB_REQUEST_TIMEOUT_MS',
    schema: positive(),
    rule: positiveRule,
  },
  {
    key: 'keepAliveTimeoutMs',
    opt: 'keepAliveTimeoutMs',
    flag: '--keep-alive-timeout-ms',
    env: 'METERHUB_KEEPALIVE_TIMEOUT_MS',
    schema: positive(),
    rule: positiveRule,
  },
  {
    key: 'maxConnections',
    opt: 'maxConnections',
    flag: '--max-connections',
    env: 'METERHUB_MAX_CONNECTIONS',
    schema: positive(),
    rule: positiveRule,
  },
  {
    key: 'requiredPlugins',
    env: 'METERHUB_REQUIRED_PLUGINS',
    schema: Type.String(),
    rule: { zh: '以逗号分隔的插件 id，或 none', en: 'comma-separated plugin ids, or none' },
  },
  {
    key: 'adoption',
    env: 'METERHUB_ADOPTION',
    schema: Type.Union(
      ['nobody', 'ops', 'counter-with-reason'].map((p) => Type.Literal(p)),
      { default: 'ops' },
    ),
    rule: { zh: '应为 nobody / ops / counter-with-reason', en: 'must be nobody, ops or counter-with-reason' },
  },
  {
    key: 'metricsToken',
    env: 'METERHUB_METRICS_TOKEN',
    schema: Type.String(),
    secret: true,
    // Its length is checked where it is used (core/metrics/access.ts), with the BAD_INPUT code clients know.
    rule: textRule,
  },
  {
    key: 'metricsAllow',
    env: 'METERHUB_METRICS_ALLOW',
    list: 'comma',
    schema: Type.Array(text()),
    rule: { zh: '以逗号分隔的 IP 或 CIDR', en: 'comma-separated IPs or CIDRs' },
  },
  {
    key: 'ledgerKey',
    env: 'METERHUB_LEDGER_KEY',
    schema: Type.String(),
    secret: true,
    // Hex or base64; decoded and checked by the key vault (LEDGER_KEY_INVALID).
    rule: textRule,
  },
];

/** `meterhub station`. The server URL and the reader are checked by the command itself (their own error codes). */
export const STATION_SETTINGS: readonly Setting[] = [
  { key: 'server', opt: 'server', flag: '--server', schema: Type.String(), rule: textRule },
  {
    key: 'token',
    opt: 'token',
    flag: '--token',
    env: 'METERHUB_STATION_TOKEN',
    schema: Type.String({ default: '' }),
    secret: true,
    rule: textRule,
  },
  { key: 'reader', opt: 'reader', flag: '--reader', schema: Type.String(), rule: textRule },
  {
    key: 'allowOrigins',
    opt: 'allowOrigin',
    flag: '--allow-origin',
    schema: Type.Array(text(), { default: [] }),
    rule: listRule,
  },
  { key: 'port', opt: 'port', flag: '--port', schema: tcpPort(DEFAULT_STATION_PORT), rule: portRule },
  common.host,
  { key: 'dataDir', opt: 'data', flag: '--data', schema: text({ default: DEFAULT_STATION_DATA_DIR }), rule: textRule },
  common.pluginPaths,
  common.pluginPathEnv,
  {
    key: 'cpuCom',
    opt: 'cpuCom',
    flag: '--cpu-com',
    schema: Type.Integer({ minimum: 0, default: 0 }),
    rule: { zh: '应为从 0 起的整数', en: 'must be a whole number from 0' },
  },
  {
    key: 'psamSlot',
    opt: 'psamSlot',
    flag: '--psam-slot',
    schema: Type.Integer({ minimum: 1, maximum: 3, default: 1 }),
    rule: { zh: '应为 1、2 或 3', en: 'must be 1, 2 or 3' },
  },
  {
    key: 'mwicLibrary',
    opt: 'mwicLibrary',
    flag: '--mwic-library',
    env: 'METERHUB_MWIC_LIBRARY',
    schema: text(),
    rule: textRule,
  },
  common.logLevel,
  { key: 'supervisorToken', env: 'METERHUB_STATION_SUPERVISOR_TOKEN', schema: text(), secret: true, rule: textRule },
  { key: 'simCpuDir', env: 'METERHUB_SIM_CPU_DIR', schema: text(), rule: textRule },
];

/** `meterhub card …`, the small client of a station's local API. */
export const CARD_CLIENT_SETTINGS: readonly Setting[] = [
  {
    key: 'station',
    opt: 'station',
    flag: '--station',
    env: 'METERHUB_STATION_URL',
    schema: text({ default: `http://${DEFAULT_HOST}:${DEFAULT_STATION_PORT}` }),
    rule: textRule,
  },
  { key: 'stationKey', env: 'METERHUB_STATION_KEY', schema: text(), secret: true, rule: textRule },
  { key: 'clerk', env: 'METERHUB_CLERK', schema: text(), rule: textRule },
  {
    key: 'supervisorToken',
    opt: 'supervisorToken',
    flag: '--supervisor-token',
    env: 'METERHUB_SUPERVISOR_TOKEN',
    schema: text(),
    secret: true,
    rule: textRule,
  },
];

/**
 * The maintenance commands that open the server's database (import, reconcile, backup, restore, token, audit):
 * the data directory, and the database when it is not SQLite in it. Commands without a `--database-url` or
 * `--plugin-path` option still take DATABASE_URL, and the defaults.
 */
export const MAINTENANCE_SETTINGS: readonly Setting[] = [
  { key: 'dataDir', opt: 'data', flag: '--data', schema: text({ default: DEFAULT_DATA_DIR }), rule: textRule },
  { ...common.databaseUrl, opt: 'databaseUrl', flag: '--database-url' },
  common.pluginPaths,
];

/**
 * Variables that are not settings: test and benchmark knobs, read through environment() by the code they steer
 * (listed so the env-usage test and readers know they are deliberate).
 */
export const KNOBS = {
  METERHUB_FAULT: 'core/ledger/faults.ts: crash-test kill points (only with NODE_ENV=test or METERHUB_ALLOW_FAULTS=1)',
  METERHUB_ALLOW_FAULTS: 'core/ledger/faults.ts',
  METERHUB_IMPORT_PHASES: 'core/golive/card-import.ts: phase timings on stderr for the benchmark',
} as const;
