/**
 * The other end of the echo floor (echo-peer.ts): the least a parent process can do per call over the
 * driver-host transport — write one request line (encodeRequest), split the child's stdout with FrameReader,
 * JSON.parse the frame, match it to the oldest request. No queue, timers, validation or logging: whatever the
 * supervisor and the host do beyond this is overhead that bench/driver-ipc.ts puts on the scale.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join, resolve } from 'node:path';
import { bundledHostFor } from './host-bundle.ts';
import { FrameReader, encodeRequest, isReadyEvent, isResponse, type ReadyEvent } from './protocol.ts';
import { tsxLoaderUrl } from './supervisor.ts';

export const ECHO_PEER_ENTRY = resolve(import.meta.dirname, 'echo-peer.ts');

export interface EchoPeer {
  readonly child: ChildProcess;
  readonly ready: ReadyEvent;
  /** True when the peer runs from its bundle on a bare node (as the real host does under serve). */
  readonly bundled: boolean;
  /** One request; answers come in request order, so many may be in flight. */
  call(method: string, params?: Record<string, unknown>): Promise<Record<string, unknown>>;
  close(): Promise<void>;
}

interface Waiting {
  id: number;
  resolve(r: Record<string, unknown>): void;
  reject(e: Error): void;
}

export async function startEchoPeer(
  o: { reply?: Record<string, unknown>; useBundle?: boolean } = {},
): Promise<EchoPeer> {
  const bundle = o.useBundle === false ? undefined : bundledHostFor(ECHO_PEER_ENTRY);
  const args = bundle ? [bundle] : ['--import', tsxLoaderUrl(), ECHO_PEER_ENTRY];
  const child = spawn(process.execPath, args, { stdio: ['pipe', 'pipe', 'inherit'], cwd: join(import.meta.dirname) });
  const waiting: Waiting[] = [];
  let nextId = 1;
  let onReady: ((r: ReadyEvent) => void) | undefined;
  let gone: Error | undefined;
  const reader = new FrameReader({
    frame(json) {
      const f: unknown = JSON.parse(json);
      if (isReadyEvent(f)) return onReady?.(f);
      const w = waiting.shift();
      if (!w || !isResponse(f) || f.id !== w.id) throw new Error('echo peer answered out of order');
      if ('result' in f) w.resolve(f.result);
      else w.reject(new Error(`${f.error.code}: ${f.error.message}`));
    },
    noise() {},
    overflow() {},
  });
  child.stdout!.on('data', (chunk: Buffer) => reader.push(chunk));
  const exited = new Promise<void>((r) =>
    child.once('exit', (code) => {
      gone = new Error(`echo peer exited (${code})`);
      for (const w of waiting.splice(0)) w.reject(gone);
      r();
    }),
  );
  const ready = await new Promise<ReadyEvent>((res, rej) => {
    onReady = res;
    void exited.then(() => rej(gone));
  });
  const call = (method: string, params: Record<string, unknown> = {}) =>
    new Promise<Record<string, unknown>>((res, rej) => {
      if (gone) return rej(gone);
      const id = nextId++;
      waiting.push({ id, resolve: res, reject: rej });
      child.stdin!.write(encodeRequest({ id, method, params }));
    });
  await call('$load', o.reply ? { reply: o.reply } : {});
  return {
    child,
    ready,
    bundled: bundle !== undefined,
    call,
    async close() {
      if (!gone) child.stdin!.end();
      await exited;
    },
  };
}
