/**
 * Binds a maker library's exports from INTERFACE_FUNCTIONS with koffi and performs one call with guarded,
 * caller-allocated output buffers. Runs only inside the driver host process.
 *
 * Every output buffer is filled with a guard pattern (never NUL, never ASCII) and followed by a trailing
 * canary, so each call reports how the library treated it: the string up to the first NUL, whether a NUL
 * was written within the buffer, and how many bytes it touched beyond the string and beyond the buffer.
 */
import { HostCallError } from './serve-host.ts';
import koffi from 'koffi';
import {
  HOST_BUFFER_SIZE,
  INTERFACE_FUNCTIONS,
  specMaxLength,
  type InterfaceFunction,
  type ParamKind,
} from '../interface-functions.ts';
import { HOST_ERROR, type LoadResult, type OutArrayReport, type OutBufferReport } from '../protocol.ts';

/** Bytes past each output buffer that are watched for overflow. */
export const CANARY_BYTES = 64;
/** int32 entries past each output int array that are watched for overflow. */
export const CANARY_ENTRIES = 8;
const ARRAY_SENTINEL = 0x5a5a5a5a;
const MAX_BUFFER_OVERRIDE = 1024 * 1024;
const MAX_CAPACITY = 4096;

const C_TYPE: Record<ParamKind, string> = {
  hexIn: 'uint8_t *',
  strIn: 'uint8_t *',
  hexOut: 'uint8_t *',
  keyOut: 'uint8_t *',
  strOut: 'uint8_t *',
  int: 'int32_t',
  int16: 'int16_t',
  intOut: 'int32_t *',
  int16Out: 'int16_t *',
  intArrayOut: 'int32_t *',
  capacity: 'int32_t',
  size: 'int32_t',
};

const RANGE: Partial<Record<ParamKind, [number, number]>> = {
  int: [-2147483648, 2147483647],
  capacity: [-2147483648, 2147483647],
  size: [-2147483648, 2147483647],
  int16: [-32768, 32767],
};

export { HostCallError };

/** Guard byte for position i: always >= 0x80, so neither NUL nor any ASCII a library writes can match it. */
export function guardByte(i: number): number {
  return 0x80 | ((i * 37 + 11) & 0x7f);
}

let guardTemplate = Buffer.alloc(0);
function guard(n: number): Buffer {
  if (guardTemplate.length < n) {
    guardTemplate = Buffer.allocUnsafeSlow(Math.max(n, 8192));
    for (let i = 0; i < guardTemplate.length; i++) guardTemplate[i] = guardByte(i);
  }
  return guardTemplate;
}

/**
 * What the library did to one guarded buffer. An untouched buffer reads as "" (the library wrote nothing);
 * a buffer without a NUL reads up to the last byte written within it.
 */
export function inspectBuffer(buf: Buffer, size: number, specMax?: number): OutBufferReport {
  const total = buf.length;
  const g = guard(total);
  const nul = buf.indexOf(0);
  const terminated = nul >= 0 && nul < size;
  let written: number;
  if (terminated && buf.compare(g, nul + 1, total, nul + 1, total) === 0) {
    written = nul + 1; // fast path: nothing after the NUL changed
  } else {
    let i = total - 1;
    while (i >= 0 && buf[i] === g[i]) i--;
    written = i + 1;
  }
  let touched = 0;
  let overflow = 0;
  if (written > 0) {
    for (let i = terminated ? nul + 1 : size; i < written; i++) {
      if (buf[i] !== g[i]) {
        touched++;
        if (i >= size) overflow++;
      }
    }
  }
  return {
    size,
    len: terminated ? nul : Math.min(written, size),
    terminated,
    touchedBytes: touched,
    overflowBytes: overflow,
    writtenBytes: written,
    ...(specMax !== undefined ? { specMax, beyondSpecBytes: Math.max(0, written - (specMax + 1)) } : {}),
  };
}

function defaultSize(kind: ParamKind): number {
  if (kind === 'hexOut') return HOST_BUFFER_SIZE.data;
  if (kind === 'keyOut') return HOST_BUFFER_SIZE.key;
  return HOST_BUFFER_SIZE.text;
}

type Bound = { spec: InterfaceFunction; exportName: string; fn: (...args: unknown[]) => unknown };

export class LibraryBinding {
  private readonly bound = new Map<string, Bound>();
  readonly load: LoadResult;

  constructor(path: string, symbols: Record<string, string> = {}) {
    let lib: ReturnType<typeof koffi.load>;
    try {
      lib = koffi.load(path);
    } catch (e) {
      throw new HostCallError(HOST_ERROR.LIBRARY_LOAD_FAILED, (e as Error).message);
    }
    const functions: string[] = [];
    const missing: string[] = [];
    const resolved: Record<string, string> = {};
    for (const spec of INTERFACE_FUNCTIONS) {
      // __stdcall is ignored off x86; on x86 koffi tries MSVC's _Name@N itself. mingw decorates without the
      // underscore (Name@N), so that spelling is tried too; every interface parameter is 4 bytes on x86.
      const mapped = symbols[spec.name];
      const candidates = mapped
        ? [mapped]
        : [spec.name, `${spec.name}@${4 * spec.params.length}`, `_${spec.name}@${4 * spec.params.length}`];
      let found = false;
      for (const exportName of candidates) {
        try {
          const fn = lib.func(
            '__stdcall',
            exportName,
            'int',
            spec.params.map((p) => C_TYPE[p.kind]),
          );
          this.bound.set(spec.name, { spec, exportName, fn: fn as (...args: unknown[]) => unknown });
          functions.push(spec.name);
          resolved[spec.name] = exportName;
          found = true;
          break;
        } catch {
          // not exported under this spelling
        }
      }
      if (!found) missing.push(spec.name);
    }
    this.load = { functions, missing, symbols: resolved };
  }

