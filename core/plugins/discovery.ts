/**
 * Where maker plugins come from: the bundled plugins folder (the one shipped beside this code, whatever the
 * current directory), every entry of METERHUB_PLUGIN_PATH
 * (a path list like NODE_PATH: ':' on POSIX, ';' on Windows) and `--plugin-path` folders.
 * An entry may be a plugin folder itself or a folder of plugin folders.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { delimiter, join, resolve } from 'node:path';
import { MANIFEST_FILE } from './manifest.ts';
import { environment, type Environment } from '../config/environment.ts';

export interface PluginSource {
  dir: string;
  /** Bundled plugins start enabled; plugins ops add elsewhere start disabled until enabled. */
  bundled: boolean;
}

/**
 * The plugins shipped with MeterHub. Beside the code, not under the current directory: a server started from
 * another folder (a service, `npx meterhub` elsewhere) must not come up with no makers and say it is healthy.
 */
export const BUNDLED_PLUGINS_DIR = resolve(import.meta.dirname, '../../plugins');

export function pluginPathFromEnv(env: Environment = environment()): string[] {
  return (env.METERHUB_PLUGIN_PATH ?? '')
    .split(delimiter)
    .map((s) => s.trim())
    .filter(Boolean);
}

function isDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

function pluginDirsUnder(entry: string): string[] {
  if (existsSync(join(entry, MANIFEST_FILE))) return [entry];
  if (!isDir(entry)) return [];
  return readdirSync(entry)
    .sort()
    .map((name) => join(entry, name))
    .filter((d) => existsSync(join(d, MANIFEST_FILE)));
}

export function discoverPlugins(opts: { bundledDir?: string | undefined; extraPaths?: string[] }): PluginSource[] {
  const seen = new Set<string>();
  const out: PluginSource[] = [];
  const add = (dir: string, bundled: boolean) => {
    const abs = resolve(dir);
    if (seen.has(abs)) return;
    seen.add(abs);
    out.push({ dir: abs, bundled });
  };
  if (opts.bundledDir) for (const d of pluginDirsUnder(opts.bundledDir)) add(d, true);
  for (const entry of opts.extraPaths ?? []) for (const d of pluginDirsUnder(entry)) add(d, false);
  return out;
}
