/**
 * Public API of the reading pipeline: frames become UnifiedReadings in the transports; here they are
 * deduped, stored, queued per billing sink (transactional outbox) and delivered at least once with the
 * reading id as idempotency key.
 */
export { createReadingPipeline, ReadingPipeline, type ReadingPipelineOptions, type PipelineCounters } from './pipeline.ts';
export { ReadingStore, FEED_SINK, backoffMs, rowToReading } from './store.ts';
export type { StoredReading, IngestItem, IngestResult, TxHook, OutboxRow, DeadLetter, RetryPolicy, SinkStats, FeedItem } from './store.ts';
export { OutboxDispatcher, DEFAULT_RETRY, type DispatcherOptions } from './dispatcher.ts';
export { readingPayload, type BillingSink, type DeliveryResult } from './sink-types.ts';
export { WebhookSink, type WebhookSinkOptions } from './sinks/webhook-sink.ts';
export { MqttSink, type MqttSinkOptions } from './sinks/mqtt-sink.ts';
export { FeedSink } from './sinks/feed-sink.ts';
export { readingRoutes, type ReadingRoutesOptions } from './routes.ts';
export { dedupeKey, readingId, isDecimalString } from './reading-id.ts';
export * from './errors.ts';
