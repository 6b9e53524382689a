/** Shapes shared by the PE and ELF readers and the report. */
import type { CardType } from '../cards/card-types.ts';
import type { Endianness } from './bytes.ts';
import type { LibraryKind, ManifestKindCheck } from './library-kind.ts';

export type BinaryFormat = 'PE32' | 'PE32+' | 'ELF32' | 'ELF64';

export interface MachineInfo {
  /** Raw e_machine / IMAGE_FILE_HEADER.Machine value. */
  code: number;
  /** Display name: i386, x86-64, ARM64, ARM, … */
  name: string;
  /** The matching Node `process.arch`, when Node has one. */
  nodeArch: string | null;
}

export interface ExportedSymbol {
  /** Name as stored in the file; null for PE ordinal-only exports. */
  name: string | null;
  /** PE: the export's RVA (aliases share one). ELF: st_value. */
  address?: number;
  /** PE ordinal (biased by the export directory's base). */
  ordinal?: number;
  /** PE forwarder ("KERNEL32.GetTickCount"): the name is not implemented in this file. */
  forwarder?: string;
  /** ELF symbol type and binding. */
  type?: 'FUNC' | 'OBJECT' | 'IFUNC';
  binding?: 'GLOBAL' | 'WEAK' | 'UNIQUE';
}

export type ExportSource =
  'pe-export-directory' | 'pe-none' | 'elf-section-dynsym' | 'elf-dynamic-gnu-hash' | 'elf-dynamic-hash' | 'elf-none';

/**
 * What a function's code says about its calling convention (x86): the bytes its `ret N` pops (stdcall N),
 * a plain `ret` (cdecl, or Delphi's register convention), or unknown. `via` lists the jump thunks and
 * forwarders followed to reach the code.
 */
export type PoppedBytes =
  | { kind: 'stdcall'; bytes: number; via: string[] }
  | { kind: 'plain-ret'; via: string[] }
  | { kind: 'unknown'; reason: string; via: string[] };

/** PE only: the bytes of the image from an RVA to the end of its section's file data (at most `max`). */
export type CodeReader = (rva: number, max: number) => Buffer | null;

/** What the container parsers return; the report adds interface matching on top. */
export interface ParsedBinary {
  format: BinaryFormat;
  machine: MachineInfo;
  bits: 32 | 64;
  endianness: Endianness;
  /** PE: IMAGE_FILE_DLL set. ELF: ET_DYN. */
  isLibrary: boolean;
  /** PE: the export directory's own DLL name. ELF: DT_SONAME. */
  libraryName?: string;
  /** PE only: has a CLR header, i.e. a .NET assembly. */
  dotNet?: boolean;
  exports: ExportedSymbol[];
  exportSource: ExportSource;
  /** PE only: reads code bytes for the calling-convention analysis (core/inspect/calling-convention.ts). */
  readCode?: CodeReader;
  /** Non-fatal oddities found while parsing (English/Chinese). */
  warnings: Notice[];
}

export interface Notice {
  code: string;
  zh: string;
  en: string;
}

export type HostVerdict = 'direct' | 'needs-32bit-host' | 'needs-other-host' | 'cannot-load';

export interface HostInfo {
  platform: string;
  arch: string;
}

export interface Loadability {
  host: HostInfo;
  verdict: HostVerdict;
  zh: string;
  en: string;
}

export type MatchVia = 'exact' | 'undecorated' | 'symbol-map';

export interface StdcallCheck {
  /** N from `_Name@N` / `Name@N`. */
  declaredBytes: number;
  /** 4 bytes per parameter on x86 (every gascard.h parameter is an int, __int16 or pointer). */
  expectedBytes: number;
  ok: boolean;
}

export interface FunctionMatch {
  name: string;
  group: 'core' | 'extension';
  cardType?: CardType;
  present: boolean;
  /** The exact name to bind (what the driver host passes to the loader). */
  exportName?: string;
  via?: MatchVia;
  /** Name the symbol map asked for, present or not. */
  mappedTo?: string;
  stdcall?: StdcallCheck;
  /** PE32 x86: what the bound export's code pops, against the 4 bytes per parameter the interface needs. */
  popped?: PoppedBytes & { expectedBytes: number; ok: boolean | null };
}

export interface CardTypeStatus {
  cardType: CardType;
  /** All five core functions present, none with a stdcall size that contradicts gascard.h. */
  complete: boolean;
  stdcallMismatch: string[];
  present: string[];
  missing: string[];
}

export interface SymbolSuggestion {
  interfaceName: string;
  exportName: string;
  /**
   * 0..1; higher is more likely. Only exports whose popped bytes (from the code or the decoration) equal
   * what the interface function needs are candidates; the name only ranks those.
   */
  score: number;
  reason: { zh: string; en: string };
  /** Other exports that also fit, best first (at most 3). */
  alternatives: string[];
}

export interface InspectReport {
  file: string | null;
  size: number;
  sha256: string;
  format: BinaryFormat;
  machine: MachineInfo;
  bits: 32 | 64;
  endianness: Endianness;
  isLibrary: boolean;
  libraryName?: string;
  dotNet?: boolean;
  /** native (koffi in the Node driver host) or dotnet (the .NET bridge): what the manifest must declare. */
  libraryKind: LibraryKind;
  /** With a plugin manifest: its declared kind for this library against the file's. */
  manifestKind?: ManifestKindCheck;
  exportSource: ExportSource;
  exports: Array<ExportedSymbol & { undecorated: string | null; stdcallBytes?: number; popped?: PoppedBytes }>;
  functions: FunctionMatch[];
  present: string[];
  missing: string[];
  cardTypes: CardTypeStatus[];
  completeCardTypes: CardType[];
  stdcallMismatches: Array<{ interfaceName: string; exportName: string; declaredBytes: number; expectedBytes: number }>;
  /** PE32 x86: interface functions bound to code that pops other than the 4 bytes per parameter they need. */
  conventionMismatches: Array<{ interfaceName: string; exportName: string; popped: string; expectedBytes: number }>;
  /** Exports that are not interface functions (after the symbol map). */
  otherExports: string[];
  /** Labelled suggestions only: a name heuristic, never applied automatically. */
  suggestions: SymbolSuggestion[];
  suggestedSymbols: Record<string, string>;
  symbolMap: Record<string, string>;
  loadability: Loadability;
  warnings: Notice[];
}
