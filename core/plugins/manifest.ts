/**
 * Reads and validates meterhub-plugin.json. A maker that follows the interface needs no code, so the
 * manifest is the whole plugin: errors here must tell ops exactly which field of which file is wrong.
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { CARD_TYPES, type CardType } from '../cards/card-types.ts';
import { isToolKindName } from '../cards/tool-kinds.ts';
import { INTERFACE_BY_NAME } from '../driver/interface-functions.ts';
import { DEFAULT_LIBRARY_KIND, isLibraryKind, LIBRARY_KINDS, type LibraryKind } from '../inspect/library-kind.ts';
import type { PluginManifest, ReturnCodeEntry, ToolCardEntry } from './plugin-types.ts';
import { ManifestInvalid } from './plugin-errors.ts';
import { isMakerId, MAKER_ID_PATTERN } from '../wire/patterns.ts';

export const MANIFEST_FILE = 'meterhub-plugin.json';

export interface LoadedManifest {
  dir: string;
  file: string;
  manifest: PluginManifest;
  returnCodes: ReturnCodeEntry[];
  toolCards: ToolCardEntry[];
}

type Problem = string;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function checkLocalized(v: unknown, field: string, out: Problem[]): void {
  if (!isObject(v) || typeof v['zh-CN'] !== 'string' || typeof v.en !== 'string' || !v['zh-CN'] || !v.en) {
    out.push(`${field} must be {"zh-CN": string, "en": string}`);
  }
}

/**
 * `libraryKind` says per platform-arch whether `library` is native code (koffi host) or a .NET assembly
 * (the bridge). A dotnet entry needs a bridge program for that platform-arch, or nothing could host it.
 */
function checkLibraryKind(raw: Record<string, unknown>, out: Problem[]): void {
  const kinds = raw.libraryKind;
  if (kinds === undefined) return;
  if (!isObject(kinds)) { out.push('libraryKind must map platform-arch to "native" or "dotnet"'); return; }
  const library = isObject(raw.library) ? raw.library : {};
  const bridgeExe = isObject(raw.bridge) && isObject(raw.bridge.exe) ? raw.bridge.exe : {};
  for (const [k, v] of Object.entries(kinds)) {
    if (!isLibraryKind(v)) out.push(`libraryKind.${k} must be one of ${LIBRARY_KINDS.join(', ')}`);
    if (!(k in library)) out.push(`libraryKind.${k}: library has no ${k} entry`);
    if (v === 'dotnet' && typeof bridgeExe[k] !== 'string') {
      out.push(`libraryKind.${k} is dotnet, so bridge.exe.${k} must name the bridge program`);
    }
  }
}

