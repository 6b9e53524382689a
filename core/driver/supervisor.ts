/**
 * Supervises one driver host process for one maker library (docs/driver-protocol.md §5).
 *
 * - Calls are queued and pipelined: up to `pipelineDepth` requests are written ahead in one pipe write, and
 *   the host still runs them strictly one at a time, in order (the protocol requires it). So the oldest
 *   unanswered request is the only one the host can be running: its timeout starts when it becomes the
 *   oldest (the host has answered the one before), and a crash, a hang or a protocol violation is that
 *   call's alone.
 * - A crash (exit/signal), a hang (timeout -> SIGKILL) or a protocol violation fails the call in flight only;
 *   the host is respawned after an exponential backoff. Requests written ahead of it were never started: they
 *   go back to the front of the queue, in order, and run on the new process.
 * - A failure while starting (host cannot start, library cannot be loaded) fails every queued call; the next
 *   call tries again once the backoff has passed.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { createRequire } from 'node:module';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { ErrorKind, MeterHubError } from '../errors/meterhub-error.ts';
import { BadInput } from '../errors/common-errors.ts';
import type { DriverHealth } from './card-driver.ts';
import { bundledHostFor } from './host-bundle.ts';
import {
  DriverClosed,
  DriverCrashed,
  DriverHostError,
  DriverOverloaded,
  DriverProtocol,
  DriverStartFailed,
  DriverTimeout,
  FunctionMissing,
  LibraryLoadFailed,
  LibraryNotForHost,
} from './driver-errors.ts';
import {
  FrameReader,
  HOST_ERROR,
  METHOD,
  PROTOCOL_VERSION,
  encodeRequest,
  isReadyEvent,
  isResponse,
  type HostError,
  type LoadResult,
  type ReadyEvent,
} from './protocol.ts';
import { environment } from '../config/environment.ts';

/** pino-compatible subset. */
export interface DriverLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface BackoffOptions {
  /** First respawn delay after a failure (ms). */
  initialMs?: number;
  /** Cap for the doubling delay (ms). */
  maxMs?: number;
  /** A host that has served this long without failing resets the backoff (ms). */
  healthyResetMs?: number;
}

export interface SupervisorOptions {
  /** The library to load; with `libraries`, only the name shown until a host has said which one it needs. */
  libraryPath: string;
  /**
   * Libraries by platform-arch (the manifest's `library`, absolute paths). The host that loads the library
   * may differ from this process (a 32-bit node.exe under a 64-bit server): the entry for the platform and
   * arch the host reports in its ready event is loaded, or the start fails naming both.
   */
  libraries?: Record<string, string>;
  symbols?: Record<string, string>;
  /** Runtime that runs the host entry, e.g. a 32-bit node.exe for 32-bit DLLs. Default: this process's node. */
  execPath?: string;
  /**
   * Host entry. Default: core/driver/host/main.ts, run as its bundle (build/driver-host, plain `node`) when
   * that is up to date, else through the tsx loader.
   */
  hostEntry?: string;
  /** false: run a TypeScript entry through tsx even when a fresh bundle exists (tests, measurements). */
  useBundle?: boolean;
  /** Full argument list for non-Node hosts (.NET bridge, native host); replaces the Node/tsx arguments. */
  hostArgs?: string[];
  /** Node/V8 flags for a Node host, before its entry (default HOST_NODE_FLAGS; bench/driver-ipc.ts A/Bs them). */
  nodeFlags?: readonly string[];
  env?: NodeJS.ProcessEnv;
  /** Default per-call timeout (ms). */
  callTimeoutMs?: number;
  /** Time allowed for the host to say ready and load the library (ms). */
  startTimeoutMs?: number;
  backoff?: BackoffOptions;
  /** Calls waiting beyond this many are refused with DRIVER_OVERLOADED. */
  maxQueue?: number;
  /**
   * Requests written to the host ahead of its answers (default 16; 1 = one at a time). Saves a wake-up of
   * both processes per call under load; it never changes what the host runs, or in which order.
   */
  pipelineDepth?: number;
  logger?: DriverLogger;
  /** Name for logs and error details (default: the library file name). */
  name?: string;
}

