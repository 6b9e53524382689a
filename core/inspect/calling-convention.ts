/**
 * Reads each export's calling convention from its code, because undecorated names (`--kill-at`, .def
 * files, Delphi) do not show it: the bytes the function's `ret N` pops are stdcall N; a plain `ret` is
 * cdecl or Delphi's register convention. Jump thunks (MSVC incremental-link tables, `jmp` stubs) and
 * forwarders into the same DLL are followed. The walk is linear from the entry to the first `ret`; every
 * `ret` of a stdcall function pops the same N, so the first one decides. Anything the walk cannot vouch
 * for is "unknown" — never a guess, since a wrong binding corrupts cards.
 */
import { decodeLength } from './x86-length.ts';
import type { CodeReader, ExportedSymbol, PoppedBytes } from './types.ts';

const MAX_FUNCTION_BYTES = 16 * 1024;
const MAX_HOPS = 8;

type Walked = { kind: 'stdcall'; bytes: number } | { kind: 'plain-ret' } | { kind: 'unknown'; reason: string };

export interface ConventionContext {
  readCode: CodeReader;
  is64: boolean;
  exports: ExportedSymbol[];
  /** The DLL's own name (export directory), to follow forwarders that point back into it. */
  libraryName?: string | undefined;
}

const hex = (n: number) => `0x${n.toString(16)}`;
const dllBase = (n: string) => n.toLowerCase().replace(/\.dll$/, '');

export function analyseExports(ctx: ConventionContext): Map<ExportedSymbol, PoppedBytes> {
  // Function starts bound each walk: export entries and, once followed, thunk targets.
  const starts = new Set<number>();
  for (const e of ctx.exports) if (e.address !== undefined) starts.add(e.address);
  const targets = new Map<number, { rva: number; via: string[] } | PoppedBytes>();
  for (const e of ctx.exports) {
    if (e.address === undefined) continue;
    const t = followThunks(ctx, e.address);
    targets.set(e.address, t);
    if (!('kind' in t)) starts.add(t.rva);
  }
  const sorted = [...starts].sort((a, b) => a - b);
  const out = new Map<ExportedSymbol, PoppedBytes>();
  const analyse = (e: ExportedSymbol, depth: number): PoppedBytes => {
    if (e.forwarder !== undefined) return viaForwarder(e.forwarder, depth);
    if (e.address === undefined) return { kind: 'unknown', reason: 'no address', via: [] };
    const t = targets.get(e.address)!;
    if ('kind' in t) return t;
    const next = sorted.find((s) => s > t.rva);
    return { ...walk(ctx, t.rva, next), via: t.via };
  };
  const viaForwarder = (fwd: string, depth: number): PoppedBytes => {
    const dot = fwd.lastIndexOf('.');
    const dll = fwd.slice(0, dot);
    const name = fwd.slice(dot + 1);
    if (!ctx.libraryName || dllBase(dll) !== dllBase(ctx.libraryName) || depth > MAX_HOPS) {
      return {
        kind: 'unknown',
        reason: `forwarded to ${fwd}: the code is in another DLL; inspect that one`,
        via: [`forwarder ${fwd}`],
      };
    }
    const target = name.startsWith('#')
      ? ctx.exports.find((x) => x.ordinal === Number(name.slice(1)))
      : ctx.exports.find((x) => x.name === name);
    if (!target)
      return {
        kind: 'unknown',
        reason: `forwarded to ${fwd}, which this DLL does not export`,
        via: [`forwarder ${fwd}`],
      };
    const r = analyse(target, depth + 1);
    return { ...r, via: [`forwarder ${fwd}`, ...r.via] };
  };
  for (const e of ctx.exports) out.set(e, analyse(e, 0));
  return out;
}

/** Follows `jmp rel` thunks from an entry; a jump through a pointer (import thunk) cannot be followed. */
function followThunks(ctx: ConventionContext, entry: number): { rva: number; via: string[] } | PoppedBytes {
  let rva = entry;
  const via: string[] = [];
  for (let hop = 0; hop <= MAX_HOPS; hop++) {
    const code = ctx.readCode(rva, 16);
    if (!code) return { kind: 'unknown', reason: `no code at RVA ${hex(rva)} in the file`, via };
    const d = decodeLength(code, 0, ctx.is64);
    if (!d) return { rva, via };
    if ((d.op === 0xe9 || d.op === 0xeb) && d.rel !== undefined) {
      const to = rva + d.length + d.rel;
      via.push(`jmp ${hex(rva)} → ${hex(to)}`);
      rva = to;
      continue;
    }
    if (d.op === 0xff && d.modrm !== undefined && ((d.modrm >> 3) & 7) === 4 && (d.modrm & 0xc7) === 0x05) {
      return {
        kind: 'unknown',
        reason: `jumps through a pointer at RVA ${hex(rva)} (an import from another DLL)`,
        via,
      };
    }
    return { rva, via };
  }
  return { kind: 'unknown', reason: 'more than 8 chained jumps', via };
}

/** Walks from a function's first instruction to its first `ret`, stopping at the next known function. */
function walk(ctx: ConventionContext, rva: number, next: number | undefined): Walked {
  const limit = Math.min(MAX_FUNCTION_BYTES, next !== undefined ? next - rva : MAX_FUNCTION_BYTES);
  const code = ctx.readCode(rva, limit);
  if (!code) return { kind: 'unknown', reason: `no code at RVA ${hex(rva)} in the file` };
  let at = 0;
  while (at < code.length) {
    const d = decodeLength(code, at, ctx.is64);
    if (!d) return { kind: 'unknown', reason: `unrecognised instruction at RVA ${hex(rva + at)}` };
    if (d.op === 0xc3) return { kind: 'plain-ret' };
    if (d.op === 0xc2 && d.imm16 !== undefined) return { kind: 'stdcall', bytes: d.imm16 };
    // int3 is padding or a debug break, never the middle of a function body that still has its ret ahead.
    if (d.op === 0xcc)
      return { kind: 'unknown', reason: `no ret before padding at RVA ${hex(rva + at)} (ends in a jump?)` };
    at += d.length;
  }
  return { kind: 'unknown', reason: `no ret before RVA ${hex(rva + code.length)}` };
}

/** One line for reports: "stdcall 20", "plain ret (cdecl/register)", "unknown (…)". */
export function describePopped(p: PoppedBytes): string {
  if (p.kind === 'stdcall') return `ret ${p.bytes} (stdcall ${p.bytes})`;
  if (p.kind === 'plain-ret') return 'plain ret (cdecl or register)';
  return `unknown (${p.reason})`;
}
