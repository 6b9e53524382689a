/**
 * Builds a program's configuration once at start: each setting from its option, else its environment variable,
 * else its default (settings.ts); validated against the table's schema, then frozen. A bad value is a
 * CONFIG_INVALID error naming the setting, its option and variable, in Chinese and English, with no stack
 * trace (the CLI prints MeterHubErrors as code + text). Secrets are never echoed.
 */
import { delimiter } from 'node:path';
import { Ajv, type ErrorObject } from 'ajv';
import { Type } from 'typebox';
import { ConfigInvalid } from './config-errors.ts';
import { environment, type Environment } from './environment.ts';
import {
  CARD_CLIENT_SETTINGS,
  MAINTENANCE_SETTINGS,
  SERVER_SETTINGS,
  STATION_SETTINGS,
  type LOG_LEVELS,
  type Setting,
} from './settings.ts';

export type LogLevel = (typeof LOG_LEVELS)[number];

export interface ServerConfig {
  port: number;
  host: string;
  dataDir: string;
  databaseUrl?: string;
  /** Folders given with --plugin-path. */
  pluginPaths: readonly string[];
  /** Folders on METERHUB_PLUGIN_PATH. */
  pluginPathEnv: readonly string[];
  logLevel: LogLevel;
  bootstrapToken: boolean;
  gatewayFile?: string;
  trustProxy?: string;
  headersTimeoutMs?: number;
  requestTimeoutMs?: number;
  keepAliveTimeoutMs?: number;
  maxConnections?: number;
  /** Raw METERHUB_REQUIRED_PLUGINS ("" and "none" mean none). */
  requiredPlugins?: string;
  adoption: 'nobody' | 'ops' | 'counter-with-reason';
  metricsToken?: string;
  metricsAllow?: readonly string[];
  ledgerKey?: string;
}

export interface StationConfig {
  server?: string;
  token: string;
  reader?: string;
  allowOrigins: readonly string[];
  port: number;
  host: string;
  dataDir: string;
  pluginPaths: readonly string[];
  pluginPathEnv: readonly string[];
  cpuCom: number;
  psamSlot: 1 | 2 | 3;
  mwicLibrary?: string;
  logLevel: LogLevel;
  supervisorToken?: string;
  simCpuDir?: string;
}

export interface CardClientConfig {
  station: string;
  stationKey?: string;
  clerk?: string;
  supervisorToken?: string;
}

/** The maintenance commands (import, reconcile, backup, restore, token, audit). */
export interface MaintenanceConfig {
  dataDir: string;
  /** DATABASE_URL or --database-url; unset = SQLite in dataDir. */
  databaseUrl?: string;
  /** Folders given with --plugin-path (the commands that have it). */
  pluginPaths: readonly string[];
}

/** Where the raw values come from: commander's parsed options and the environment. */
export interface ConfigSources {
  flags?: Readonly<object>;
  env?: Environment;
}

const ajv = new Ajv({ coerceTypes: true, useDefaults: true, allErrors: true, strict: false });
const validators = new WeakMap<readonly Setting[], ReturnType<typeof ajv.compile>>();

function validatorFor(settings: readonly Setting[]) {
  let v = validators.get(settings);
  if (!v) {
    const schema = Type.Object(Object.fromEntries(settings.map((s) => [s.key, Type.Optional(s.schema)])), {
      additionalProperties: false,
    });
    v = ajv.compile(schema);
    validators.set(settings, v);
  }
  return v;
}

function fromEnv(s: Setting, env: Environment): unknown {
  if (!s.env) return undefined;
  const raw = env[s.env];
  if (raw === undefined) return undefined;
  const t = raw.trim();
  // An empty variable is unset, except where empty means something (METERHUB_REQUIRED_PLUGINS="" = none).
  if (t === '' && s.key !== 'requiredPlugins') return undefined;
  if (s.list)
    return t
      .split(s.list === 'path' ? delimiter : ',')
      .map((x) => x.trim())
      .filter(Boolean);
  return s.key === 'requiredPlugins' ? raw : t;
}

function label(s: Setting): string {
  return [s.flag, s.env].filter(Boolean).join(' / ') || s.key;
}

function describe(s: Setting, value: unknown) {
  const shown = s.secret || value === undefined ? '' : ` = ${JSON.stringify(value).slice(0, 60)}`;
  return {
    detail: {
      setting: s.key,
      ...(s.flag ? { option: s.flag } : {}),
      ...(s.env ? { env: s.env } : {}),
      ...(shown ? { value: String(value).slice(0, 60) } : {}),
    },
    zh: `${s.key}（${label(s)}）${shown}：${s.rule.zh}`,
    en: `${s.key} (${label(s)})${shown}: ${s.rule.en}`,
  };
}

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object') {
    for (const v of Object.values(o)) deepFreeze(v);
    Object.freeze(o);
  }
  return o;
}

/** Validates one program's table of settings; throws CONFIG_INVALID naming every bad setting. */
export function loadConfig<T>(settings: readonly Setting[], sources: ConfigSources = {}): Readonly<T> {
  const env = sources.env ?? environment();
  const flags = (sources.flags ?? {}) as Record<string, unknown>;
  const raw: Record<string, unknown> = {};
  const given: Record<string, unknown> = {};
  for (const s of settings) {
    const flag = s.opt !== undefined ? flags[s.opt] : undefined;
    const v = flag !== undefined ? flag : fromEnv(s, env);
    if (v !== undefined) {
      raw[s.key] = v;
      given[s.key] = Array.isArray(v) ? [...v] : v;
    }
  }
  const validate = validatorFor(settings);
  if (!validate(raw)) {
    const bad = new Map<string, Setting>();
    for (const e of (validate.errors ?? []) as ErrorObject[]) {
      const key = e.instancePath.split('/')[1];
      const s = settings.find((x) => x.key === key);
      if (s) bad.set(s.key, s);
    }
    const parts = [...bad.values()].map((s) => describe(s, given[s.key]));
    throw ConfigInvalid(
      { settings: parts.map((p) => p.detail) },
      {
        zh: parts.map((p) => p.zh).join('；'),
        en: parts.map((p) => p.en).join('; '),
      },
    );
  }
  return deepFreeze(raw) as Readonly<T>;
}

export const loadServerConfig = (sources: ConfigSources = {}) => loadConfig<ServerConfig>(SERVER_SETTINGS, sources);
export const loadStationConfig = (sources: ConfigSources = {}) => loadConfig<StationConfig>(STATION_SETTINGS, sources);
export const loadCardClientConfig = (sources: ConfigSources = {}) =>
  loadConfig<CardClientConfig>(CARD_CLIENT_SETTINGS, sources);
export const loadMaintenanceConfig = (sources: ConfigSources = {}) =>
  loadConfig<MaintenanceConfig>(MAINTENANCE_SETTINGS, sources);