export interface CallOptions {
  timeoutMs?: number;
}

export const DEFAULT_CALL_TIMEOUT_MS = 5_000;
export const DEFAULT_PIPELINE_DEPTH = 16;
const DEFAULT_START_TIMEOUT_MS = 30_000;
const SHUTDOWN_GRACE_MS = 2_000;

interface Job {
  method: string;
  /** When the job was first sent (for the `call` event's duration). */
  sentAt?: number;
  params: Record<string, unknown>;
  timeoutMs: number;
  resolve(v: Record<string, unknown>): void;
  reject(e: Error): void;
}

interface Host {
  child: ChildProcess;
  pid: number;
  reader: FrameReader;
  /** Set once the supervisor has given up on this process; its later events are only logged. */
  retired: boolean;
  exited: Promise<void>;
  ready?: ReadyEvent;
  load?: LoadResult;
  /** The library this host was asked to load (picked for its own platform-arch). */
  library?: string;
  readyAt?: number;
  /**
   * Requests written and not yet answered, oldest first (internal or a job). The host runs only the first;
   * its timer runs, the others' start when they become first.
   */
  pending: Pending[];
}

interface Pending {
  id: number;
  method: string;
  timeoutMs: number;
  startup: boolean;
  /** The queued call this request carries (absent for $load): put back in the queue if never started. */
  job?: Job;
  resolve(r: Record<string, unknown>): void;
  reject(e: Error): void;
  timer?: NodeJS.Timeout;
}

const HERE = dirname(fileURLToPath(import.meta.url));
export const DEFAULT_HOST_ENTRY = join(HERE, 'host', 'main.ts');

/** Node/V8 flags every Node driver host starts with (issue 17; figures in docs/architecture.md). */
export const HOST_NODE_FLAGS: readonly string[] = [];

/** `--import` needs a URL (a bare Windows path "C:\..." is taken for a URL scheme). */
export function tsxLoaderUrl(): string {
  const require = createRequire(import.meta.url);
  return pathToFileURL(require.resolve('tsx/esm')).href;
}

const WINDOWS_STATUS: Record<number, string> = {
  0xc0000005: 'STATUS_ACCESS_VIOLATION (segmentation fault)',
  0xc0000409: 'STATUS_STACK_BUFFER_OVERRUN (/GS check or fast fail)',
  0xc00000fd: 'STATUS_STACK_OVERFLOW',
  0xc0000374: 'STATUS_HEAP_CORRUPTION',
  0xc000001d: 'STATUS_ILLEGAL_INSTRUCTION',
  0xc0000094: 'STATUS_INTEGER_DIVIDE_BY_ZERO',
  0xc0000135: 'STATUS_DLL_NOT_FOUND',
  0x40000015: 'STATUS_FATAL_APP_EXIT (abort)',
};

const SIGNALS: Record<string, string> = {
  SIGSEGV: 'segmentation fault',
  SIGABRT: 'abort',
  SIGBUS: 'bus error',
  SIGFPE: 'arithmetic fault',
  SIGILL: 'illegal instruction',
  SIGKILL: 'killed',
  SIGTERM: 'terminated',
};

/** Human description of how a host process ended; decodes Windows NTSTATUS exit codes. */
export function describeExit(code: number | null, signal: NodeJS.Signals | null): string {
  if (signal) return `${signal} (${SIGNALS[signal] ?? 'signal'})`;
  if (code === null) return 'unknown';
  const u = code >>> 0;
  const win = WINDOWS_STATUS[u];
  if (win) return `exit code 0x${u.toString(16).toUpperCase()} ${win}`;
  if (u >= 0xc0000000) return `exit code 0x${u.toString(16).toUpperCase()} (Windows NTSTATUS error)`;
  if (code === 3 && process.platform === 'win32') return 'exit code 3 (abort() under the Microsoft C runtime)';
  return `exit code ${code}`;
}

