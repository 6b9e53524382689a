/**
 * Suggested `symbols` entries for makers whose export names differ from the interface (Gold_Writecard,
 * ReadGasCard, …). A name alone proposed Tancy's GetBuyTimes for Buy*Card and one Mwic export for 4442,
 * 102 and CPU alike; a wrong suggestion that ops follow corrupts cards. So an export is a candidate only
 * when its code (or its stdcall decoration) pops exactly the bytes the interface function's parameters
 * take, names only rank those candidates, and no export is proposed for two functions. Without that
 * evidence (x64, ELF, a plain `ret`) nothing is suggested. Still labelled: parameter types are unchecked.
 */
import type { CardType } from '../cards/card-types.ts';
import { INTERFACE_BY_NAME, type InterfaceFunction } from '../driver/interface-functions.ts';
import { expectedStdcallBytes } from './decorate.ts';
import type { DecoratedExport } from './match.ts';
import type { FunctionMatch, PoppedBytes, SymbolSuggestion } from './types.ts';

type Concept =
  'issue' | 'read' | 'buy' | 'format' | 'check' | 'errorText' | 'version' | 'listTools' | 'makeTool' | 'usage';

interface Rule {
  /** Tested against the undecorated name (case-sensitive where a rule needs case). */
  test: (name: string, lower: string) => boolean;
  score: number;
  hint: string;
}

const RULES: Record<Concept, Rule[]> = {
  issue: [
    { test: (_, l) => /new/.test(l) && /write|card|issue|make|open/.test(l), score: 0.9, hint: 'new card' },
    { test: (_, l) => /issue|opencard|openuser|makeuser/.test(l), score: 0.8, hint: 'issue' },
    { test: (_, l) => /write/.test(l) && !/gas|tool|back|param/.test(l), score: 0.7, hint: 'write' },
  ],
  buy: [
    { test: (_, l) => /buy|purchase|sale|sell|charge/.test(l), score: 0.9, hint: 'buy' },
    { test: (_, l) => /write_?gas|gas_?write/.test(l), score: 0.85, hint: 'write gas' },
  ],
  read: [
    { test: (_, l) => /read/.test(l) && !/usage|back|ver|err|tool|param/.test(l), score: 0.9, hint: 'read' },
    { test: (_, l) => /get.*(info|gas)/.test(l), score: 0.5, hint: 'get info' },
  ],
  format: [
    { test: (_, l) => /format|erase|recycle/.test(l), score: 0.85, hint: 'format' },
    { test: (_, l) => /clear/.test(l), score: 0.6, hint: 'clear' },
  ],
  check: [
    { test: (_, l) => /check|verify|identif/.test(l), score: 0.85, hint: 'check' },
    { test: (n) => /^(is|IS)(?=[A-Z_])/.test(n), score: 0.7, hint: 'is…' },
  ],
  errorText: [
    { test: (_, l) => /err/.test(l) && /msg|message|text|str|desc|info/.test(l), score: 0.9, hint: 'error message' },
    { test: (_, l) => /err/.test(l), score: 0.75, hint: 'error' },
  ],
  version: [{ test: (_, l) => /version|getver|(^|_)ver$/.test(l), score: 0.8, hint: 'version' }],
  listTools: [{ test: (_, l) => /tool/.test(l) && /list|kind|type/.test(l), score: 0.8, hint: 'tool list' }],
  makeTool: [{ test: (_, l) => /tool/.test(l) && /make|write|create|issue/.test(l), score: 0.8, hint: 'make tool' }],
  usage: [{ test: (_, l) => /usage|writeback|readback|history/.test(l), score: 0.75, hint: 'usage' }],
};

function conceptOf(f: InterfaceFunction): Concept {
  const n = f.name;
  if (n.startsWith('WriteNew')) return 'issue';
  if (n.startsWith('ReadUsage')) return 'usage';
  if (n.startsWith('Read')) return 'read';
  if (n.startsWith('Buy')) return 'buy';
  if (n.startsWith('Format')) return 'format';
  if (n.startsWith('Check')) return 'check';
  if (n === 'GasCardErrorText') return 'errorText';
  if (n === 'GasCardInterfaceVersion') return 'version';
  if (n === 'ListToolCards') return 'listTools';
  return 'makeTool';
}