export function validateManifest(raw: unknown): Problem[] {
  const out: Problem[] = [];
  if (!isObject(raw)) return ['manifest must be a JSON object'];
  if (!isMakerId(raw.id)) out.push(`id must match ${MAKER_ID_PATTERN}`);
  checkLocalized(raw.name, 'name', out);
  if (!Array.isArray(raw.cardTypes) || raw.cardTypes.length === 0) out.push('cardTypes must be a non-empty array');
  else for (const t of raw.cardTypes) if (!CARD_TYPES.includes(t as CardType)) out.push(`cardTypes: unknown card type ${JSON.stringify(t)} (allowed: ${CARD_TYPES.join(', ')})`);
  if (!isObject(raw.library) || Object.keys(raw.library).length === 0) out.push('library must map platform-arch (e.g. "linux-x64", "win32-ia32") to a path');
  else for (const [k, v] of Object.entries(raw.library)) {
    if (!/^[a-z0-9]+-[a-z0-9]+$/.test(k)) out.push(`library: key ${JSON.stringify(k)} is not platform-arch`);
    if (typeof v !== 'string' || !v) out.push(`library.${k} must be a path string`);
  }
  checkLibraryKind(raw, out);
  if (raw.symbols !== undefined) {
    if (!isObject(raw.symbols)) out.push('symbols must be an object {interfaceName: exportedName}');
    else for (const [k, v] of Object.entries(raw.symbols)) {
      if (!INTERFACE_BY_NAME.has(k)) out.push(`symbols: ${k} is not an interface function`);
      if (typeof v !== 'string' || !/^[A-Za-z_?@$][\w?@$]*$/.test(v)) out.push(`symbols.${k} must be an exported symbol name`);
    }
  }
  if (raw.standIn !== undefined && typeof raw.standIn !== 'boolean') out.push('standIn must be a boolean');
  if (raw.rules !== undefined && !isObject(raw.rules)) out.push('rules must be an object');
  if (raw.driver !== undefined) {
    if (!isObject(raw.driver)) out.push('driver must be an object');
    else {
      if (raw.driver.execPath !== undefined && typeof raw.driver.execPath !== 'string') out.push('driver.execPath must be a string');
      const t = raw.driver.callTimeoutMs;
      if (t !== undefined && (typeof t !== 'number' || !Number.isInteger(t) || t < 100 || t > 600_000)) out.push('driver.callTimeoutMs must be an integer 100..600000');
    }
  }
  if (raw.bridge !== undefined) {
    const b = raw.bridge;
    if (!isObject(b) || !isObject(b.exe) || Object.values(b.exe).some((v) => typeof v !== 'string' || !v)) out.push('bridge.exe must map platform-arch to the bridge program');
    else if (b.args !== undefined && (!Array.isArray(b.args) || b.args.some((a) => typeof a !== 'string'))) out.push('bridge.args must be an array of strings');
  }
  if (!isObject(raw.catalogues)) out.push('catalogues must be {returnCodes, toolCards}');
  else for (const k of ['returnCodes', 'toolCards'] as const) {
    const c = raw.catalogues[k];
    if (typeof c !== 'string' && !Array.isArray(c)) out.push(`catalogues.${k} must be a relative path or an array`);
  }
  if (raw.module !== undefined && typeof raw.module !== 'string') out.push('module must be a relative path');
  return out;
}

function validateReturnCodes(list: unknown, where: string): ReturnCodeEntry[] {
  if (!Array.isArray(list)) throw ManifestInvalid({ file: where }, { en: `${where}: return codes must be an array` });
  const seen = new Set<string>();
  list.forEach((e, i) => {
    if (!isObject(e) || typeof e.code !== 'string' || typeof e.zh !== 'string' || typeof e.en !== 'string' || typeof e.source !== 'string' || !e.source) {
      throw ManifestInvalid({ file: where, index: i }, { en: `${where}[${i}] needs code, zh, en and source` });
    }
    if (seen.has(e.code)) throw ManifestInvalid({ file: where, index: i }, { en: `${where}[${i}]: duplicate code ${e.code}` });
    seen.add(e.code);
  });
  return list as ReturnCodeEntry[];
}

function validateToolCards(list: unknown, where: string): ToolCardEntry[] {
  if (!Array.isArray(list)) throw ManifestInvalid({ file: where }, { en: `${where}: tool cards must be an array` });
  list.forEach((e, i) => {
    if (!isObject(e) || typeof e.kind !== 'string' || !isToolKindName(e.kind) || typeof e.zh !== 'string' || typeof e.en !== 'string' || !Array.isArray(e.cardTypes) || typeof e.source !== 'string') {
      throw ManifestInvalid({ file: where, index: i }, { en: `${where}[${i}] needs a valid kind, zh, en, cardTypes and source` });
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
  const problems = validateManifest(raw);
  if (problems.length) throw ManifestInvalid({ file, problems }, { zh: problems.join('；'), en: `${file}: ${problems.join('; ')}` });
  const manifest = raw as PluginManifest;
  const rc = catalogue(dir, manifest.catalogues.returnCodes);
  const tc = catalogue(dir, manifest.catalogues.toolCards);
  return {
    dir,
    file,
    manifest,
    returnCodes: validateReturnCodes(rc.data, rc.where),
    toolCards: validateToolCards(tc.data, tc.where),
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
export function bridgeFor(loaded: LoadedManifest, platformArch = `${process.platform}-${process.arch}`): { exe: string; args: string[] } | undefined {
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
export function libraryFor(loaded: LoadedManifest, platformArch = `${process.platform}-${process.arch}`): string | undefined {
  const rel = loaded.manifest.library[platformArch];
  return rel ? resolve(loaded.dir, rel) : undefined;
}
