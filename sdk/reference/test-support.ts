/**
 * Test helpers for the reference stand-in libraries (替身库): build them once, bind them with koffi in the test
 * process and call them with host-sized buffers (data 4096, keys 64). Only correct stand-in builds are loaded
 * here — fault builds crash or hang on purpose and belong to the driver host's tests.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import koffi from 'koffi';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

export type CardType = '4442' | '102' | 'cpu';
export type MemType = '4442' | '102';

/** Fixed per maker (mirrors scripts/build-native.mjs and the plugin catalogues). */
export const MAKERS: ReadonlyArray<{ maker: string; cardTypes: CardType[]; toolKinds: string[] }> = [
  { maker: 'kingcard', cardTypes: ['4442', '102'], toolKinds: ['CLEAR', 'TRANSFER'] },
  { maker: 'zenner', cardTypes: ['102'], toolKinds: ['CLEAR', 'CHECK', 'SETUP'] },
  { maker: 'lanbaoshi', cardTypes: ['4442'], toolKinds: ['CLEAR', 'VALVE_OPEN', 'SETUP'] },
  { maker: 'songchuan', cardTypes: ['4442', '102'], toolKinds: ['CLEAR', 'CHECK', 'CLOCK'] },
  { maker: 'chint', cardTypes: ['4442'], toolKinds: ['CLEAR', 'CHECK', 'VALVE_OPEN', 'VALVE_CLOSE'] },
  { maker: 'tancy', cardTypes: ['cpu'], toolKinds: ['CLEAR', 'VALVE_OPEN', 'VALVE_CLOSE', 'CHECK', 'TRANSFER'] },
];

export const HEX_LEN: Record<MemType, number> = { '4442': 512, '102': 300 };
export const KEY_LEN: Record<MemType, number> = { '4442': 6, '102': 4 };
export const FACTORY_KEY: Record<MemType, string> = { '4442': 'FFFFFF', '102': 'F0F0' };
export const GC = {
  OK: 0,
  NOT_OURS: -1,
  NO_CARD: -4,
  NOT_USER_CARD: -8,
  NEW_OR_BACKWARDS: -13,
  NOT_THIS_SYSTEM: -14,
  NOT_NEW_CARD: -15,
  CARDNO_MISMATCH: -16,
  BAD_PARAM: -31,
  BAD_DATA: -32,
  BUFFER_TOO_SMALL: -33,
  UNSUPPORTED: -34,
  CHECKSUM: -35,
  PSAM: -100,
} as const;

/** Valid parameters for each tool kind (the params the SPEC names). */
export const TOOL_PARAMS: Record<string, string> = {
  CLEAR: '',
  CHECK: '',
  VALVE_OPEN: '',
  VALVE_CLOSE: '',
  SETUP: 'alarmGas=5;overdraft=10;limit=500',
  TRANSFER: 'cardNo=2024000001',
  CLOCK: 'time=20250315083000',
};

interface Manifest {
  makers: Array<{ maker: string; cardTypes: string[]; path: string; standIn: boolean }>;
  faults: Array<{ name: string; path: string }>;
  demo: { path: string } | null;
}

let manifest: Manifest | undefined;

/** Runs the (incremental) native build once per test process and returns its manifest. */
export function ensureBuilt(): Manifest {
  if (!manifest) {
    execFileSync(process.execPath, [join(ROOT, 'scripts', 'build-native.mjs')], { cwd: ROOT, stdio: 'pipe' });
    manifest = JSON.parse(readFileSync(join(ROOT, 'build', 'native', 'manifest.json'), 'utf8')) as Manifest;
  }
  return manifest;
}

export function libraryPath(maker: string): string {
  const m = ensureBuilt().makers.find((x) => x.maker === maker);
  if (!m) throw new Error(`no stand-in built for ${maker}`);
  return join(ROOT, m.path);
}

/** NUL-terminated input buffer; `undefined` stays a NULL pointer. */
export function cstr(s: string | null): Buffer | null {
  return s === null ? null : Buffer.from(`${s}\0`, 'latin1');
}

/** Reads a C string out of a host buffer; reports whether a NUL was found at all. */
export function readC(buf: Buffer): string {
  const end = buf.indexOf(0);
  return buf.toString('utf8', 0, end < 0 ? buf.length : end);
}