  has(name: string): boolean {
    return this.bound.has(name);
  }

  call(name: string, params: Record<string, unknown>): Record<string, unknown> {
    const b = this.bound.get(name);
    if (!b) throw new HostCallError(HOST_ERROR.FUNCTION_MISSING, `the library does not export ${name}`);
    return invoke(b, params);
  }
}

type OutMap = Record<string, OutBufferReport | OutArrayReport>;
type Post = (result: Record<string, unknown>, out: OutMap) => void;

function intParam(name: string, kind: ParamKind, v: unknown): number {
  const [lo, hi] = RANGE[kind]!;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < lo || v > hi) {
    throw new HostCallError(
      HOST_ERROR.BAD_PARAMS,
      `parameter ${name} must be an integer in [${lo}, ${hi}] (C ${C_TYPE[kind]})`,
      name,
    );
  }
  return v;
}

function bufferSizeOverride(params: Record<string, unknown>, name: string): number | undefined {
  const o = params.$buffers;
  if (o === undefined) return undefined;
  if (typeof o !== 'object' || o === null)
    throw new HostCallError(HOST_ERROR.BAD_PARAMS, '$buffers must be an object', '$buffers');
  const v = (o as Record<string, unknown>)[name];
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > MAX_BUFFER_OVERRIDE) {
    throw new HostCallError(
      HOST_ERROR.BAD_PARAMS,
      `$buffers.${name} must be an integer in [1, ${MAX_BUFFER_OVERRIDE}]`,
      name,
    );
  }
  return v;
}

function invoke(b: Bound, params: Record<string, unknown>): Record<string, unknown> {
  const specs = b.spec.params;
  const args: unknown[] = [];
  const post: Post[] = [];
  // Arrays are decoded after the scalars, because they are cut at the `count` output.
  const postArrays: Post[] = [];
  let lastBufferSize = 0;
  const countName = specs.find((p) => p.name === 'count' && p.kind === 'intOut')?.name;
  const capSpec = specs.find((p) => p.kind === 'capacity');
  let capacity: number = HOST_BUFFER_SIZE.usageCapacity;
  if (capSpec && params[capSpec.name] !== undefined)
    capacity = intParam(capSpec.name, 'capacity', params[capSpec.name]);
  const arrayLen = Math.min(Math.max(capacity, 0), MAX_CAPACITY);

  for (const p of specs) {
    const v = params[p.name];
    switch (p.kind) {
      case 'hexIn':
      case 'strIn': {
        if (v === null) {
          args.push(null);
          break;
        }
        if (typeof v !== 'string')
          throw new HostCallError(HOST_ERROR.BAD_PARAMS, `parameter ${p.name} must be a string or null`, p.name);
        args.push(Buffer.from(`${v}\0`, 'utf8'));
        break;
      }
      case 'hexOut':
      case 'keyOut':
      case 'strOut': {
        const size = bufferSizeOverride(params, p.name) ?? defaultSize(p.kind);
        const total = size + CANARY_BYTES;
        // Own allocation, not Node's shared pool: an overrun must not land in another buffer of this call.
        const buf = Buffer.allocUnsafeSlow(total);
        guard(total).copy(buf, 0, 0, total);
        lastBufferSize = size;
        args.push(buf);
        const encoding = p.kind === 'strOut' ? 'utf8' : 'latin1';
        const specMax = specMaxLength(b.spec, p);
        post.push((result, out) => {
          const report = inspectBuffer(buf, size, specMax);
          out[p.name] = report;
          result[p.name] = buf.toString(encoding, 0, report.len);
        });
        break;
      }
      case 'int':
      case 'int16':
        args.push(intParam(p.name, p.kind, v));
        break;
      case 'size':
        args.push(v === undefined ? lastBufferSize : intParam(p.name, 'size', v));
        break;
      case 'capacity':
        args.push(capacity);
        break;
      case 'intOut': {
        const a = new Int32Array(1);
        args.push(a);
        post.push((result) => {
          result[p.name] = a[0];
        });
        break;
      }
      case 'int16Out': {
        const a = new Int16Array(1);
        args.push(a);
        post.push((result) => {
          result[p.name] = a[0];
        });
        break;
      }
      case 'intArrayOut': {
        const a = new Int32Array(arrayLen + CANARY_ENTRIES).fill(ARRAY_SENTINEL);
        args.push(a);
        postArrays.push((result, out) => {
          const count = countName ? (result[countName] as number | undefined) : undefined;
          const used = count === undefined ? arrayLen : Math.min(Math.max(count, 0), arrayLen);
          let beyondCount = 0;
          for (let i = used; i < arrayLen; i++) if (a[i] !== ARRAY_SENTINEL) beyondCount++;
          let overflow = 0;
          for (let i = arrayLen; i < a.length; i++) if (a[i] !== ARRAY_SENTINEL) overflow++;
          result[p.name] = Array.from(a.subarray(0, used));
          out[p.name] = { capacity: arrayLen, touchedBeyondCount: beyondCount, overflowEntries: overflow };
        });
        break;
      }
    }
  }

  const rc = b.fn(...args);
  const result: Record<string, unknown> = { rc };
  const out: OutMap = {};
  for (const f of post) f(result, out);
  for (const f of postArrays) f(result, out);
  result.$out = out;
  return result;
}