/** Masks runs of hex that could be card data or keys before vendor output reaches a log. */
export function redact(text: string): string {
  const cut = text.length > 300 ? `${text.slice(0, 300)}…` : text;
  return cut.replace(/\b[0-9A-Fa-f]{4,}\b/g, (m) => `<hex:${m.length}>`);
}

const silentLogger: DriverLogger = { debug() {}, info() {}, warn() {}, error() {} };

export interface SupervisorHealth extends DriverHealth {
  /** Calls not answered yet: waiting here plus written to the host. */
  queued: number;
  /** Of those, written to the host (pipelined; the host runs the oldest). */
  inFlight: number;
  /** Delay used for the latest respawn (ms). */
  backoffMs: number;
  consecutiveFailures: number;
  noiseLines: number;
}

export class DriverSupervisor extends EventEmitter {
  private readonly o: Required<
    Pick<SupervisorOptions, 'callTimeoutMs' | 'startTimeoutMs' | 'maxQueue' | 'pipelineDepth'>
  > &
    SupervisorOptions;
  private readonly backoff: Required<BackoffOptions>;
  private readonly log: DriverLogger;
  readonly name: string;

  private state: DriverHealth['state'] = 'stopped';
  private host?: Host;
  private readonly queue: Job[] = [];
  private nextId = 1;
  private restarts = 0;
  private spawns = 0;
  private calls = 0;
  private noiseLines = 0;
  private lastError?: DriverHealth['lastError'];
  private failures = 0;
  /** Why the last start failed; served to callers until the backoff has passed. */
  private startError?: MeterHubError;
  private backoffMs = 0;
  private nextStartAt = 0;
  private wakeStart?: () => void;
  private starting?: Promise<void>;
  private closed = false;

  constructor(opts: SupervisorOptions) {
    super();
    this.o = {
      callTimeoutMs: DEFAULT_CALL_TIMEOUT_MS,
      startTimeoutMs: DEFAULT_START_TIMEOUT_MS,
      maxQueue: 1000,
      pipelineDepth: DEFAULT_PIPELINE_DEPTH,
      ...opts,
    };
    if (!Number.isInteger(this.o.pipelineDepth) || this.o.pipelineDepth < 1) {
      throw BadInput(
        { field: 'pipelineDepth' },
        { zh: 'pipelineDepth 必须是正整数', en: 'pipelineDepth must be a positive integer' },
      );
    }
    this.backoff = { initialMs: 100, maxMs: 5_000, healthyResetMs: 30_000, ...opts.backoff };
    this.log = opts.logger ?? silentLogger;
    this.name = opts.name ?? basename(opts.libraryPath);
  }

  /** Starts the host now instead of at the first call. Never rejects; failures show in health(). */
  start(): void {
    if (this.closed) return;
    void this.ensureStarted();
  }

  /** Resolves once a host is ready with the library loaded; rejects with the start failure. */
  async ready(): Promise<{ ready: ReadyEvent; load: LoadResult; library: string }> {
    if (this.closed) throw DriverClosed({ library: this.name });
    if (!this.serving()) await this.ensureStarted(true);
    const h = this.host;
    if (!h?.ready || !h.load) throw DriverStartFailed({ library: this.name });
    return { ready: h.ready, load: h.load, library: h.library ?? this.o.libraryPath };
  }