const DEFS = [
  'int __stdcall WriteNew4442Card(uint8_t *kh, int ql, int16_t cs, int16_t klx, uint8_t *data, uint8_t *oldKey, uint8_t *newKey)',
  'int __stdcall WriteNew102Card(uint8_t *kh, int ql, int16_t cs, int16_t klx, uint8_t *data, uint8_t *oldKey, uint8_t *newKey)',
  'int __stdcall Read4442Card(uint8_t *data, uint8_t *kh, int32_t *ql, int16_t *cs, int16_t *klx)',
  'int __stdcall Read102Card(uint8_t *data, uint8_t *kh, int32_t *ql, int16_t *cs, int16_t *klx)',
  'int __stdcall Buy4442Card(uint8_t *source, uint8_t *kh, int ql, int16_t cs, uint8_t *dest, uint8_t *oldKey, uint8_t *newKey)',
  'int __stdcall Buy102Card(uint8_t *source, uint8_t *kh, int ql, int16_t cs, uint8_t *dest, uint8_t *oldKey, uint8_t *newKey)',
  'int __stdcall Format4442Card(uint8_t *source, uint8_t *oldKey)',
  'int __stdcall Format102Card(uint8_t *source, uint8_t *oldKey)',
  'int __stdcall Check4442Card(uint8_t *source)',
  'int __stdcall Check102Card(uint8_t *source, uint8_t *oldKey)',
  'int __stdcall WriteNewCpuCard(int16_t com, uint8_t *kh, int ql, int16_t cs, int16_t klx)',
  'int __stdcall ReadCpuCard(int16_t com, uint8_t *kh, int32_t *ql, int16_t *cs, int16_t *klx)',
  'int __stdcall BuyCpuCard(int16_t com, uint8_t *kh, int ql, int16_t cs)',
  'int __stdcall FormatCpuCard(int16_t com, uint8_t *kh)',
  'int __stdcall CheckCpuCard(int16_t com)',
  'int __stdcall GasCardInterfaceVersion(uint8_t *out, int outSize)',
  'int __stdcall GasCardErrorText(int code, uint8_t *out, int outSize)',
  'int __stdcall ListToolCards(uint8_t *cardType, uint8_t *out, int outSize)',
  'int __stdcall MakeTool4442(uint8_t *kind, uint8_t *params, uint8_t *source, uint8_t *data, int dataSize, uint8_t *oldKey, uint8_t *newKey, int keySize)',
  'int __stdcall MakeTool102(uint8_t *kind, uint8_t *params, uint8_t *source, uint8_t *data, int dataSize, uint8_t *oldKey, uint8_t *newKey, int keySize)',
  'int __stdcall MakeToolCpu(int16_t com, uint8_t *kind, uint8_t *params)',
  'int __stdcall ReadUsage4442(uint8_t *data, int32_t *written, int32_t *status, int32_t *lastCode, int32_t *months, int32_t *usage, int capacity, int32_t *count)',
  'int __stdcall ReadUsage102(uint8_t *data, int32_t *written, int32_t *status, int32_t *lastCode, int32_t *months, int32_t *usage, int capacity, int32_t *count)',
  'int __stdcall ReadUsageCpu(int16_t com, int32_t *written, int32_t *status, int32_t *lastCode, int32_t *months, int32_t *usage, int capacity, int32_t *count)',
  'int __stdcall StandInInfo(uint8_t *out, int outSize)',
  'int __stdcall StandInLayoutSelfTest()',
  'int __stdcall StandInMeterWriteBack(uint8_t *cardType, uint8_t *data, int status, int lastCode, int32_t *months, int32_t *usage, int count, uint8_t *out, int outSize)',
  'int __stdcall StandInMeterWriteBackCpu(int16_t com, int status, int lastCode, int32_t *months, int32_t *usage, int count)',
  'int __stdcall StandInCpuInsertBlank(int16_t com)',
  'int __stdcall StandInCpuInsertData(int16_t com, uint8_t *data)',
  'int __stdcall StandInCpuRemove(int16_t com)',
  'int __stdcall StandInCpuSetPsam(int16_t com, int present)',
  'int __stdcall StandInCpuGetData(int16_t com, uint8_t *out, int outSize)',
];

type Fn = (...args: unknown[]) => number;

export interface CardOut {
  rc: number;
  data: string;
  oldKey: string;
  newKey: string;
}
export interface ReadOut {
  rc: number;
  kh: string;
  ql: number;
  cs: number;
  klx: number;
}
export interface UsageOut {
  rc: number;
  written: number;
  status: number;
  lastCode: number;
  months: number[];
  usage: number[];
  count: number;
}

const DATA = 4096;
const KEY = 64;

/** One loaded stand-in library with typed wrappers. Inputs are plain strings (null = NULL pointer). */
export class StandIn {
  readonly fns: Record<string, Fn> = {};

