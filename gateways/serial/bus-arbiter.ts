/**
 * One arbiter per bus: exactly one exchange on the wire at a time (OpenMUC's "never concurrent for the
 * same device", TB gateway #905/#1841). Commands (valve) go before polls; within a priority, FIFO.
 * A job is ONE exchange, so a command waits at most for the exchange in progress, never a whole retry loop.
 */
export type BusPriority = 'command' | 'poll';

interface Job {
  run(): Promise<unknown>;
  resolve(v: unknown): void;
  reject(e: unknown): void;
}

export class BusArbiter {
  private readonly queues: Record<BusPriority, Job[]> = { command: [], poll: [] };
  private busy = false;
  readonly counters = { jobs: 0, commands: 0, busyMs: 0 };

  /** @param gapMs quiet time between exchanges (transceiver turnaround, serial servers). */
  constructor(private readonly gapMs = 0) {}

  run<T>(priority: BusPriority, fn: () => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queues[priority].push({ run: fn, resolve: resolve as (v: unknown) => void, reject });
      if (!this.busy) void this.next();
    });
  }

  get pending(): number {
    return this.queues.command.length + this.queues.poll.length;
  }

  private async next(): Promise<void> {
    const job = this.queues.command.shift() ?? this.queues.poll.shift();
    if (!job) {
      this.busy = false;
      return;
    }
    this.busy = true;
    this.counters.jobs++;
    const t0 = performance.now();
    try {
      job.resolve(await job.run());
    } catch (e) {
      job.reject(e);
    } finally {
      this.counters.busyMs += performance.now() - t0;
    }
    if (this.gapMs > 0) await new Promise((r) => setTimeout(r, this.gapMs));
    void this.next();
  }
}
