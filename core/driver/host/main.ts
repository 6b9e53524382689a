/**
 * The Node driver host: a child process that owns exactly one maker library (docs/driver-protocol.md).
 *
 * Started by core/driver/supervisor.ts as `node --import <tsx/esm> core/driver/host/main.ts`, possibly with a
 * different node (a 32-bit Node 22 for 32-bit DLLs). Requests are handled strictly one at a time: each
 * library call is synchronous, so the next stdin line is not even read before the call returns — vendor
 * libraries are not reentrant. The host exits when stdin closes (the supervisor is gone).
 */
import { createInterface } from 'node:readline';
import {
  HOST_ERROR, METHOD, PROTOCOL_VERSION, encodeFrame,
  type HostFrame, type LoadParams, type RequestFrame,
} from '../protocol.ts';
import { HostCallError, LibraryBinding } from './binding.ts';

// Our own diagnostics must never land on stdout, which carries the frames.
console.log = console.error;
console.info = console.error;

let binding: LibraryBinding | undefined;
let calls = 0;

function send(frame: HostFrame, then?: () => void): void {
  process.stdout.write(encodeFrame(frame), then);
}

function fail(id: RequestFrame['id'] | null, code: string, message: string, param?: string): void {
  send({ id, error: { code, message, ...(param ? { param } : {}) } });
}

function handle(line: string): void {
  const text = line.startsWith('\u001eMH1 ') ? line.slice(5) : line;
  if (text.trim() === '') return;
  let req: RequestFrame;
  try {
    req = JSON.parse(text) as RequestFrame;
  } catch {
    fail(null, HOST_ERROR.BAD_FRAME, 'request is not JSON');
    return;
  }
  if (typeof req !== 'object' || req === null || (typeof req.id !== 'number' && typeof req.id !== 'string') || typeof req.method !== 'string') {
    fail(null, HOST_ERROR.BAD_FRAME, 'request needs id (number|string) and method (string)');
    return;
  }
  const params = (typeof req.params === 'object' && req.params !== null ? req.params : {}) as Record<string, unknown>;
  try {
    switch (req.method) {
      case METHOD.ping:
        send({ id: req.id, result: { pong: true, pid: process.pid, calls, loaded: binding !== undefined } });
        return;
      case METHOD.shutdown:
        send({ id: req.id, result: { ok: true } }, () => process.exit(0));
        return;
      case METHOD.load: {
        if (binding) throw new HostCallError(HOST_ERROR.ALREADY_LOADED, 'a library is already loaded; start a new host');
        const lp = params as unknown as LoadParams;
        if (typeof lp.path !== 'string' || lp.path === '') throw new HostCallError(HOST_ERROR.BAD_PARAMS, 'path must be a non-empty string', 'path');
        const symbols = lp.symbols && typeof lp.symbols === 'object' ? lp.symbols : {};
        binding = new LibraryBinding(lp.path, symbols);
        send({ id: req.id, result: { ...binding.load } });
        return;
      }
      default: {
        if (req.method.startsWith('$')) throw new HostCallError(HOST_ERROR.UNKNOWN_METHOD, `unknown method ${req.method}`);
        if (!binding) throw new HostCallError(HOST_ERROR.NOT_LOADED, 'no library loaded; send $load first');
        calls++;
        const started = process.hrtime.bigint();
        const result = binding.call(req.method, params);
        result.$ms = Number(process.hrtime.bigint() - started) / 1e6;
        send({ id: req.id, result });
        return;
      }
    }
  } catch (e) {
    if (e instanceof HostCallError) fail(req.id, e.code, e.message, e.param);
    // koffi marshalling errors carry no parameter values; anything else is reported without detail.
    else fail(req.id, HOST_ERROR.INTERNAL, e instanceof TypeError ? e.message : 'internal error in the driver host');
  }
}

const rl = createInterface({ input: process.stdin, crlfDelay: Infinity });
rl.on('line', handle);
rl.on('close', () => process.exit(0));

send({ event: 'ready', pid: process.pid, runtime: `node ${process.version}`, arch: process.arch, platform: process.platform, protocol: PROTOCOL_VERSION });