  constructor(
    readonly maker: string,
    path = libraryPath(maker),
  ) {
    const lib = koffi.load(path);
    for (const d of DEFS) {
      const name = /(\w+)\(/.exec(d)![1]!;
      this.fns[name] = lib.func(d) as unknown as Fn;
    }
  }

  private f(name: string): Fn {
    const fn = this.fns[name];
    if (!fn) throw new Error(`not bound: ${name}`);
    return fn;
  }

  writeNew(t: MemType, kh: string | null, ql: number, cs: number, klx: number): CardOut {
    const data = Buffer.alloc(DATA),
      o = Buffer.alloc(KEY),
      n = Buffer.alloc(KEY);
    const rc = this.f(`WriteNew${t}Card`)(cstr(kh), ql, cs, klx, data, o, n);
    return { rc, data: readC(data), oldKey: readC(o), newKey: readC(n) };
  }

  read(t: MemType, data: string | null): ReadOut {
    const kh = Buffer.alloc(KEY),
      ql = new Int32Array(1),
      cs = new Int16Array(1),
      klx = new Int16Array(1);
    const rc = this.f(`Read${t}Card`)(cstr(data), kh, ql, cs, klx);
    return { rc, kh: readC(kh), ql: ql[0]!, cs: cs[0]!, klx: klx[0]! };
  }

  buy(t: MemType, source: string | null, kh: string | null, ql: number, cs: number): CardOut {
    const data = Buffer.alloc(DATA),
      o = Buffer.alloc(KEY),
      n = Buffer.alloc(KEY);
    const rc = this.f(`Buy${t}Card`)(cstr(source), cstr(kh), ql, cs, data, o, n);
    return { rc, data: readC(data), oldKey: readC(o), newKey: readC(n) };
  }

  format(t: MemType, source: string | null): { rc: number; oldKey: string } {
    const o = Buffer.alloc(KEY);
    const rc = this.f(`Format${t}Card`)(cstr(source), o);
    return { rc, oldKey: readC(o) };
  }

  /** 4442: the whole card; 102: pass the public zone (first 44 hex) yourself. */
  check(t: MemType, source: string | null): { rc: number; oldKey: string } {
    if (t === '4442') return { rc: this.f('Check4442Card')(cstr(source)), oldKey: '' };
    const o = Buffer.alloc(KEY);
    const rc = this.f('Check102Card')(cstr(source), o);
    return { rc, oldKey: readC(o) };
  }

  listTools(t: string): { rc: number; text: string } {
    const out = Buffer.alloc(1024);
    const rc = this.f('ListToolCards')(cstr(t), out, out.length);
    return { rc, text: readC(out) };
  }

  makeTool(t: MemType, kind: string, params: string | null, source: string, dataSize = DATA, keySize = KEY): CardOut {
    const data = Buffer.alloc(DATA),
      o = Buffer.alloc(KEY),
      n = Buffer.alloc(KEY);
    const rc = this.f(`MakeTool${t}`)(cstr(kind), cstr(params), cstr(source), data, dataSize, o, n, keySize);
    return { rc, data: readC(data), oldKey: readC(o), newKey: readC(n) };
  }

  readUsage(t: MemType, data: string, capacity = 24): UsageOut {
    const w = new Int32Array(1),
      s = new Int32Array(1),
      l = new Int32Array(1),
      c = new Int32Array(1);
    const months = new Int32Array(Math.max(capacity, 1)),
      usage = new Int32Array(Math.max(capacity, 1));
    const rc = this.f(`ReadUsage${t}`)(cstr(data), w, s, l, months, usage, capacity, c);
    const n = rc === 0 ? c[0]! : 0;
    return {
      rc,
      written: w[0]!,
      status: s[0]!,
      lastCode: l[0]!,
      months: [...months.slice(0, n)],
      usage: [...usage.slice(0, n)],
      count: c[0]!,
    };
  }

  meterWriteBack(
    t: string,
    data: string,
    status: number,
    lastCode: number,
    months: number[],
    usage: number[],
  ): { rc: number; data: string } {
    const out = Buffer.alloc(DATA);
    const rc = this.f('StandInMeterWriteBack')(
      cstr(t),
      cstr(data),
      status,
      lastCode,
      Int32Array.from(months.length ? months : [0]),
      Int32Array.from(usage.length ? usage : [0]),
      months.length,
      out,
      out.length,
    );
    return { rc, data: readC(out) };
  }

  errorText(code: number, size = 1024): { rc: number; text: string } {
    const out = Buffer.alloc(size);
    const rc = this.f('GasCardErrorText')(code, out, size);
    return { rc, text: readC(out) };
  }

  version(size = 64): { rc: number; text: string } {
    const out = Buffer.alloc(size);
    const rc = this.f('GasCardInterfaceVersion')(out, size);
    return { rc, text: readC(out) };
  }

  info(): string {
    const out = Buffer.alloc(512);
    const rc = this.f('StandInInfo')(out, out.length);
    if (rc !== 0) throw new Error(`StandInInfo ${rc}`);
    return readC(out);
  }

  // ---- cpu ----
  cpuWriteNew(com: number, kh: string | null, ql: number, cs: number, klx: number): number {
    return this.f('WriteNewCpuCard')(com, cstr(kh), ql, cs, klx);
  }

  cpuRead(com: number): ReadOut {
    const kh = Buffer.alloc(KEY),
      ql = new Int32Array(1),
      cs = new Int16Array(1),
      klx = new Int16Array(1);
    const rc = this.f('ReadCpuCard')(com, kh, ql, cs, klx);
    return { rc, kh: readC(kh), ql: ql[0]!, cs: cs[0]!, klx: klx[0]! };
  }

  cpuBuy(com: number, kh: string | null, ql: number, cs: number): number {
    return this.f('BuyCpuCard')(com, cstr(kh), ql, cs);
  }
  cpuFormat(com: number, kh: string | null): number {
    return this.f('FormatCpuCard')(com, cstr(kh));
  }
  cpuCheck(com: number): number {
    return this.f('CheckCpuCard')(com);
  }
  cpuMakeTool(com: number, kind: string, params: string | null): number {
    return this.f('MakeToolCpu')(com, cstr(kind), cstr(params));
  }

  cpuReadUsage(com: number, capacity = 24): UsageOut {
    const w = new Int32Array(1),
      s = new Int32Array(1),
      l = new Int32Array(1),
      c = new Int32Array(1);
    const months = new Int32Array(Math.max(capacity, 1)),
      usage = new Int32Array(Math.max(capacity, 1));
    const rc = this.f('ReadUsageCpu')(com, w, s, l, months, usage, capacity, c);
    const n = rc === 0 ? c[0]! : 0;
    return {
      rc,
      written: w[0]!,
      status: s[0]!,
      lastCode: l[0]!,
      months: [...months.slice(0, n)],
      usage: [...usage.slice(0, n)],
      count: c[0]!,
    };
  }

  cpuMeterWriteBack(com: number, status: number, lastCode: number, months: number[], usage: number[]): number {
    return this.f('StandInMeterWriteBackCpu')(
      com,
      status,
      lastCode,
      Int32Array.from(months.length ? months : [0]),
      Int32Array.from(usage.length ? usage : [0]),
      months.length,
    );
  }

  cpuInsertBlank(com: number): number {
    return this.f('StandInCpuInsertBlank')(com);
  }
  cpuInsertData(com: number, data: string): number {
    return this.f('StandInCpuInsertData')(com, cstr(data));
  }
  cpuRemove(com: number): number {
    return this.f('StandInCpuRemove')(com);
  }
  cpuSetPsam(com: number, present: boolean): number {
    return this.f('StandInCpuSetPsam')(com, present ? 1 : 0);
  }

  cpuGetData(com: number): { rc: number; data: string } {
    const out = Buffer.alloc(DATA);
    const rc = this.f('StandInCpuGetData')(com, out, out.length);
    return { rc, data: readC(out) };
  }
}

/** Deterministic pseudo-random hex (xorshift32), so "random card" tests are reproducible. */
export function randomHex(len: number, seed: number): string {
  let x = seed >>> 0 || 1;
  let s = '';
  for (let i = 0; i < len; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    s += '0123456789ABCDEF'[x & 15];
  }
  return s;
}

/** Blank cards as they come from the factory / after erasing. */
export function blankCards(t: MemType): { allFF: string; all00: string; factoryHeader: string } {
  if (t === '4442') {
    return {
      allFF: 'FF'.repeat(256),
      all00: '00'.repeat(256),
      factoryHeader: 'A2131091FFFF8115' + 'FF'.repeat(248),
    };
  }
  return {
    allFF: 'FF'.repeat(150),
    all00: '00'.repeat(150),
    factoryHeader: '0F0F' + 'FF'.repeat(8) + 'F0F0' + 'FFFF' + 'FF'.repeat(8) + 'FF'.repeat(128),
  };
}
