import type { StoredReading } from './store.ts';

export type DeliveryResult = { ok: true } | { ok: false; error: string; permanent?: boolean };

/**
 * A billing sink. deliver() gets readings in outbox order and answers one result per reading, in the
 * same order. It must be safe to deliver a reading again (at least once): every delivery carries the
 * reading id as its idempotency key, which is what makes billing see each reading exactly once.
 */
export interface BillingSink {
  readonly name: string;
  /** How many readings one deliver() call should get. */
  readonly batchSize?: number;
  /** False when deliver() only needs the ids (the REST feed): the dispatcher then skips loading rows. */
  readonly needsReadings?: boolean;
  /**
   * Leases the dispatcher works on at once (default 1). More than one overlaps one lease's HTTP round trips with
   * the next lease's database work; claims are safe to run concurrently (lease owner per round).
   */
  readonly parallelLeases?: number;
  deliver(readings: StoredReading[]): Promise<DeliveryResult[]>;
  close?(): Promise<void>;
}

/** The JSON a sink sends for one reading (webhook body, MQTT payload, REST item). */
export function readingPayload(r: StoredReading) {
  return {
    id: r.id,
    meterId: r.meterId,
    maker: r.maker,
    meterType: r.meterType,
    meterTime: r.meterTime,
    receivedAt: r.receivedAt,
    cumulative: r.cumulative,
    settlement: r.settlement,
    history: r.history,
    status: r.status,
    source: r.source,
    rawFrame: r.rawFrame,
  };
}
