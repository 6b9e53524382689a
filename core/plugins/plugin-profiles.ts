/**
 * A plugin's telemetry dialects reach a program's profile registry only through here: profiles of enabled plugins
 * are registered, names declared by disabled ones are held back with a clear error. Telemetry never looks at
 * plugin folders; the registry is whatever the program passes in (core/telemetry/profile-registry.ts).
 */
import { resolve } from 'node:path';
import { isMeterHubError } from '../errors/meterhub-error.ts';
import { ProfileRegistry, readProfileFile, type ProfileSink } from '../telemetry/profile-registry.ts';
import { BUNDLED_PLUGINS_DIR, discoverPlugins, pluginPathFromEnv } from './discovery.ts';
import { loadManifest, type LoadedManifest } from './manifest.ts';
import { PluginStateStore } from './plugin-state-store.ts';

/** Pushes one plugin's declared profiles into `sink`: registered when enabled, withheld (by name) when not. */
export function pushPluginProfiles(
  sink: ProfileSink,
  loaded: Pick<LoadedManifest, 'manifest' | 'profileFiles'>,
  enabled: boolean,
): void {
  const owner = loaded.manifest.id;
  for (const file of loaded.profileFiles) {
    try {
      const profile = readProfileFile(file);
      if (enabled) sink.register(profile, owner);
      else sink.withhold(profile.name, owner);
    } catch (e) {
      // A broken dialect file costs that dialect, not the maker's cards nor the other makers' dialects.
      if (!isMeterHubError(e)) throw e;
      sink.recordLoadError(e);
    }
  }
}

export interface PluginProfileOptions {
  /** The bundled plugins folder (default beside the code); null for none. */
  bundledDir?: string | null;
  pluginPaths?: string[];
  /** METERHUB_PLUGIN_PATH is added unless set. */
  ignoreEnv?: boolean;
  /** Where plugins.json (enabled state) lives; default ./data; null: every plugin in its default state. */
  dataDir?: string | null;
}

/**
 * For programs that decode frames without selling cards (`telemetry`, `gateway`, `simulate`): the same plugin
 * set and enabled state as the plugin host, without starting any driver. Invalid manifests are skipped here;
 * the plugin host and `meterhub plugins list` report them.
 */
export function registerPluginProfiles(sink: ProfileSink, opts: PluginProfileOptions = {}): void {
  const store = opts.dataDir === null ? undefined : new PluginStateStore(resolve(opts.dataDir ?? './data'));
  const bundledDir = opts.bundledDir === null ? undefined : resolve(opts.bundledDir ?? BUNDLED_PLUGINS_DIR);
  const sources = discoverPlugins({
    bundledDir,
    extraPaths: [...(opts.pluginPaths ?? []), ...(opts.ignoreEnv ? [] : pluginPathFromEnv())],
  });
  const seen = new Set<string>();
  for (const src of sources) {
    let loaded: LoadedManifest;
    try {
      loaded = loadManifest(src.dir);
    } catch (e) {
      if (isMeterHubError(e)) continue;
      throw e;
    }
    if (seen.has(loaded.manifest.id)) continue; // a duplicate id is invalid in the host too: the first one stands
    seen.add(loaded.manifest.id);
    pushPluginProfiles(sink, loaded, store?.enabled(loaded.manifest.id, src.bundled) ?? src.bundled);
  }
}

/**
 * For a program that names profiles in configs and options without a plugin host (`gateway`, `simulate`, `chaos`):
 * its own registry holding the built-in dialects and the enabled plugins', as `serve` gets them from its host.
 */
export function enabledPluginProfiles(dataDir = './data'): ProfileRegistry {
  const registry = new ProfileRegistry();
  registerPluginProfiles(registry, { dataDir });
  return registry;
}

/**
 * Benches, tests and tools that exercise the bundled dialects whatever ops enabled: a new registry with every
 * bundled plugin's profiles (METERHUB_PLUGIN_PATH and plugins.json ignored). Each call is independent.
 */
export function bundledPluginProfiles(): ProfileRegistry {
  const registry = new ProfileRegistry();
  registerPluginProfiles(registry, { ignoreEnv: true, dataDir: null });
  return registry;
}
