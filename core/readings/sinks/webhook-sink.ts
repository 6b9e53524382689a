/**
 * Webhook billing sink: one HTTP POST per reading, JSON body, header Idempotency-Key = reading id.
 * 2xx = delivered. 408/425/429/5xx and network errors are retried by the outbox with exponential
 * backoff; any other 4xx is permanent (billing refused this reading) and goes to the dead-letter list.
 */
import { request as httpRequest, Agent as HttpAgent } from 'node:http';
import { request as httpsRequest, Agent as HttpsAgent } from 'node:https';
import type { BillingSink, DeliveryResult } from '../sink-types.ts';
import { readingPayload } from '../sink-types.ts';
import type { StoredReading } from '../store.ts';

export interface WebhookSinkOptions {
  name?: string;
  url: string;
  /** Extra headers (e.g. Authorization). Never logged. */
  headers?: Record<string, string>;
  timeoutMs?: number;
  /** Parallel requests per batch. */
  concurrency?: number;
  batchSize?: number;
}

const RETRYABLE = new Set([408, 425, 429]);

export class WebhookSink implements BillingSink {
  readonly name: string;
  readonly batchSize: number;
  private readonly url: URL;
  private readonly agent: HttpAgent;
  posts = 0;

  constructor(private readonly opts: WebhookSinkOptions) {
    this.name = opts.name ?? 'webhook';
    this.url = new URL(opts.url);
    this.batchSize = opts.batchSize ?? 200;
    const agentOpts = { keepAlive: true, maxSockets: opts.concurrency ?? 16 };
    this.agent = this.url.protocol === 'https:' ? new HttpsAgent(agentOpts) : new HttpAgent(agentOpts);
  }

  async deliver(readings: StoredReading[]): Promise<DeliveryResult[]> {
    const results: DeliveryResult[] = new Array(readings.length);
    let next = 0;
    const worker = async () => {
      while (next < readings.length) {
        const i = next++;
        results[i] = await this.post(readings[i]!);
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.opts.concurrency ?? 16, readings.length) }, worker));
    return results;
  }

  private post(r: StoredReading): Promise<DeliveryResult> {
    const body = JSON.stringify(readingPayload(r));
    const send = this.url.protocol === 'https:' ? httpsRequest : httpRequest;
    this.posts++;
    return new Promise((resolve) => {
      const req = send(this.url, {
        method: 'POST',
        agent: this.agent,
        timeout: this.opts.timeoutMs ?? 10_000,
        headers: {
          ...this.opts.headers,
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
          'idempotency-key': r.id,
        },
      }, (res) => {
        res.resume();
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          if (status >= 200 && status < 300) resolve({ ok: true });
          else if (status >= 400 && status < 500 && !RETRYABLE.has(status)) resolve({ ok: false, error: `HTTP ${status}`, permanent: true });
          else resolve({ ok: false, error: `HTTP ${status}` });
        });
        res.on('error', (e) => resolve({ ok: false, error: e.message }));
      });
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', (e) => resolve({ ok: false, error: e.message }));
      req.end(body);
    });
  }

  async close(): Promise<void> {
    this.agent.destroy();
  }
}