const CARD_TOKEN: Array<[CardType, RegExp]> = [
  ['4442', /4442/],
  ['102', /102/],
  ['cpu', /cpu/i],
];

/** Card type the export name itself names, if any. */
function cardTypeIn(name: string): CardType | null {
  for (const [t, re] of CARD_TOKEN) if (re.test(name)) return t;
  return null;
}

interface Candidate {
  fn: InterfaceFunction;
  exp: DecoratedExport;
  score: number;
  hint: string;
}

/** Bytes the export pops per its decoration or, undecorated, per its code; undefined when neither shows it. */
function poppedBytes(
  exp: DecoratedExport,
  popped: (e: DecoratedExport) => PoppedBytes | undefined,
): number | undefined {
  if (exp.dec?.argBytes !== undefined && exp.dec.decoration.startsWith('stdcall')) return exp.dec.argBytes;
  const p = popped(exp);
  return p?.kind === 'stdcall' ? p.bytes : undefined;
}

function scoreOne(fn: InterfaceFunction, exp: DecoratedExport, bytes: number): Candidate | null {
  if (bytes !== expectedStdcallBytes(fn.params.length)) return null;
  const base = exp.dec?.base ?? exp.name!;
  const named = cardTypeIn(base);
  if (named && fn.cardType && named !== fn.cardType) return null;
  const rule = RULES[conceptOf(fn)].find((r) => r.test(base, base.toLowerCase()));
  if (!rule) return null;
  const score = rule.score + (named && named === fn.cardType ? 0.05 : 0);
  return { fn, exp, score: Math.min(1, Math.round(score * 100) / 100), hint: rule.hint };
}

export const SUGGESTION_THRESHOLD = 0.5;

/**
 * Greedy by score over candidates whose popped bytes fit: each missing interface function gets its best
 * one, and an export is proposed for one function only.
 */
export function suggestSymbols(
  functions: FunctionMatch[],
  candidates: DecoratedExport[],
  popped: (e: DecoratedExport) => PoppedBytes | undefined,
  cardTypes?: readonly CardType[],
): SymbolSuggestion[] {
  const missing = functions
    .filter((f) => !f.present && !f.mappedTo && (!f.cardType || !cardTypes || cardTypes.includes(f.cardType)))
    .map((f) => INTERFACE_BY_NAME.get(f.name)!);
  const all: Candidate[] = [];
  for (const exp of candidates) {
    // Forwarders live in another DLL; fastcall/vectorcall exports are the wrong convention outright.
    if (
      exp.name === null ||
      exp.forwarder ||
      exp.dec?.decoration === 'fastcall' ||
      exp.dec?.decoration === 'vectorcall'
    )
      continue;
    const bytes = poppedBytes(exp, popped);
    if (bytes === undefined) continue;
    for (const fn of missing) {
      const c = scoreOne(fn, exp, bytes);
      if (c && c.score >= SUGGESTION_THRESHOLD) all.push(c);
    }
  }
  all.sort((a, b) => b.score - a.score || a.fn.name.localeCompare(b.fn.name) || a.exp.name!.localeCompare(b.exp.name!));
  const taken = new Set<string>();
  const used = new Set<string>();
  const out: SymbolSuggestion[] = [];
  for (const c of all) {
    if (taken.has(c.fn.name) || used.has(c.exp.name!)) continue;
    taken.add(c.fn.name);
    used.add(c.exp.name!);
    const alternatives = all
      .filter((a) => a.fn === c.fn && a.exp !== c.exp)
      .slice(0, 3)
      .map((a) => a.exp.name!);
    const bytes = expectedStdcallBytes(c.fn.params.length);
    out.push({
      interfaceName: c.fn.name,
      exportName: c.exp.name!,
      score: c.score,
      alternatives,
      reason: {
        en: `pops ${bytes} bytes as ${c.fn.name} needs, and the name looks like "${c.hint}" (${c.fn.summary.en}); parameter types not checked`,
        zh: `弹出 ${bytes} 字节与 ${c.fn.name} 相符，名称类似“${c.hint}”（${c.fn.summary.zh}）；参数类型未核对`,
      },
    });
  }
  const order = new Map(functions.map((f, i) => [f.name, i]));
  return out.sort((a, b) => order.get(a.interfaceName)! - order.get(b.interfaceName)!);
}