  call(method: string, params: Record<string, unknown> = {}, opts: CallOptions = {}): Promise<Record<string, unknown>> {
    if (this.closed) return Promise.reject(DriverClosed({ library: this.name, function: method }));
    if (this.queue.length >= this.o.maxQueue) {
      return Promise.reject(
        DriverOverloaded({ library: this.name, function: method, queued: this.queue.length, retryAfterSeconds: 1 }),
      );
    }
    const timeoutMs = opts.timeoutMs ?? this.o.callTimeoutMs;
    if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) {
      return Promise.reject(
        BadInput({ field: 'timeoutMs' }, { zh: 'timeoutMs 必须是正数', en: 'timeoutMs must be a positive number' }),
      );
    }
    return new Promise((resolve, reject) => {
      this.queue.push({ method, params, timeoutMs, resolve, reject });
      this.pump();
    });
  }

  health(): SupervisorHealth {
    const inFlight = this.inFlight();
    return {
      state: this.state,
      restarts: this.restarts,
      ...(this.lastError ? { lastError: this.lastError } : {}),
      ...(this.host && !this.host.retired ? { pid: this.host.pid } : {}),
      calls: this.calls,
      queued: this.queue.length + inFlight,
      inFlight,
      backoffMs: this.backoffMs,
      consecutiveFailures: this.failures,
      noiseLines: this.noiseLines,
    };
  }

  /**
   * Lets the calls already written to the host finish (each within its timeout), refuses queued calls, stops
   * the host.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.wakeStart?.();
    for (const job of this.queue.splice(0)) job.reject(DriverClosed({ library: this.name, function: job.method }));
    while (this.inFlight() > 0) await new Promise<void>((r) => this.once('idle', r));
    await this.starting?.catch(() => undefined);
    const h = this.host;
    if (h && !h.retired) {
      h.retired = true;
      try {
        h.child.stdin?.write(encodeRequest({ id: this.nextId++, method: METHOD.shutdown }));
        h.child.stdin?.end();
      } catch {
        /* already gone */
      }
      const killer = setTimeout(() => h.child.kill('SIGKILL'), SHUTDOWN_GRACE_MS);
      await h.exited;
      clearTimeout(killer);
    }
    this.state = 'stopped';
  }

  // ---- internals ------------------------------------------------------------------------------

  private pumpScheduled = false;

  /** Calls written to the host and not answered yet: its pending requests that carry a job. */
  private inFlight(): number {
    let n = 0;
    for (const p of this.host?.pending ?? []) if (p.job) n++;
    return n;
  }

  /**
   * Sends the queue in one pipe write at the end of this turn of the event loop (setImmediate): the calls
   * made by every request, answer and commit handled in this turn share a write and one wake-up of the
   * host, which costs far more than the library call itself. A flush after the microtasks (as before) gave
   * one write per HTTP request: measured, host wake-ups per sale fell from 2.2 to 0.9 with the turn. Nothing
   * waits on a timer: a lone caller is sent once its turn ends, and what queues while calls are in flight
   * goes with the next answer.
   */
  private pump(): void {
    if (this.pumpScheduled) return;
    this.pumpScheduled = true;
    setImmediate(() => {
      this.pumpScheduled = false;
      this.pumpNow();
    });
  }

  private pumpNow(): void {
    if (this.queue.length === 0 || this.closed || this.inFlight() >= this.o.pipelineDepth) return;
    const h = this.host;
    if (!h || !this.serving()) {
      void this.ensureStarted();
      return;
    }
    // One pipe write for everything sent in this turn.
    const stdin = h.child.stdin!;
    let requests = 0;
    let inFlight = this.inFlight();
    stdin.cork();
    try {
      while (this.queue.length > 0 && inFlight < this.o.pipelineDepth && !h.retired) {
        this.send(h, this.queue.shift()!);
        requests++;
        inFlight++;
      }
    } finally {
      stdin.uncork();
    }
    // How many requests shared this write (tests; batch sizes under load).
    this.emit('write', { requests, inFlight });
  }

  private send(h: Host, job: Job): void {
    this.calls++;
    job.sentAt ??= performance.now();
    // A request that failHost puts back in the queue never settles: its job is sent again, as a new request.
    this.request(h, job.method, job.params, job.timeoutMs, false, job).then(
      (r) => this.settle(job, undefined, () => job.resolve(r)),
      (e: Error) => this.settle(job, (e as Partial<MeterHubError>).code ?? 'ERROR', () => job.reject(e)),
    );
  }

  /** Runs once the job's request has left the host's pending list (answered, or failed with its host). */
  private settle(job: Job, errorCode: string | undefined, finish: () => void): void {
    finish();
    // For metrics (core/metrics): one event per call once the caller has its answer.
    if (this.listenerCount('call') > 0)
      this.emit('call', { method: job.method, durationMs: performance.now() - job.sentAt!, errorCode });
    if (this.inFlight() === 0) this.emit('idle');
    this.pump();
  }

  private serving(): boolean {
    return this.host !== undefined && !this.host.retired && this.host.load !== undefined;
  }

  /** Starts a host unless one is starting or ready. With `throwOnFailure`, rejects when the start fails. */
  private ensureStarted(throwOnFailure = false): Promise<void> {
    if (this.serving()) return Promise.resolve();
    if (!this.starting && this.startError && Date.now() < this.nextStartAt) {
      // Circuit open: a library that failed to start is not retried on every call.
      const e = this.startError;
      for (const job of this.queue.splice(0)) job.reject(e);
      return throwOnFailure ? Promise.reject(e) : Promise.resolve();
    }
    if (!this.starting) {
      const previous = this.host;
      this.state = Date.now() < this.nextStartAt ? 'restarting' : 'starting';
      this.starting = (async () => {
        // The old process may still hold the reader's port: let it go first (SIGKILL is quick).
        if (previous) await Promise.race([previous.exited, new Promise((r) => setTimeout(r, SHUTDOWN_GRACE_MS))]);
        const wait = Math.max(0, this.nextStartAt - Date.now());
        if (wait > 0 && !this.closed) {
          await new Promise<void>((resolve) => {
            const t = setTimeout(resolve, wait);
            this.wakeStart = () => {
              clearTimeout(t);
              resolve();
            };
          });
        }
        this.wakeStart = undefined;
      })()
        .then(() => this.startHost())
        .finally(() => {
          this.starting = undefined;
        });
      this.starting.then(
        () => this.pump(),
        (e: Error) => {
          for (const job of this.queue.splice(0)) job.reject(e);
        },
      );
    }
    return throwOnFailure ? this.starting : this.starting.catch(() => undefined);
  }

  private hostCommand(): { cmd: string; args: string[] } {
    const cmd = this.o.execPath ?? process.execPath;
    if (this.o.hostArgs) return { cmd, args: this.o.hostArgs };
    const entry = this.o.hostEntry ?? DEFAULT_HOST_ENTRY;
    if (!/\.[cm]?ts$/.test(entry)) return { cmd, args: [entry] };
    // The bundle runs on a bare node; without a fresh one, the TypeScript entry through the tsx loader.
    const bundle = this.o.useBundle === false ? undefined : bundledHostFor(entry);
    const flags = this.o.nodeFlags ?? HOST_NODE_FLAGS;
    return { cmd, args: bundle ? [...flags, bundle] : [...flags, '--import', tsxLoaderUrl(), entry] };
  }

  private async startHost(): Promise<void> {
    if (this.closed) throw DriverClosed({ library: this.name });
    this.state = 'starting';
    const { cmd, args } = this.hostCommand();
    let child: ChildProcess;
    try {
      const env = this.o.env ?? environment();
      child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'], windowsHide: true, env });
    } catch (e) {
      throw this.startFailed(DriverStartFailed({ library: this.name, reason: (e as Error).message }));
    }
    const h = this.attach(child);
    this.spawns++;
    if (this.spawns > 1) this.restarts++;
    try {
      const ready = await this.waitReady(h);
      h.ready = ready;
      h.library = this.libraryForHost(ready);
      const load = await this.request(
        h,
        METHOD.load,
        { path: h.library, ...(this.o.symbols ? { symbols: this.o.symbols } : {}) },
        this.o.startTimeoutMs,
        true,
      );
      h.load = load as unknown as LoadResult;
      h.readyAt = Date.now();
      this.startError = undefined;
      this.state = 'ready';
      this.log.info(
        {
          driver: this.name,
          pid: h.pid,
          runtime: ready.runtime,
          arch: ready.arch,
          library: h.library,
          missing: h.load.missing.length,
        },
        'driver host ready',
      );
      this.emit('ready', { pid: h.pid });
    } catch (e) {
      const err = e as MeterHubError;
      if (!h.retired) this.retire(h, 'SIGKILL');
      this.bumpBackoff(h);
      throw this.startFailed(err);
    }
  }

  /** The library for the process that loads it: its own platform-arch, never this server's. */
  private libraryForHost(ready: ReadyEvent): string {
    if (!this.o.libraries) return this.o.libraryPath;
    // A host that does not say its platform (an older bridge) runs on this machine's OS.
    const hostTarget = `${ready.platform ?? process.platform}-${ready.arch}`;
    const path = this.o.libraries[hostTarget];
    if (path) return path;
    const serverTarget = `${process.platform}-${process.arch}`;
    const available = Object.keys(this.o.libraries).sort();
    throw LibraryNotForHost(
      { library: this.name, hostPlatform: hostTarget, serverPlatform: serverTarget, available },
      {
        zh: `驱动进程为 ${hostTarget}（服务器为 ${serverTarget}），清单只有 ${available.join('、') || '（无）'}`,
        en: `the driver host runs as ${hostTarget} (this server is ${serverTarget}); the manifest has ${available.join(', ') || 'none'}`,
      },
    );
  }

  private startFailed(err: MeterHubError): MeterHubError {
    this.state = 'failed';
    this.startError = err;
    this.recordError(err);
    return err;
  }

  private attach(child: ChildProcess): Host {
    let resolveExit!: () => void;
    const exited = new Promise<void>((r) => {
      resolveExit = r;
    });
    const h: Host = {
      child,
      pid: child.pid ?? -1,
      retired: false,
      pending: [],
      exited,
      reader: new FrameReader({
        frame: (json) => this.onFrame(h, json),
        noise: (text) => {
          this.noiseLines++;
          this.log.debug({ driver: this.name, pid: h.pid, noise: redact(text) }, 'vendor output on stdout ignored');
          this.emit('noise', text);
        },
        overflow: () => this.violation(h, 'frame too long'),
      }),
    };
    child.stdout!.on('data', (chunk: Buffer) => h.reader.push(chunk));
    child.stdout!.on('end', () => h.reader.end());
    child.stderr!.setEncoding('utf8');
    let errTail = '';
    child.stderr!.on('data', (s: string) => {
      const lines = (errTail + s).split('\n');
      errTail = lines.pop() ?? '';
      for (const line of lines)
        if (line.trim()) this.log.debug({ driver: this.name, pid: h.pid, stderr: redact(line) }, 'driver host stderr');
    });
    child.stdin!.on('error', () => {
      /* EPIPE when the host died; the exit handler reports it */
    });
    child.once('error', (e) => {
      // spawn failure (ENOENT execPath) arrives here instead of 'exit'
      this.onExit(h, null, null, e.message);
      resolveExit();
    });
    child.once('exit', (code, signal) => {
      // A response written just before the exit may still be in the pipe: let stdout drain first, but do
      // not wait for it forever (a process the library spawned may have inherited the pipe).
      const drained = new Promise<void>((r) => {
        if (child.stdout!.readableEnded) r();
        else child.stdout!.once('end', r).once('close', r);
      });
      void Promise.race([drained, new Promise((r) => setTimeout(r, 250))]).then(() => {
        this.onExit(h, code, signal);
        resolveExit();
      });
    });
    this.host = h;
    this.emit('spawn', { pid: h.pid });
    return h;
  }

  private waitReady(h: Host): Promise<ReadyEvent> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        cleanup();
        reject(
          DriverStartFailed(
            { library: this.name, reason: 'no ready event', timeoutMs: this.o.startTimeoutMs },
            { zh: '驱动进程未按时就绪', en: 'the host did not become ready in time' },
          ),
        );
      }, this.o.startTimeoutMs);
      const onReady = (ev: ReadyEvent) => {
        cleanup();
        resolve(ev);
      };
      const onGone = (err: Error) => {
        cleanup();
        reject(err);
      };
      const cleanup = () => {
        clearTimeout(timer);
        this.off(`ready:${h.pid}`, onReady);
        this.off(`gone:${h.pid}`, onGone);
      };
      this.on(`ready:${h.pid}`, onReady);
      this.on(`gone:${h.pid}`, onGone);
    });
  }

  private request(
    h: Host,
    method: string,
    params: Record<string, unknown>,
    timeoutMs: number,
    startup = false,
    job?: Job,
  ): Promise<Record<string, unknown>> {
    return new Promise((resolve, reject) => {
      if (h.retired) {
        reject(this.transientError(DriverCrashed, { function: method, reason: 'host not running' }));
        return;
      }
      const p: Pending = { id: this.nextId++, method, timeoutMs, startup, resolve, reject, ...(job ? { job } : {}) };
      h.pending.push(p);
      if (h.pending.length === 1) this.armTimer(h, p);
      h.child.stdin!.write(encodeRequest({ id: p.id, method, params }));
    });
  }

  /** The oldest unanswered request is the one the host is running: only its time counts. */
  private armTimer(h: Host, p: Pending): void {
    p.timer = setTimeout(() => {
      if (h.pending[0] !== p) return;
      this.log.warn(
        { driver: this.name, pid: h.pid, function: p.method, timeoutMs: p.timeoutMs },
        'driver call timed out; killing host',
      );
      this.failHost(
        h,
        () =>
          p.startup
            ? DriverStartFailed(
                { library: this.name, function: p.method, timeoutMs: p.timeoutMs },
                { zh: '加载动态库超时', en: 'loading the library timed out' },
              )
            : this.transientError(DriverTimeout, { function: p.method, timeoutMs: p.timeoutMs }),
        'SIGKILL',
      );
    }, p.timeoutMs);
  }

  private onFrame(h: Host, json: string): void {
    if (h.retired) return;
    let f: unknown;
    try {
      f = JSON.parse(json);
    } catch {
      this.violation(h, 'frame is not JSON');
      return;
    }
    if (isReadyEvent(f)) {
      if (h.ready || f.protocol !== PROTOCOL_VERSION) {
        this.violation(
          h,
          h.ready ? 'second ready event' : `host speaks protocol ${f.protocol}, expected ${PROTOCOL_VERSION}`,
        );
        return;
      }
      this.emit(`ready:${h.pid}`, f);
      return;
    }
    if (typeof f === 'object' && f !== null && typeof (f as { event?: unknown }).event === 'string') {
      this.log.debug({ driver: this.name, pid: h.pid, event: (f as { event: string }).event }, 'driver host event');
      return;
    }
    // Answers come strictly in request order: anything else is not the host this protocol describes.
    const p = h.pending[0];
    if (!isResponse(f) || !p || f.id !== p.id) {
      const reason = !isResponse(f)
        ? 'frame is neither a response nor an event'
        : h.pending.some((q) => q.id === f.id)
          ? 'response out of order'
          : 'response to no request in flight';
      this.violation(h, reason);
      return;
    }
    clearTimeout(p.timer);
    h.pending.shift();
    const next = h.pending[0];
    if (next) this.armTimer(h, next);
    if ('result' in f) p.resolve(f.result);
    else p.reject(this.hostError(p.method, f.error));
  }

  private violation(h: Host, reason: string): void {
    if (h.retired) return;
    this.log.warn({ driver: this.name, pid: h.pid, reason }, 'driver protocol violation; killing host');
    this.failHost(
      h,
      () => this.transientError(DriverProtocol, { reason, ...(h.pending[0] ? { function: h.pending[0].method } : {}) }),
      'SIGKILL',
    );
  }

  private onExit(h: Host, code: number | null, signal: NodeJS.Signals | null, spawnError?: string): void {
    h.reader.end();
    const how = spawnError ? `spawn failed: ${spawnError}` : describeExit(code, signal);
    this.emit('exit', { pid: h.pid, code, signal, description: how });
    if (h.retired) {
      this.log.debug({ driver: this.name, pid: h.pid, exit: how }, 'driver host exited');
      return;
    }
    this.log.error({ driver: this.name, pid: h.pid, exit: how }, 'driver host died');
    this.failHost(h, () =>
      spawnError
        ? DriverStartFailed({ library: this.name, reason: spawnError })
        : this.transientError(
            DriverCrashed,
            {
              ...(h.pending[0] ? { function: h.pending[0].method } : {}),
              exitCode: code,
              signal,
              reason: how,
              pid: h.pid,
            },
            { zh: how, en: how },
          ),
    );
  }

  /**
   * Gives up on a host: fails the request in flight (only that one), kills the process if asked, and — when
   * the host had been serving — schedules the respawn after the backoff. Start failures are reported by
   * startHost to every queued call instead.
   */
  private failHost(h: Host, makeError: () => MeterHubError, kill?: NodeJS.Signals): void {
    if (h.retired) return;
    const wasServing = h.load !== undefined;
    if (wasServing && !this.closed) this.bumpBackoff(h);
    const err = makeError();
    this.retire(h, kill);
    const [p, ...notStarted] = h.pending.splice(0);
    // Written ahead, never started (the host runs one request at a time, in order): sent again to the next host.
    const again = notStarted.flatMap((q) => {
      clearTimeout(q.timer);
      if (q.job) return [q.job];
      q.reject(err);
      return [];
    });
    if (this.closed) for (const job of again) job.reject(DriverClosed({ library: this.name, function: job.method }));
    else this.queue.unshift(...again);
    if (p) {
      clearTimeout(p.timer);
      p.reject(err);
    }
    this.emit(`gone:${h.pid}`, err);
    if (!wasServing) return;
    this.recordError(err);
    // A serving host was lost (crash, hang, protocol violation): counted by core/metrics.
    this.emit('failure', { pid: h.pid, code: err.code });
    if (this.closed) return;
    this.state = 'restarting';
    this.log.warn({ driver: this.name, backoffMs: this.backoffMs, failures: this.failures }, 'respawning driver host');
    void this.ensureStarted();
  }

  private retire(h: Host, kill?: NodeJS.Signals): void {
    h.retired = true;
    if (kill) {
      try {
        h.child.kill(kill);
      } catch {
        /* gone */
      }
    }
    try {
      h.child.stdin?.end();
    } catch {
      /* gone */
    }
  }

  private bumpBackoff(h: Host): void {
    if (h.readyAt !== undefined && Date.now() - h.readyAt >= this.backoff.healthyResetMs) this.failures = 0;
    this.failures++;
    this.backoffMs = Math.min(this.backoff.initialMs * 2 ** (this.failures - 1), this.backoff.maxMs);
    this.nextStartAt = Date.now() + this.backoffMs;
  }

  private retryAfter(): number {
    return Math.max(1, Math.ceil(Math.max(this.backoffMs, this.backoff.initialMs) / 1000));
  }

  private transientError(
    def: ErrorKind,
    details: Record<string, unknown>,
    text?: { zh?: string; en?: string },
  ): MeterHubError {
    return def({ library: this.name, ...details, retryAfterSeconds: this.retryAfter() }, text);
  }

  private hostError(method: string, e: HostError): MeterHubError {
    const details = { library: this.name, function: method, hostCode: e.code, ...(e.param ? { param: e.param } : {}) };
    switch (e.code) {
      case HOST_ERROR.FUNCTION_MISSING:
        return FunctionMissing(details, { zh: method, en: method });
      case HOST_ERROR.LIBRARY_LOAD_FAILED:
        return LibraryLoadFailed(
          { ...details, path: this.host?.library ?? this.o.libraryPath },
          { zh: e.message, en: e.message },
        );
      case HOST_ERROR.BAD_PARAMS:
        return BadInput({ ...details, field: e.param }, { zh: e.message, en: e.message });
      default:
        return DriverHostError(details, { zh: e.message, en: e.message });
    }
  }

  private recordError(err: MeterHubError): void {
    this.lastError = { code: err.code, message: err.en, at: new Date().toISOString() };
  }
}
