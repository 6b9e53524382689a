/**
 * Driver host for the Mingwah SDK (mwic_32.dll or the stand-in): a child process started by
 * core/driver/supervisor.ts (`hostEntry`), speaking core/driver/protocol.ts on stdin/stdout. It binds the
 * functions of MWIC_FUNCTIONS with koffi and performs one call per request, synchronously: the SDK is not
 * reentrant and may hang or crash, which the supervisor handles by killing and respawning this process.
 * On Windows it can run under a 32-bit node.exe (supervisor `execPath`) for the 32-bit DLL.
 *
 * Request: { method: "<mwic function>", params: { <param>: number | hex } }
 * Result:  { rc: number, out: { <bytesOut|int16Out param>: hex | number } }
 * Error texts name the function and parameter, never a value (passwords travel as parameters).
 */
import { createInterface } from 'node:readline';
import koffi from 'koffi';
import {
  HOST_ERROR, METHOD, PROTOCOL_VERSION, encodeFrame,
  type HostFrame, type LoadResult, type RequestFrame,
} from '../../../driver/protocol.ts';
import { MWIC_FUNCTIONS, prototype, type MwicFunction } from './mwic-functions.ts';

console.log = console.error;
console.info = console.error;

class CallError extends Error {
  readonly code: string;
  readonly param: string | undefined;
  constructor(code: string, message: string, param?: string) {
    super(message);
    this.code = code;
    this.param = param;
  }
}

type Bound = { spec: MwicFunction; fn: (...args: unknown[]) => unknown };
const bound = new Map<string, Bound>();
let loaded: LoadResult | undefined;

function send(frame: HostFrame, then?: () => void): void {
  process.stdout.write(encodeFrame(frame), then);
}

function load(path: unknown): LoadResult {
  if (loaded) throw new CallError(HOST_ERROR.ALREADY_LOADED, 'a library is already loaded; start a new host');
  if (typeof path !== 'string' || path === '') throw new CallError(HOST_ERROR.BAD_PARAMS, 'path must be a non-empty string', 'path');
  let lib: ReturnType<typeof koffi.load>;
  try {
    lib = koffi.load(path);
  } catch (e) {
    throw new CallError(HOST_ERROR.LIBRARY_LOAD_FAILED, (e as Error).message);
  }
  const functions: string[] = [];
  const missing: string[] = [];
  const symbols: Record<string, string> = {};
  for (const [name, spec] of Object.entries(MWIC_FUNCTIONS)) {
    try {
      bound.set(name, { spec, fn: lib.func(prototype(name, spec)) as (...args: unknown[]) => unknown });
      functions.push(name);
      symbols[name] = name;
    } catch {
      missing.push(name);
    }
  }
  loaded = { functions, missing, symbols };
  return loaded;
}

function intParam(params: Record<string, unknown>, name: string, min: number, max: number): number {
  const v = params[name];
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw new CallError(HOST_ERROR.BAD_PARAMS, `${name} must be an integer in ${min}..${max}`, name);
  }
  return v;
}

function call(name: string, params: Record<string, unknown>): Record<string, unknown> {
  const b = bound.get(name);
  if (!b) {
    if (!(name in MWIC_FUNCTIONS)) throw new CallError(HOST_ERROR.UNKNOWN_METHOD, `unknown function ${name}`);
    throw new CallError(HOST_ERROR.FUNCTION_MISSING, `the library does not export ${name}`);
  }
  const args: unknown[] = [];
  const outs: { name: string; kind: 'bytesOut' | 'int16Out'; value: Buffer | number[] }[] = [];
  for (const p of b.spec.params) {
    switch (p.kind) {
      case 'handle': args.push(intParam(params, p.name, -(2 ** 31), 2 ** 53)); break;
      case 'int16': args.push(intParam(params, p.name, -32768, 32767)); break;
      case 'uint8': args.push(intParam(params, p.name, 0, 255)); break;
      case 'ulong': args.push(intParam(params, p.name, 0, 0xffffffff)); break;
      case 'bytesIn': {
        const v = params[p.name];
        if (typeof v !== 'string' || v.length % 2 !== 0 || !/^[0-9A-Fa-f]*$/.test(v) || v.length > 2048) {
          throw new CallError(HOST_ERROR.BAD_PARAMS, `${p.name} must be hex (at most 1024 bytes)`, p.name);
        }
        // Padded: an SDK that reads a few bytes past `len` reads zeros, not someone else's memory.
        const buf = Buffer.alloc(v.length / 2 + 64);
        buf.write(v, 'hex');
        args.push(buf);
        break;
      }
      case 'bytesOut': {
        const buf = Buffer.alloc(p.size ?? 256);
        outs.push({ name: p.name, kind: 'bytesOut', value: buf });
        args.push(buf);
        break;
      }
      case 'int16Out': {
        const cell = [0];
        outs.push({ name: p.name, kind: 'int16Out', value: cell });
        args.push(cell);
        break;
      }
    }
  }
  const rc = Number(b.fn(...args));
  const out: Record<string, unknown> = {};
  for (const o of outs) out[o.name] = o.kind === 'bytesOut' ? (o.value as Buffer).toString('hex').toUpperCase() : (o.value as number[])[0];
  return { rc, out };
}

function handle(line: string): void {
  const text = line.startsWith('\u001eMH1 ') ? line.slice(5) : line;
  if (text.trim() === '') return;
  let req: RequestFrame;
  try {
    req = JSON.parse(text) as RequestFrame;
  } catch {
    send({ id: null, error: { code: HOST_ERROR.BAD_FRAME, message: 'request is not JSON' } });
    return;
  }
  if (typeof req !== 'object' || req === null || (typeof req.id !== 'number' && typeof req.id !== 'string') || typeof req.method !== 'string') {
    send({ id: null, error: { code: HOST_ERROR.BAD_FRAME, message: 'request needs id and method' } });
    return;
  }
  const params = (typeof req.params === 'object' && req.params !== null ? req.params : {}) as Record<string, unknown>;
  try {
    switch (req.method) {
      case METHOD.ping:
        send({ id: req.id, result: { pong: true, pid: process.pid, loaded: loaded !== undefined } });
        return;
      case METHOD.shutdown:
        send({ id: req.id, result: { ok: true } }, () => process.exit(0));
        return;
      case METHOD.load:
        send({ id: req.id, result: { ...load(params.path) } });
        return;
      default:
        if (req.method.startsWith('$')) throw new CallError(HOST_ERROR.UNKNOWN_METHOD, `unknown method ${req.method}`);
        if (!loaded) throw new CallError(HOST_ERROR.NOT_LOADED, 'no library loaded; send $load first');
        send({ id: req.id, result: call(req.method, params) });
    }
  } catch (e) {
    if (e instanceof CallError) send({ id: req.id, error: { code: e.code, message: e.message, ...(e.param ? { param: e.param } : {}) } });
    else send({ id: req.id, error: { code: HOST_ERROR.INTERNAL, message: e instanceof TypeError ? e.message : 'internal error in the mwic host' } });
  }
}

const rl = createInterface({ input: process.stdin, crlfDelay: Infinity });
rl.on('line', handle);
rl.on('close', () => process.exit(0));

send({ event: 'ready', pid: process.pid, runtime: `node ${process.version}`, arch: process.arch, platform: process.platform, protocol: PROTOCOL_VERSION });
