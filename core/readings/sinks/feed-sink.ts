/**
 * The REST cursor sink: "delivering" a reading means appending it to the cursor feed that billing pulls
 * with GET /v1/readings?after=<cursor>. Going through the outbox like every other sink keeps one path
 * for readings, and the feed's serialised appends make the cursor safe with several servers on PostgreSQL.
 */
import type { BillingSink, DeliveryResult } from '../sink-types.ts';
import { FEED_SINK, type ReadingStore, type StoredReading } from '../store.ts';

export class FeedSink implements BillingSink {
  readonly name = FEED_SINK;
  readonly batchSize = 1000;
  readonly needsReadings = false;

  constructor(private readonly store: ReadingStore) {}

  /** Gets id-only stubs when the dispatcher honours needsReadings = false. */
  async deliver(readings: Array<Pick<StoredReading, 'id'>>): Promise<DeliveryResult[]> {
    // Outbox order is commit order of the readings, so the feed keeps it.
    await this.store.appendFeed(readings.map((r) => r.id));
    return readings.map(() => ({ ok: true }));
  }
}
