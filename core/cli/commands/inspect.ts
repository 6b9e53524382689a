/**
 * `meterhub inspect <file> [--json] [--symbols <map.json>]`: what a maker library exports, read from the
 * file without loading it. Exit 0 with a report; exit 2 with a MeterHubError for unusable input.
 */
import { readFileSync, statSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import type { Command } from 'commander';
import { CARD_TYPES, type CardType } from '../../cards/card-types.ts';
import { isMeterHubError } from '../../errors/meterhub-error.ts';
import { InspectBadSymbolMap, InspectManifestNoEntry } from '../../inspect/errors.ts';
import { libraryKindFor, librariesOf, loadManifest, MANIFEST_FILE } from '../../plugins/manifest.ts';
import { inspectLibrary } from '../../inspect/inspect.ts';
import { formatReport } from '../../inspect/report.ts';

interface InspectFlags {
  json?: boolean;
  symbols?: string;
  cardType?: string[];
  manifest?: string;
  platform?: string;
}

/**
 * The kind a plugin declares for this file: the library entry named by --platform, or else the one whose
 * path is this file. The manifest is loaded as the plugin host loads it, so a bad one fails the same way.
 */
function declaredKindFor(file: string, manifestPath: string, platform: string | undefined) {
  const isDir = statSync(manifestPath, { throwIfNoEntry: false })?.isDirectory() ?? false;
  const dir = isDir || basename(manifestPath) !== MANIFEST_FILE ? manifestPath : dirname(manifestPath);
  const loaded = loadManifest(resolve(dir));
  const libraries = librariesOf(loaded);
  const entry = platform ?? Object.keys(libraries).find((k) => libraries[k] === resolve(file));
  if (!entry || !(entry in libraries)) {
    const known = Object.keys(libraries).join(', ');
    const details = { manifest: loaded.file, platform: platform ?? null, entries: Object.keys(libraries) };
    throw InspectManifestNoEntry(details, {
      zh: platform ? `清单没有 ${platform} 条目（已有：${known}）` : `清单条目：${known}`,
      en: platform ? `the manifest has no ${platform} entry (it has: ${known})` : `manifest entries: ${known}`,
    });
  }
  return {
    declaredKind: {
      manifest: loaded.file,
      platform: entry,
      kind: libraryKindFor(loaded.manifest, entry),
      explicit: loaded.manifest.libraryKind?.[entry] !== undefined,
    },
    symbols: loaded.manifest.symbols,
  };
}

/** Accepts a bare map or a whole plugin manifest (its `symbols` field). */
function loadSymbolMap(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw InspectBadSymbolMap(
      { path },
      { zh: `无法读取 ${path}`, en: `cannot read ${path} (${(e as NodeJS.ErrnoException).code ?? 'error'})` },
    );
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw InspectBadSymbolMap(
      { path },
      { zh: `${path} 不是有效的 JSON`, en: `${path} is not valid JSON: ${(e as Error).message}` },
    );
  }
  if (value && typeof value === 'object' && !Array.isArray(value) && 'library' in value && 'symbols' in value) {
    return (value as { symbols: unknown }).symbols;
  }
  return value;
}

function parseCardTypes(values: string[] | undefined): CardType[] | undefined {
  if (!values?.length) return undefined;
  const out: CardType[] = [];
  for (const v of values.flatMap((s) => s.split(','))) {
    const t = v.trim().toLowerCase();
    if (!(CARD_TYPES as readonly string[]).includes(t)) {
      throw InspectBadSymbolMap(
        { cardType: v },
        { zh: `未知卡类型 ${v}`, en: `unknown card type ${v} (use ${CARD_TYPES.join(', ')})` },
      );
    }
    out.push(t as CardType);
  }
  return out;
}

export function register(program: Command): void {
  program
    .command('inspect')
    .description('检查厂家 DLL/共享库的导出函数（不加载）/ Inspect a maker DLL or shared object without loading it')
    .argument('<file>', 'DLL (PE32/PE32+) 或 or shared object (ELF)')
    .option('--json', '输出 JSON / output JSON')
    .option(
      '--symbols <map.json>',
      '符号映射（接口名 → 导出名，或插件清单）/ symbol map (interface name → export name, or a plugin manifest)',
    )
    .option('--card-type <types...>', '只为这些卡类型给出建议 / limit suggestions to these card types (4442, 102, cpu)')
    .option(
      '--manifest <path>',
      '插件目录或清单：核对其 libraryKind（不符时退出码 1）/ plugin folder or manifest: check its libraryKind (exit 1 on a mismatch)',
    )
    .option(
      '--platform <platform-arch>',
      '与 --manifest 一起：核对哪个库条目 / with --manifest: which library entry to check (default: the entry that is this file)',
    )
    .action((file: string, flags: InspectFlags) => {
      try {
        const plugin = flags.manifest ? declaredKindFor(file, flags.manifest, flags.platform) : undefined;
        const symbols = flags.symbols ? (loadSymbolMap(flags.symbols) as Record<string, string>) : plugin?.symbols;
        const cardTypes = parseCardTypes(flags.cardType);
        const report = inspectLibrary(file, {
          ...(symbols ? { symbols } : {}),
          ...(cardTypes ? { cardTypes } : {}),
          ...(plugin ? { declaredKind: plugin.declaredKind } : {}),
        });
        process.stdout.write(flags.json ? `${JSON.stringify(report, null, 2)}\n` : `${formatReport(report)}\n`);
        // A wrong kind makes the driver host fail at the first card: scripts and CI must see it.
        if (report.manifestKind && !report.manifestKind.ok) process.exitCode = 1;
      } catch (e) {
        if (!isMeterHubError(e)) throw e;
        if (flags.json) process.stdout.write(`${JSON.stringify({ error: e.toJSON() }, null, 2)}\n`);
        process.stderr.write(`${e.message}\n`);
        process.exitCode = 2;
      }
    });
}
