/**
 * The request loop every Node driver host shares (docs/driver-protocol.md): one stdin line per request,
 * handled synchronously and strictly one at a time, one stdout frame per answer, exit when stdin closes.
 * A host only says how to load its library and how to call one function.
 *
 * The supervisor writes requests ahead (pipelining), so several may wait here. The next one starts only
 * once the previous answer has left for the pipe: if a library call then kills the process, every earlier
 * answer has reached the supervisor, which can tell exactly which call it was.
 */
import { createInterface } from 'node:readline';
import {
  FRAME_MARKER,
  HOST_ERROR,
  METHOD,
  PROTOCOL_VERSION,
  encodeFrame,
  type HostFrame,
  type RequestFrame,
} from '../protocol.ts';

/** An error the host reports to the supervisor with a protocol code (never a parameter value). */
export class HostCallError extends Error {
  // Plain fields, not parameter properties: the host must run under Node's type stripping (no transform).
  readonly code: string;
  readonly param: string | undefined;
  constructor(code: string, message: string, param?: string) {
    super(message);
    this.code = code;
    this.param = param;
  }
}

export interface HostHandlers {
  /** `$load`: bind the library; called at most once. */
  load(params: Record<string, unknown>): Record<string, unknown>;
  /** One library function; throws HostCallError for what the protocol names. */
  call(method: string, params: Record<string, unknown>): Record<string, unknown>;
  /** Shown in INTERNAL error texts, e.g. "driver host". */
  name: string;
}

export function serveHost(h: HostHandlers): void {
  // Our own diagnostics must never land on stdout, which carries the frames.
  console.log = console.error;
  console.info = console.error;

  let loaded = false;
  let calls = 0;
  const send = (frame: HostFrame, then?: () => void) => void process.stdout.write(encodeFrame(frame), then);
  const fail = (id: RequestFrame['id'] | null, code: string, message: string, param?: string) =>
    send({ id, error: { code, message, ...(param ? { param } : {}) } });

  const handle = (line: string): void => {
    const text = line.startsWith(FRAME_MARKER) ? line.slice(FRAME_MARKER.length) : line;
    if (text.trim() === '') return;
    let req: RequestFrame;
    try {
      req = JSON.parse(text) as RequestFrame;
    } catch {
      fail(null, HOST_ERROR.BAD_FRAME, 'request is not JSON');
      return;
    }
    if (
      typeof req !== 'object' ||
      req === null ||
      (typeof req.id !== 'number' && typeof req.id !== 'string') ||
      typeof req.method !== 'string'
    ) {
      fail(null, HOST_ERROR.BAD_FRAME, 'request needs id (number|string) and method (string)');
      return;
    }
    const params = (typeof req.params === 'object' && req.params !== null ? req.params : {}) as Record<string, unknown>;
    try {
      switch (req.method) {
        case METHOD.ping:
          send({ id: req.id, result: { pong: true, pid: process.pid, calls, loaded } });
          return;
        case METHOD.shutdown:
          send({ id: req.id, result: { ok: true } }, () => process.exit(0));
          return;
        case METHOD.load:
          if (loaded)
            throw new HostCallError(HOST_ERROR.ALREADY_LOADED, 'a library is already loaded; start a new host');
          send({ id: req.id, result: h.load(params) });
          loaded = true;
          return;
        default: {
          if (req.method.startsWith('$'))
            throw new HostCallError(HOST_ERROR.UNKNOWN_METHOD, `unknown method ${req.method}`);
          if (!loaded) throw new HostCallError(HOST_ERROR.NOT_LOADED, 'no library loaded; send $load first');
          calls++;
          const started = process.hrtime.bigint();
          const result = h.call(req.method, params);
          result.$ms = Number(process.hrtime.bigint() - started) / 1e6;
          send({ id: req.id, result });
        }
      }
    } catch (e) {
      if (e instanceof HostCallError) fail(req.id, e.code, e.message, e.param);
      // koffi marshalling errors carry no parameter values; anything else is reported without detail.
      else fail(req.id, HOST_ERROR.INTERNAL, e instanceof TypeError ? e.message : `internal error in the ${h.name}`);
    }
  };

  const waiting: string[] = [];
  let stdinClosed = false;
  let awaitingDrain = false;
  const run = (): void => {
    while (waiting.length > 0) {
      if (process.stdout.writableLength > 0) {
        // Node writes pipes asynchronously on POSIX: wait until the last answer is out of this process.
        if (!awaitingDrain) {
          awaitingDrain = true;
          process.stdout.once('drain', () => {
            awaitingDrain = false;
            run();
          });
        }
        return;
      }
      handle(waiting.shift()!);
    }
    if (!stdinClosed) return;
    // The supervisor is gone or done: leave once the last answer is out.
    if (process.stdout.writableLength > 0) process.stdout.once('drain', () => process.exit(0));
    else process.exit(0);
  };
  const rl = createInterface({ input: process.stdin, crlfDelay: Infinity });
  rl.on('line', (line) => {
    waiting.push(line);
    if (!awaitingDrain) run();
  });
  rl.on('close', () => {
    stdinClosed = true;
    if (!awaitingDrain) run();
  });
  send({
    event: 'ready',
    pid: process.pid,
    runtime: `node ${process.version}`,
    arch: process.arch,
    platform: process.platform,
    protocol: PROTOCOL_VERSION,
  });
}
