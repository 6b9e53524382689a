/**
 * The main thread's side of the ledger thread (thread-main.ts). `call` posts a unit and resolves with its
 * answer once the thread has committed it. Calls made in one event-loop turn leave in one message.
 *
 * If the thread dies (a native crash in SQLite, an out-of-memory), every call in flight is rejected with
 * LEDGER_THREAD_DOWN (503, retry): its unit may or may not have committed, which is what the Idempotency-Key
 * is for — a retry with the same key replays the committed answer or commits it once. The next call starts
 * a new thread.
 */
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { BUILD_DIR, freshBundle } from '../../util/bundle-index.mjs';
import type { KeyVault } from '../key-vault.ts';
import { LedgerThreadClosing, LedgerThreadDown } from '../ledger-errors.ts';
import { fromWire, type Call, type FromThread, type ThreadInit, type ThreadOp, type ToThread } from './wire.ts';

/** Through tsx: a worker does not inherit the main thread's loader, so this entry registers its own. */
const SOURCE_ENTRY = new URL('./thread-entry.mjs', import.meta.url);

/**
 * The thread's bundle (scripts/build-host.mjs) when it is up to date: a worker that loads tsx costs tens of MB
 * more (issue 17), as the main thread does.
 */
export function ledgerThreadEntry(): URL {
  const bundle = freshBundle(join(BUILD_DIR, 'server'), fileURLToPath(new URL('./thread-main.ts', import.meta.url)));
  return bundle ? pathToFileURL(bundle) : SOURCE_ENTRY;
}

export interface LedgerThreadOptions {
  /** The SQLite file. */
  file: string;
  vault: KeyVault;
  /** Told when the thread stops unexpectedly (the server logs it). */
  onExit?: (info: { code: number; error?: Error }) => void;
}

interface Pending {
  resolve(v: unknown): void;
  reject(e: unknown): void;
}

export class LedgerThread {
  private worker: Worker | null = null;
  private ready: Promise<void> | null = null;
  private readonly pending = new Map<number, Pending>();
  private outbox: Call[] = [];
  private flushing = false;
  private nextId = 1;
  private closing: Promise<void> | null = null;
  /** Threads started so far (1 unless one died). */
  starts = 0;
  /** Messages of calls posted to the thread so far (one per event-loop turn with calls). */
  messages = 0;

  constructor(private readonly o: LedgerThreadOptions) {}

  /** Starts the thread now and resolves once it has opened the database. */
  start(): Promise<void> {
    this.spawn();
    return this.ready!;
  }

  call<T>(op: ThreadOp, args: unknown[]): Promise<T> {
    if (this.closing) return Promise.reject(LedgerThreadClosing({ retryAfterSeconds: 1 }));
    this.spawn();
    return new Promise<T>((resolve, reject) => {
      const id = this.nextId++;
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.outbox.push({ id, op, args });
      if (this.flushing) return;
      this.flushing = true;
      setImmediate(() => this.flush());
    });
  }

  /** Lets every call in flight finish, then stops the thread (its connection closes after the last commit). */
  close(): Promise<void> {
    this.closing ??= (async () => {
      const w = this.worker;
      if (!w) return;
      const exited = new Promise<void>((r) => w.once('exit', () => r()));
      this.flush();
      w.postMessage({ close: true } satisfies ToThread);
      await exited;
    })();
    return this.closing;
  }

  /** Stops the thread at once, as a crash would (tests). */
  async kill(): Promise<void> {
    await this.worker?.terminate();
  }

  private flush(): void {
    this.flushing = false;
    if (!this.outbox.length || !this.worker) return;
    const calls = this.outbox;
    this.outbox = [];
    try {
      this.worker.postMessage({ calls } satisfies ToThread);
      this.messages++;
    } catch {
      // A call that cannot be copied to the thread (a function in its input, say) fails alone: the others of
      // its turn go one by one, and the server goes on.
      for (const c of calls) {
        try {
          this.worker.postMessage({ calls: [c] } satisfies ToThread);
          this.messages++;
        } catch (e) {
          this.pending.get(c.id)?.reject(e);
          this.pending.delete(c.id);
        }
      }
    }
  }

  private spawn(): void {
    if (this.worker) return;
    const init: ThreadInit = { file: this.o.file, vault: this.o.vault.forThread() };
    const w = new Worker(ledgerThreadEntry(), { workerData: init });
    this.worker = w;
    this.starts++;
    let failure: Error | undefined;
    this.ready = new Promise<void>((resolve, reject) => {
      w.on('message', (m: FromThread) => {
        if ('ready' in m) resolve();
        else if ('replies' in m) {
          for (const r of m.replies) {
            const p = this.pending.get(r.id);
            if (!p) continue;
            this.pending.delete(r.id);
            if (r.ok) p.resolve(r.value);
            else p.reject(fromWire(r.error));
          }
        }
      });
      w.on('error', (e) => {
        failure = e;
        reject(e);
      });
      w.on('exit', (code) => {
        reject(failure ?? new Error(`the ledger thread exited (${code}) before it was ready`));
        if (this.worker === w) this.worker = null;
        // Calls still queued here never reached the thread: they go to the next one, unharmed.
        const queued = new Set(this.outbox.map((c) => c.id));
        const lost = [...this.pending].filter(([id]) => !queued.has(id));
        for (const [id, p] of lost) {
          this.pending.delete(id);
          p.reject(LedgerThreadDown({ retryAfterSeconds: 1, exitCode: code }));
        }
        if (!this.closing) {
          this.o.onExit?.({ code, ...(failure ? { error: failure } : {}) });
          if (this.outbox.length) {
            this.spawn();
            this.flushing = true;
            setImmediate(() => this.flush());
          }
        }
      });
    });
    // A failed start is reported to the calls (they get LEDGER_THREAD_DOWN); nobody need await `ready`.
    this.ready.catch(() => {});
  }
}
