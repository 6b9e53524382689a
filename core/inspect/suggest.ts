/**
 * Suggested `symbols` entries for makers whose export names differ from the interface
 * (Gold_Writecard, ReadGasCard, …). A name heuristic only: it never looks at signatures, so every
 * suggestion is labelled as one and must be checked against the maker's documentation.
 */
import type { CardType } from '../cards/card-types.ts';
import { INTERFACE_BY_NAME, type InterfaceFunction } from '../driver/interface-functions.ts';
import { expectedStdcallBytes } from './decorate.ts';
import type { DecoratedExport } from './match.ts';
import type { FunctionMatch, SymbolSuggestion } from './types.ts';

type Concept = 'issue' | 'read' | 'buy' | 'format' | 'check' | 'errorText' | 'version' | 'listTools' | 'makeTool' | 'usage';

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

const CARD_TOKEN: Array<[CardType, RegExp]> = [['4442', /4442/], ['102', /102/], ['cpu', /cpu/i]];

/** Card type the export name itself names, if any. */
function cardTypeIn(name: string): CardType | null {
  for (const [t, re] of CARD_TOKEN) if (re.test(name)) return t;
  return null;
}

function bigrams(s: string): string[] {
  const out: string[] = [];
  for (let i = 0; i + 1 < s.length; i++) out.push(s.slice(i, i + 2));
  return out;
}

/** Sørensen–Dice similarity on character bigrams; only a tie-breaker between candidates. */
export function dice(a: string, b: string): number {
  const x = bigrams(a.toLowerCase().replace(/[^a-z0-9]/g, ''));
  const y = bigrams(b.toLowerCase().replace(/[^a-z0-9]/g, ''));
  if (!x.length || !y.length) return 0;
  const pool = new Map<string, number>();
  for (const g of y) pool.set(g, (pool.get(g) ?? 0) + 1);
  let hits = 0;
  for (const g of x) {
    const n = pool.get(g) ?? 0;
    if (n > 0) {
      hits++;
      pool.set(g, n - 1);
    }
  }
  return (2 * hits) / (x.length + y.length);
}

interface Candidate {
  fn: InterfaceFunction;
  exp: DecoratedExport;
  score: number;
  hint: string;
}

function scoreOne(fn: InterfaceFunction, exp: DecoratedExport): Candidate | null {
  const base = exp.dec?.base ?? exp.name!;
  const named = cardTypeIn(base);
  if (named && fn.cardType && named !== fn.cardType) return null;
  const rule = RULES[conceptOf(fn)].find((r) => r.test(base, base.toLowerCase()));
  if (!rule) return null;
  let score = rule.score + 0.05 * dice(base.replace(/^[A-Za-z]+_/, ''), fn.name);
  if (named && named === fn.cardType) score += 0.05;
  if (exp.dec?.argBytes !== undefined && exp.dec.decoration.startsWith('stdcall')) {
    score += exp.dec.argBytes === expectedStdcallBytes(fn.params.length) ? 0.1 : -0.2;
  }
  return { fn, exp, score: Math.min(1, Math.round(score * 100) / 100), hint: rule.hint };
}

export const SUGGESTION_THRESHOLD = 0.5;

/**
 * Greedy by score: each missing interface function gets its best candidate, and within one card type
 * an export is suggested for one function only.
 */
export function suggestSymbols(functions: FunctionMatch[], candidates: DecoratedExport[], cardTypes?: readonly CardType[]): SymbolSuggestion[] {
  const missing = functions
    .filter((f) => !f.present && !f.mappedTo && (!f.cardType || !cardTypes || cardTypes.includes(f.cardType)))
    .map((f) => INTERFACE_BY_NAME.get(f.name)!);
  const all: Candidate[] = [];
  for (const fn of missing) {
    for (const exp of candidates) {
      // Forwarders live in another DLL; fastcall/vectorcall exports are the wrong convention outright.
      if (exp.name === null || exp.forwarder || exp.dec?.decoration === 'fastcall' || exp.dec?.decoration === 'vectorcall') continue;
      const c = scoreOne(fn, exp);
      if (c && c.score >= SUGGESTION_THRESHOLD) all.push(c);
    }
  }
  all.sort((a, b) => b.score - a.score || a.fn.name.localeCompare(b.fn.name) || a.exp.name!.localeCompare(b.exp.name!));
  const taken = new Set<string>();
  const used = new Set<string>();
  const out: SymbolSuggestion[] = [];
  for (const c of all) {
    const slot = `${c.exp.name}|${c.fn.cardType ?? '-'}`;
    if (taken.has(c.fn.name) || used.has(slot)) continue;
    taken.add(c.fn.name);
    used.add(slot);
    const alternatives = all.filter((a) => a.fn === c.fn && a.exp !== c.exp).slice(0, 3).map((a) => a.exp.name!);
    out.push({
      interfaceName: c.fn.name,
      exportName: c.exp.name!,
      score: c.score,
      alternatives,
      reason: {
        en: `name looks like "${c.hint}" (${c.fn.summary.en}); signature not checked`,
        zh: `名称类似“${c.hint}”（${c.fn.summary.zh}）；未核对函数签名`,
      },
    });
  }
  const order = new Map(functions.map((f, i) => [f.name, i]));
  return out.sort((a, b) => order.get(a.interfaceName)! - order.get(b.interfaceName)!);
}
