/**
 * Which interface functions (core/driver/interface-functions.ts) a library exports, after applying a
 * plugin manifest's `symbols` map (interface name → exported name).
 */
import { CARD_TYPES, type CardType } from '../cards/card-types.ts';
import { INTERFACE_FUNCTIONS, INTERFACE_BY_NAME, type InterfaceFunction } from '../driver/interface-functions.ts';
import { expectedStdcallBytes, undecorate, type Undecorated } from './decorate.ts';
import type { CardTypeStatus, ExportedSymbol, FunctionMatch, Notice } from './types.ts';

export interface DecoratedExport extends ExportedSymbol {
  dec: Undecorated | null;
}

export interface MatchResult {
  functions: FunctionMatch[];
  cardTypes: CardTypeStatus[];
  /** Raw export names bound to an interface function. */
  used: Set<string>;
  warnings: Notice[];
}

const isStdcall = (d: Undecorated | null): boolean =>
  d?.decoration === 'stdcall' || d?.decoration === 'stdcall-underscore';

export function decorateAll(exports: ExportedSymbol[]): DecoratedExport[] {
  return exports.map((e) => ({ ...e, dec: e.name === null ? null : undecorate(e.name) }));
}

function findExport(target: string, exports: DecoratedExport[]): { exp: DecoratedExport; exact: boolean } | null {
  const exact = exports.find((e) => e.name === target);
  if (exact) return { exp: exact, exact: true };
  // MSVC style first, then mingw style: the order only matters when a library exports both.
  const decorated = exports
    .filter((e) => isStdcall(e.dec) && e.dec!.base === target)
    .sort(
      (a, b) =>
        (a.dec!.decoration === 'stdcall-underscore' ? -1 : 0) - (b.dec!.decoration === 'stdcall-underscore' ? -1 : 0),
    );
  return decorated[0] ? { exp: decorated[0], exact: false } : null;
}

function matchOne(f: InterfaceFunction, exports: DecoratedExport[], symbols: Record<string, string>): FunctionMatch {
  const mapped = symbols[f.name];
  const base: FunctionMatch = {
    name: f.name,
    group: f.group,
    ...(f.cardType ? { cardType: f.cardType } : {}),
    present: false,
    ...(mapped ? { mappedTo: mapped } : {}),
  };
  const hit = findExport(mapped ?? f.name, exports);
  if (!hit) return base;
  const m: FunctionMatch = {
    ...base,
    present: true,
    exportName: hit.exp.name!,
    via: mapped ? 'symbol-map' : hit.exact ? 'exact' : 'undecorated',
  };
  if (isStdcall(hit.exp.dec)) {
    const expectedBytes = expectedStdcallBytes(f.params.length);
    const declaredBytes = hit.exp.dec!.argBytes!;
    m.stdcall = { declaredBytes, expectedBytes, ok: declaredBytes === expectedBytes };
  }
  return m;
}

export function matchInterface(exports: DecoratedExport[], symbols: Record<string, string>): MatchResult {
  const functions = INTERFACE_FUNCTIONS.map((f) => matchOne(f, exports, symbols));
  const used = new Set(functions.flatMap((f) => (f.exportName ? [f.exportName] : [])));
  const warnings: Notice[] = [];
  for (const e of exports) {
    if (
      e.dec &&
      (e.dec.decoration === 'fastcall' || e.dec.decoration === 'vectorcall') &&
      INTERFACE_BY_NAME.has(e.dec.base)
    ) {
      warnings.push({
        code: 'WRONG_CALLING_CONVENTION',
        en: `${e.name} is exported as __${e.dec.decoration}; the interface requires __stdcall, so it is not counted`,
        zh: `${e.name} 以 __${e.dec.decoration} 导出；接口要求 __stdcall，不计为已实现`,
      });
    }
  }
  const cardTypes: CardTypeStatus[] = CARD_TYPES.map((cardType: CardType) => {
    const core = functions.filter((f) => f.group === 'core' && f.cardType === cardType);
    const present = core.filter((f) => f.present).map((f) => f.name);
    // A wrong stdcall size corrupts the caller's stack on every call: present, but not usable.
    const stdcallMismatch = core.filter((f) => f.stdcall && !f.stdcall.ok).map((f) => f.name);
    return {
      cardType,
      complete: present.length === core.length && stdcallMismatch.length === 0,
      present,
      missing: core.filter((f) => !f.present).map((f) => f.name),
      stdcallMismatch,
    };
  });
  return { functions, cardTypes, used, warnings };
}
