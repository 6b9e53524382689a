/**
 * What the station tells the counter client as it happens (sent on the WebSocket /v1/station/events):
 * card inserted/removed, reader gone, and the progress of every step of an operation. Events never carry
 * card data, passwords or tokens.
 */
import { EventEmitter } from 'node:events';

export type StationEvent =
  | { type: 'card.inserted'; cardType: string }
  | { type: 'card.removed' }
  | { type: 'reader.gone'; code: string }
  | { type: 'reader.back' }
  | {
      type: 'step';
      operationId: string;
      operation: string;
      step: string;
      status: 'start' | 'ok' | 'failed';
      detail?: Record<string, unknown>;
    }
  | { type: 'operation.done'; operationId: string; operation: string; transactionId?: string | null }
  | { type: 'operation.failed'; operationId: string; operation: string; code: string; transactionId?: string | null };

export type StampedEvent = StationEvent & { at: string; seq: number };

export class StationEvents {
  private readonly emitter = new EventEmitter();
  private seq = 0;
  /** The most recent events, for clients that connect late (and for tests). */
  readonly recent: StampedEvent[] = [];

  constructor() {
    this.emitter.setMaxListeners(100);
  }

  emit(e: StationEvent): void {
    const stamped = { ...e, at: new Date().toISOString(), seq: ++this.seq } as StampedEvent;
    this.recent.push(stamped);
    if (this.recent.length > 200) this.recent.shift();
    this.emitter.emit('event', stamped);
  }

  subscribe(fn: (e: StampedEvent) => void): () => void {
    this.emitter.on('event', fn);
    return () => this.emitter.off('event', fn);
  }
}

/** Tracks one operation's steps, so each event names the operation it belongs to. */
export class OperationProgress {
  constructor(
    private readonly events: StationEvents,
    readonly operationId: string,
    readonly operation: string,
  ) {}

  async step<T>(step: string, fn: () => Promise<T>, detail?: (r: T) => Record<string, unknown>): Promise<T> {
    this.events.emit({ type: 'step', operationId: this.operationId, operation: this.operation, step, status: 'start' });
    try {
      const r = await fn();
      this.events.emit({
        type: 'step',
        operationId: this.operationId,
        operation: this.operation,
        step,
        status: 'ok',
        ...(detail ? { detail: detail(r) } : {}),
      });
      return r;
    } catch (e) {
      const code = (e as { code?: string }).code ?? 'ERROR';
      this.events.emit({
        type: 'step',
        operationId: this.operationId,
        operation: this.operation,
        step,
        status: 'failed',
        detail: { code },
      });
      throw e;
    }
  }

  note(step: string, status: 'ok' | 'failed', detail?: Record<string, unknown>): void {
    this.events.emit({
      type: 'step',
      operationId: this.operationId,
      operation: this.operation,
      step,
      status,
      ...(detail ? { detail } : {}),
    });
  }

  done(transactionId?: string | null): void {
    this.events.emit({
      type: 'operation.done',
      operationId: this.operationId,
      operation: this.operation,
      transactionId: transactionId ?? null,
    });
  }

  failed(code: string, transactionId?: string | null): void {
    this.events.emit({
      type: 'operation.failed',
      operationId: this.operationId,
      operation: this.operation,
      code,
      transactionId: transactionId ?? null,
    });
  }
}
