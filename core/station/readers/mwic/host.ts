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
import koffi from 'koffi';
import { HostCallError as CallError, serveHost } from '../../../driver/host/serve-host.ts';
import { HOST_ERROR, type LoadResult } from '../../../driver/protocol.ts';
import { MWIC_FUNCTIONS, prototype, type MwicFunction } from './mwic-functions.ts';

type Bound = { spec: MwicFunction; fn: (...args: unknown[]) => unknown };
const bound = new Map<string, Bound>();
let loaded: LoadResult | undefined;

function load(path: unknown): LoadResult {
  if (typeof path !== 'string' || path === '')
    throw new CallError(HOST_ERROR.BAD_PARAMS, 'path must be a non-empty string', 'path');
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
      case 'handle':
        args.push(intParam(params, p.name, -(2 ** 31), 2 ** 53));
        break;
      case 'int16':
        args.push(intParam(params, p.name, -32768, 32767));
        break;
      case 'uint8':
        args.push(intParam(params, p.name, 0, 255));
        break;
      case 'ulong':
        args.push(intParam(params, p.name, 0, 0xffffffff));
        break;
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
  for (const o of outs)
    out[o.name] = o.kind === 'bytesOut' ? (o.value as Buffer).toString('hex').toUpperCase() : (o.value as number[])[0];
  return { rc, out };
}

serveHost({
  name: 'mwic host',
  load: (params) => ({ ...load(params.path) }),
  call: (method, params) => call(method, params),
});
