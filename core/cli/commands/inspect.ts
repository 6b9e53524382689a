/**
 * `meterhub inspect <file> [--json] [--symbols <map.json>]`: what a maker library exports, read from the
 * file without loading it. Exit 0 with a report; exit 2 with a MeterHubError for unusable input.
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { CARD_TYPES, type CardType } from '../../cards/card-types.ts';
import { isMeterHubError } from '../../errors/meterhub-error.ts';
import { InspectBadSymbolMap } from '../../inspect/errors.ts';
import { inspectLibrary } from '../../inspect/inspect.ts';
import { formatReport } from '../../inspect/report.ts';

interface InspectFlags {
  json?: boolean;
  symbols?: string;
  cardType?: string[];
}

/** Accepts a bare map or a whole plugin manifest (its `symbols` field). */
function loadSymbolMap(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw InspectBadSymbolMap({ path }, { zh: `无法读取 ${path}`, en: `cannot read ${path} (${(e as NodeJS.ErrnoException).code ?? 'error'})` });
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw InspectBadSymbolMap({ path }, { zh: `${path} 不是有效的 JSON`, en: `${path} is not valid JSON: ${(e as Error).message}` });
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
      throw InspectBadSymbolMap({ cardType: v }, { zh: `未知卡类型 ${v}`, en: `unknown card type ${v} (use ${CARD_TYPES.join(', ')})` });
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
    .option('--symbols <map.json>', '符号映射（接口名 → 导出名，或插件清单）/ symbol map (interface name → export name, or a plugin manifest)')
    .option('--card-type <types...>', '只为这些卡类型给出建议 / limit suggestions to these card types (4442, 102, cpu)')
    .action((file: string, flags: InspectFlags) => {
      try {
        const symbols = flags.symbols ? (loadSymbolMap(flags.symbols) as Record<string, string>) : undefined;
        const cardTypes = parseCardTypes(flags.cardType);
        const report = inspectLibrary(file, { ...(symbols ? { symbols } : {}), ...(cardTypes ? { cardTypes } : {}) });
        process.stdout.write(flags.json ? `${JSON.stringify(report, null, 2)}\n` : `${formatReport(report)}\n`);
      } catch (e) {
        if (!isMeterHubError(e)) throw e;
        if (flags.json) process.stdout.write(`${JSON.stringify({ error: e.toJSON() }, null, 2)}\n`);
        process.stderr.write(`${e.message}\n`);
        process.exitCode = 2;
      }
    });
}
