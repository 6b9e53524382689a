/**
 * Fake billing systems for tests and benchmarks: a webhook receiver and an MQTT subscriber. Both count
 * every delivery and dedupe by the idempotency key, as a real billing system must.
 */
import { createServer, type Server } from 'node:http';
import mqtt, { type MqttClient } from 'mqtt';

export class WebhookBilling {
  /** Per reading id: how often it arrived and its body (a batch's element for batched POSTs). */
  readonly byKey = new Map<string, { count: number; body: string }>();
  /** Batched POSTs: Idempotency-Key (batch id) → how often it arrived. */
  readonly batches = new Map<string, number>();
  /** Reading ids this receiver refuses in its per-reading batch answer (tests of partial refusal). */
  readonly refuse = new Set<string>();
  posts = 0;
  /** Reading deliveries (a batch of N counts N). */
  deliveries = 0;
  /** Bodies that differed between deliveries of the same key (must stay 0). */
  conflicts = 0;
  failNext = 0;
  failStatus = 503;
  private server: Server | null = null;
  url = '';

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        this.posts++;
        if (this.failNext > 0) {
          this.failNext--;
          res.statusCode = this.failStatus;
          return res.end();
        }
        const key = String(req.headers['idempotency-key'] ?? '');
        const body = Buffer.concat(chunks).toString('utf8');
        if (req.headers['x-meterhub-batch-size'] !== undefined) {
          // A batch: dedupe by batch key and by each reading's own id, answer per reading.
          this.batches.set(key, (this.batches.get(key) ?? 0) + 1);
          const batch = JSON.parse(body) as { readings: Array<{ id: string }> };
          const results = batch.readings.map((r) => {
            if (this.refuse.has(r.id)) return { id: r.id, ok: false, error: 'meter not in billing' };
            this.record(r.id, JSON.stringify(r));
            return { id: r.id, ok: true };
          });
          res.statusCode = 200;
          res.setHeader('content-type', 'application/json');
          return res.end(JSON.stringify({ results }));
        }
        const seen = this.record(key, body);
        res.statusCode = seen ? 200 : 201;
        res.end();
      });
    });
    this.server.keepAliveTimeout = 60_000;
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', () => r()));
    this.url = `http://127.0.0.1:${(this.server.address() as { port: number }).port}/billing/readings`;
  }

  /** Returns whether the reading had arrived before. */
  private record(id: string, body: string): boolean {
    this.deliveries++;
    const seen = this.byKey.get(id);
    if (seen) {
      seen.count++;
      if (seen.body !== body) this.conflicts++;
    } else this.byKey.set(id, { count: 1, body });
    return seen !== undefined;
  }

  /** Readings that arrived more than once (failed POSTs are not deliveries). */
  get duplicates(): number {
    return this.deliveries - this.byKey.size;
  }

  async waitFor(ids: Set<string>, timeoutMs = 60_000): Promise<boolean> {
    const end = Date.now() + timeoutMs;
    while (Date.now() < end) {
      if ([...ids].every((id) => this.byKey.has(id))) return true;
      await new Promise((r) => setTimeout(r, 50));
    }
    return false;
  }

  async close(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }
}

export class MqttBilling {
  readonly byKey = new Map<string, number>();
  messages = 0;
  client: MqttClient | null = null;

  async start(url: string, topic = 'meterhub/v1/billing/readings/#', clientId = 'billing-subscriber'): Promise<void> {
    this.client = mqtt.connect(url, {
      clientId,
      clean: false,
      protocolVersion: 5,
      properties: { sessionExpiryInterval: 3600 },
      reconnectPeriod: 300,
    });
    this.client.on('error', () => {});
    this.client.on('message', (_t, payload) => {
      this.messages++;
      try {
        const id = (JSON.parse(payload.toString('utf8')) as { id: string }).id;
        this.byKey.set(id, (this.byKey.get(id) ?? 0) + 1);
      } catch {
        /* counted as a message, not a reading */
      }
    });
    await new Promise<void>((r) => this.client!.once('connect', () => r()));
    await new Promise<void>((r) => this.client!.subscribe(topic, { qos: 1 }, () => r()));
  }

  async waitFor(ids: Set<string>, timeoutMs = 60_000): Promise<boolean> {
    const end = Date.now() + timeoutMs;
    while (Date.now() < end) {
      if ([...ids].every((id) => this.byKey.has(id))) return true;
      await new Promise((r) => setTimeout(r, 50));
    }
    return false;
  }

  async close(): Promise<void> {
    await this.client?.endAsync(true);
  }
}
