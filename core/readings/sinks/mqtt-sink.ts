/**
 * MQTT billing sink: each reading is published at QoS 1 to `<topicPrefix>/<meterId>`, JSON payload with
 * the reading id (also an MQTT 5 user property `idempotency-key`). Delivered = PUBACK received.
 * While the broker is unreachable the sink fails fast and the rows stay in the durable outbox; nothing
 * is parked in mqtt.js's in-memory outgoing store.
 */
import mqtt, { type MqttClient } from 'mqtt';
import type { BillingSink, DeliveryResult } from '../sink-types.ts';
import { readingPayload } from '../sink-types.ts';
import type { StoredReading } from '../store.ts';

export interface MqttSinkOptions {
  name?: string;
  /** Either a connected client to share, or a URL to connect a dedicated one. */
  client?: MqttClient;
  url?: string;
  clientId?: string;
  topicPrefix?: string;
  timeoutMs?: number;
  batchSize?: number;
}

export class MqttSink implements BillingSink {
  readonly name: string;
  readonly batchSize: number;
  readonly client: MqttClient;
  private readonly own: boolean;
  private readonly prefix: string;

  constructor(private readonly opts: MqttSinkOptions) {
    this.name = opts.name ?? 'mqtt';
    this.batchSize = opts.batchSize ?? 200;
    this.prefix = (opts.topicPrefix ?? 'meterhub/v1/billing/readings').replace(/\/+$/, '');
    if (opts.client) {
      this.client = opts.client;
      this.own = false;
    } else {
      if (!opts.url) throw new Error('MqttSink needs a client or a url');
      this.client = mqtt.connect(opts.url, {
        clientId: opts.clientId ?? `meterhub-billing-sink`,
        clean: true,
        protocolVersion: 5,
        reconnectPeriod: 1000,
        connectTimeout: 5000,
      });
      this.client.on('error', () => {});
      this.own = true;
    }
  }

  async deliver(readings: StoredReading[]): Promise<DeliveryResult[]> {
    if (!this.client.connected) return readings.map(() => ({ ok: false, error: 'broker not connected' }));
    const timeoutMs = this.opts.timeoutMs ?? 10_000;
    return Promise.all(
      readings.map(
        (r) =>
          new Promise<DeliveryResult>((resolve) => {
            let settled = false;
            const timer = setTimeout(() => {
              settled = true;
              resolve({ ok: false, error: 'PUBACK timeout' });
            }, timeoutMs);
            this.client.publish(
              `${this.prefix}/${r.meterId}`,
              JSON.stringify(readingPayload(r)),
              { qos: 1, properties: { userProperties: { 'idempotency-key': r.id }, contentType: 'application/json' } },
              (err) => {
                if (settled) return;
                clearTimeout(timer);
                resolve(err ? { ok: false, error: err.message } : { ok: true });
              },
            );
          }),
      ),
    );
  }

  async close(): Promise<void> {
    if (this.own) await this.client.endAsync(true);
  }
}
