/**
 * Reads and validates meterhub-plugin.json. A maker that follows the interface needs no code, so the
 * manifest is the whole plugin: errors here must tell ops exactly which field of which file is wrong.
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { isToolKindName } from '../cards/tool-kinds.ts';
import { DEFAULT_LIBRARY_KIND, type LibraryKind } from '../inspect/library-kind.ts';
import { manifestProblems } from './manifest-schema.ts';
import type { PluginManifest, ReturnCodeEntry, ToolCardEntry } from './plugin-types.ts';
import { ManifestInvalid } from './plugin-errors.ts';

export const MANIFEST_FILE = 'meterhub-plugin.json';

export interface LoadedManifest {
  dir: string;
  file: string;
  manifest: PluginManifest;
  returnCodes: ReturnCodeEntry[];
  toolCards: ToolCardEntry[];
  /** Absolute paths of the dialect profiles the manifest declares (telemetry.profiles); read by the host. */
  profileFiles: string[];
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The problems in English, one per field (what `meterhub plugins` and the tests show); see manifestProblems. */
export function validateManifest(raw: unknown): string[] {
  return manifestProblems(raw).map((p) => p.en);
}

function validateReturnCodes(list: unknown, where: string): ReturnCodeEntry[] {
  if (!Array.isArray(list)) throw ManifestInvalid({ file: where }, { en: `${where}: return codes must be an array` });
  const seen = new Set<string>();
  list.forEach((e, i) => {
    if (
      !isObject(e) ||
      typeof e.code !== 'string' ||
      typeof e.zh !== 'string' ||
      typeof e.en !== 'string' ||
      typeof e.source !== 'string' ||
      !e.source
    ) {
      throw ManifestInvalid({ file: where, index: i }, { en: `${where}[${i}] needs code, zh, en and source` });
    }
    if (seen.has(e.code))
      throw ManifestInvalid({ file: where, index: i }, { en: `${where}[${i}]: duplicate code ${e.code}` });
    seen.add(e.code);
  });
  return list as ReturnCodeEntry[];
}

function validateToolCards(list: unknown, where: string): ToolCardEntry[] {
  if (!Array.isArray(list)) throw ManifestInvalid({ file: where }, { en: `${where}: tool cards must be an array` });
  list.forEach((e, i) => {
    if (
      !isObject(e) ||
      typeof e.kind !== 'string' ||
      !isToolKindName(e.kind) ||
      typeof e.zh !== 'string' ||
      typeof e.en !== 'string' ||
      !Array.isArray(e.cardTypes) ||
      typeof e.source !== 'string'
    ) {
      throw ManifestInvalid(
        { file: where, index: i },
        { en: `${where}[${i}] needs a valid kind, zh, en, cardTypes and source` },
      );
    }
  });
  return list as ToolCardEntry[];
}

function readJson(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw ManifestInvalid({ file }, { zh: '无法读取文件', en: `cannot read ${file}: ${(e as Error).message}` });
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw ManifestInvalid({ file }, { zh: 'JSON 格式错误', en: `${file} is not valid JSON: ${(e as Error).message}` });
  }
}

function catalogue(dir: string, ref: string | unknown[]): { data: unknown; where: string } {
  if (typeof ref !== 'string') return { data: ref, where: join(dir, MANIFEST_FILE) };
  const file = resolve(dir, ref);
  return { data: readJson(file), where: file };
}

export function loadManifest(dir: string): LoadedManifest {
  const file = join(dir, MANIFEST_FILE);
  const raw = readJson(file);
  const found = manifestProblems(raw);
  if (found.length) {
    throw ManifestInvalid(
      { file, problems: found.map((p) => p.en), fields: found.map((p) => p.field) },
      {
        zh: `${file}：${found.map((p) => p.zh).join('；')}`,
        en: `${file}: ${found.map((p) => p.en).join('; ')}`,
      },
    );
  }
  const manifest = raw as PluginManifest;
  const rc = catalogue(dir, manifest.catalogues.returnCodes);
  const tc = catalogue(dir, manifest.catalogues.toolCards);
  return {
    dir,
    file,
    manifest,
    returnCodes: validateReturnCodes(rc.data, rc.where),
    toolCards: validateToolCards(tc.data, tc.where),
    profileFiles: (manifest.telemetry?.profiles ?? []).map((rel) => resolve(dir, rel)),
  };
}

/** What the manifest declares for this platform-arch: native unless `libraryKind` says dotnet. */
export function libraryKindFor(manifest: Pick<PluginManifest, 'libraryKind'>, platformArch: string): LibraryKind {
  return manifest.libraryKind?.[platformArch] ?? DEFAULT_LIBRARY_KIND;
}

/**
 * The bridge program that hosts this plugin's library on this platform: only for a library declared dotnet.
 * A native library goes to the Node driver host even when the manifest also lists a bridge for its platform.
 */
export function bridgeFor(
  loaded: LoadedManifest,
  platformArch = `${process.platform}-${process.arch}`,
): { exe: string; args: string[] } | undefined {
  if (libraryKindFor(loaded.manifest, platformArch) !== 'dotnet') return undefined;
  const exe = loaded.manifest.bridge?.exe[platformArch];
  if (!exe) return undefined;
  // A bare command name (e.g. "mono") is looked up on PATH; anything with a separator is relative to the plugin.
  const program = /[\\/]/.test(exe) ? resolve(loaded.dir, exe) : exe;
  return { exe: program, args: (loaded.manifest.bridge?.args ?? []).map((a) => a.replace('${pluginDir}', loaded.dir)) };
}

/**
 * Every library of the manifest by platform-arch, as absolute paths. A driver host started with another
 * runtime (driver.execPath: a 32-bit node.exe) picks from these by its own platform-arch, not this server's.
 */
export function librariesOf(loaded: Pick<LoadedManifest, 'dir' | 'manifest'>): Record<string, string> {
  return Object.fromEntries(Object.entries(loaded.manifest.library).map(([k, rel]) => [k, resolve(loaded.dir, rel)]));
}

/** The library this process would load: the manifest entry for process.platform-process.arch, if any. */
export function libraryFor(
  loaded: LoadedManifest,
  platformArch = `${process.platform}-${process.arch}`,
): string | undefined {
  const rel = loaded.manifest.library[platformArch];
  return rel ? resolve(loaded.dir, rel) : undefined;
}
