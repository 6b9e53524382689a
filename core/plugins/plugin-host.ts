/**
 * The plugin host: one plugin per maker, each backed by a driver host child process that is started on
 * first use and stopped when the plugin is disabled. Everything else in the server goes through here.
 */
import { existsSync, readFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import type { Logger } from 'pino';
import type { CardType } from '../cards/card-types.ts';
import type { CardDriver } from '../driver/card-driver.ts';
import { BUNDLED_PLUGINS_DIR, discoverPlugins, pluginPathFromEnv } from './discovery.ts';
import { identifyCard } from './identify.ts';
import { bridgeFor, librariesOf, libraryFor, loadManifest, MANIFEST_FILE, type LoadedManifest } from './manifest.ts';
import {
  CardTypeUnsupported,
  LibraryMissing,
  PluginDisabled,
  PluginDuplicate,
  PluginUnknown,
} from './plugin-errors.ts';
import { PluginStateStore } from './plugin-state-store.ts';
import { pushPluginProfiles } from './plugin-profiles.ts';
import type { ProfileSink } from '../telemetry/profile-registry.ts';
import { isMeterHubError } from '../errors/meterhub-error.ts';
import type {
  Identification,
  InvalidPlugin,
  PluginHost,
  PluginManifest,
  PluginState,
  ReturnCodeEntry,
  ToolCardEntry,
} from './plugin-types.ts';
import { isMakerId } from '../wire/patterns.ts';
import { DEFAULT_DATA_DIR } from '../config/defaults.ts';

export interface DriverFactoryOptions {
  libraryPath: string;
  /** Every library of the manifest by platform-arch: the host loads the one for its own platform-arch. */
  libraries?: Record<string, string> | undefined;
  symbols?: Record<string, string> | undefined;
  execPath?: string | undefined;
  /** With a bridge: the exact arguments for execPath (no Node entry is added). */
  hostArgs?: string[] | undefined;
  callTimeoutMs?: number | undefined;
  logger?: Logger | undefined;
  /** Shown in driver logs: which maker this child serves. */
  name: string;
}
export type DriverFactory = (o: DriverFactoryOptions) => CardDriver;

export interface PluginHostOptions {
  /** The bundled plugins folder (default BUNDLED_PLUGINS_DIR, beside the code); pass null to use only pluginPaths. */
  bundledDir?: string | null;
  /** Extra plugin locations; METERHUB_PLUGIN_PATH is added unless `ignoreEnv`. */
  pluginPaths?: string[];
  ignoreEnv?: boolean;
  /** Where plugins.json (enabled state) lives; default ./data. */
  dataDir?: string;
  logger?: Logger;
  driverFactory?: DriverFactory;
  /** Driver runtime for every plugin unless its manifest says otherwise (e.g. a 32-bit node.exe). */
  defaultExecPath?: string;
  /**
   * The program's dialect registry: enabled plugins' telemetry profiles are registered there, disabled ones'
   * names held back, and enable/disable update it. The program builds it and hands the same registry to what
   * resolves profile names (its gateway); there is no process-wide registry. Absent or null: none is fed.
   */
  profiles?: ProfileSink | null;
}

const STAND_IN_LABEL = 'stand-in library / 替身库';

interface Entry {
  loaded: LoadedManifest;
  bundled: boolean;
  driver?: CardDriver;
  /** Whether the library file exists, checked at load, on list() and whenever a driver is started. */
  libraryFound?: boolean;
}

async function defaultDriverFactory(): Promise<DriverFactory> {
  const mod = await import('../driver/driver-client.ts');
  return (o) => mod.createCardDriver(o);
}

export async function createPluginHost(opts: PluginHostOptions = {}): Promise<PluginHost> {
  const logger = opts.logger;
  const store = new PluginStateStore(resolve(opts.dataDir ?? DEFAULT_DATA_DIR));
  const factory = opts.driverFactory ?? (await defaultDriverFactory());
  const bundledDir = opts.bundledDir === null ? undefined : resolve(opts.bundledDir ?? BUNDLED_PLUGINS_DIR);
  const sources = discoverPlugins({
    bundledDir,
    extraPaths: [...(opts.pluginPaths ?? []), ...(opts.ignoreEnv ? [] : pluginPathFromEnv())],
  });

  const entries = new Map<string, Entry>();
  // One bad manifest on METERHUB_PLUGIN_PATH must not keep every other maker from selling: it is set aside,
  // listed with its error (state "invalid"), and readiness and health report it.
  const invalid: InvalidPlugin[] = [];
  for (const src of sources) {
    try {
      const loaded = loadManifest(src.dir);
      const id = loaded.manifest.id;
      const prior = entries.get(id);
      if (prior)
        throw PluginDuplicate(
          { id, dirs: [prior.loaded.dir, src.dir] },
          { en: `${id} in ${prior.loaded.dir} and ${src.dir}` },
        );
      entries.set(id, { loaded, bundled: src.bundled });
      if (loaded.manifest.standIn) logger?.warn({ plugin: id }, `plugin ${id} uses a ${STAND_IN_LABEL}`);
    } catch (err) {
      if (!isMeterHubError(err)) throw err;
      const bad: InvalidPlugin = {
        id: manifestIdOf(src.dir) ?? basename(src.dir),
        dir: src.dir,
        state: 'invalid',
        error: { ...err.toJSON(), details: err.details ?? {} },
      };
      invalid.push(bad);
      logger?.error(
        { plugin: bad.id, dir: src.dir, code: err.code, error: err.en },
        `插件 ${bad.id} 清单无效，未加载 / plugin ${bad.id} not loaded: invalid manifest`,
      );
    }
  }
  if (entries.size === 0) {
    logger?.warn(
      { bundledDir: bundledDir ?? null, pluginPaths: opts.pluginPaths ?? [] },
      '未找到任何表厂插件，无法售气 / no maker plugins found: no card can be sold',
    );
  }

  const profiles = opts.profiles ?? null;
  const syncProfiles = (id: string) => {
    if (profiles) pushPluginProfiles(profiles, entries.get(id)!.loaded, store.enabled(id, entries.get(id)!.bundled));
  };
  for (const id of [...entries.keys()].sort()) syncProfiles(id);

  const entry = (id: string): Entry => {
    const e = entries.get(id);
    if (!e) throw PluginUnknown({ id }, { en: id, zh: id });
    return e;
  };
  const isEnabled = (id: string) => store.enabled(id, entry(id).bundled);

  // Card operations ask for state on every call; only listings (ops, health) look at the disk again.
  const state = (id: string, fresh = false): PluginState => {
    const e = entry(id);
    const m = e.loaded.manifest;
    const libraryPath = libraryFor(e.loaded);
    if (fresh || e.libraryFound === undefined) e.libraryFound = !!libraryPath && existsSync(libraryPath);
    return {
      id,
      name: m.name,
      cardTypes: m.cardTypes,
      enabled: isEnabled(id),
      standIn: m.standIn === true,
      dir: e.loaded.dir,
      ...(libraryPath ? { libraryPath } : {}),
      libraryFound: e.libraryFound,
      ...(e.driver ? { driver: e.driver.health() } : {}),
    };
  };

  const stopDriver = async (e: Entry) => {
    const d = e.driver;
    e.driver = undefined;
    await d?.close();
  };

  const driver = (id: string): CardDriver => {
    const e = entry(id);
    if (!isEnabled(id)) {
      if (e.driver) void stopDriver(e);
      throw PluginDisabled({ id }, { zh: id, en: id });
    }
    if (e.driver) return e.driver;
    const m = e.loaded.manifest;
    const bridge = bridgeFor(e.loaded);
    const execPath = bridge?.exe ?? m.driver?.execPath ?? opts.defaultExecPath;
    // Another runtime (a 32-bit node.exe) says its platform-arch when it starts; the supervisor then picks
    // its library. Only a host that is this process's twin can be checked here, before it starts.
    const hostPicks = !bridge && execPath !== undefined;
    const libraryPath = hostPicks
      ? (libraryFor(e.loaded) ?? Object.values(librariesOf(e.loaded))[0])
      : libraryFor(e.loaded);
    if (!libraryPath || (!hostPicks && !existsSync(libraryPath))) {
      throw LibraryMissing(
        { id, platform: `${process.platform}-${process.arch}`, path: libraryPath ?? null },
        {
          zh: `${id}（${libraryPath ?? '清单中没有本平台的动态库'}）`,
          en: `${id} (${libraryPath ?? 'no library for this platform in the manifest'})`,
        },
      );
    }
    e.driver = factory({
      name: id,
      libraryPath,
      ...(bridge ? {} : { libraries: librariesOf(e.loaded) }),
      ...(m.symbols ? { symbols: m.symbols } : {}),
      ...(execPath ? { execPath } : {}),
      ...(bridge ? { hostArgs: bridge.args } : {}),
      ...(m.driver?.callTimeoutMs ? { callTimeoutMs: m.driver.callTimeoutMs } : {}),
      ...(logger ? { logger: logger.child({ plugin: id }) } : {}),
    });
    return e.driver;
  };

  const sortedIds = [...entries.keys()].sort();
  const enabledFor = (cardType: CardType): string[] =>
    sortedIds.filter((id) => isEnabled(id) && entry(id).loaded.manifest.cardTypes.includes(cardType));

  const host: PluginHost = {
    list: () => sortedIds.map((id) => state(id, true)),
    invalid: () => invalid.map((p) => ({ ...p })),
    get: (id) => (entries.has(id) ? state(id) : undefined),
    manifest: (id): PluginManifest => entry(id).loaded.manifest,
    returnCodes: (id): ReturnCodeEntry[] => entry(id).loaded.returnCodes,
    toolCards: (id): ToolCardEntry[] => entry(id).loaded.toolCards,
    async enable(id) {
      entry(id);
      store.set(id, true);
      syncProfiles(id);
      logger?.info({ plugin: id }, 'plugin enabled');
      return state(id, true);
    },
    async disable(id) {
      const e = entry(id);
      store.set(id, false);
      syncProfiles(id);
      await stopDriver(e);
      logger?.info({ plugin: id }, 'plugin disabled');
      return state(id);
    },
    driver,
    enabledFor,
    async identify(cardType: CardType, data: string): Promise<Identification> {
      return identifyCard(
        cardType,
        data,
        enabledFor(cardType).map((id) => ({ id, driver: driver(id) })),
      );
    },
    async close() {
      await Promise.all([...entries.values()].map(stopDriver));
    },
  };
  return host;
}

/** The id an invalid manifest claims, when it is readable JSON with a plausible id (to name it in listings). */
function manifestIdOf(dir: string): string | undefined {
  try {
    const id = (JSON.parse(readFileSync(join(dir, MANIFEST_FILE), 'utf8')) as { id?: unknown }).id;
    return isMakerId(id) ? id : undefined;
  } catch {
    return undefined;
  }
}

/** For routes that take a maker id and a card type: the driver, or a clear error. */
export function driverFor(host: PluginHost, maker: string, cardType: CardType): CardDriver {
  const st = host.get(maker);
  if (!st) throw PluginUnknown({ id: maker }, { zh: maker, en: maker });
  if (!st.cardTypes.includes(cardType)) throw CardTypeUnsupported({ maker, cardType, supported: st.cardTypes });
  return host.driver(maker);
}

export { STAND_IN_LABEL };
