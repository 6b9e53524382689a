/**
 * Webhook billing sink. Two body formats, chosen by the billing system's contract (docs/protocol/billing.md):
 *
 * - one reading per POST (`readingsPerPost` 1, the default): JSON body = the reading, Idempotency-Key = reading id;
 * - batches (`readingsPerPost` N > 1): JSON body `{ batchId, count, readings: [...] }`, Idempotency-Key = batchId.
 *   The batch id is a hash of its reading ids, so a retried batch carries the same key; every reading keeps its
 *   own `id`, so billing also dedupes per reading when a batch is re-formed differently (lease expiry, partial
 *   failure). At volume one POST per reading costs more than the store; batching removes that cost.
 *
 * 2xx = delivered. A batch answer may carry `{ results: [{ id, ok, error? }] }`: readings with ok = false are
 * refused permanently (dead letters), the others are delivered. 408/425/429/5xx and network errors are retried by
 * the outbox with exponential backoff; any other 4xx is permanent for every reading in that POST.
 */
import { createHash } from 'node:crypto';
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
  /** Readings leased from the outbox per dispatcher round. */
  batchSize?: number;
  /** Readings per POST: 1 = one reading per request (default); N > 1 = batch body (at most 1000). */
  readingsPerPost?: number;
  /** Outbox leases delivered at once (default 1; 2 overlaps HTTP with the next lease's database work). */
  parallelLeases?: number;
}

const RETRYABLE = new Set([408, 425, 429]);
export const MAX_READINGS_PER_POST = 1000;

/** Deterministic: the same readings (in any order) give the same batch id, hence the same Idempotency-Key. */
export function webhookBatchId(readingIds: readonly string[]): string {
  const h = createHash('sha256');
  for (const id of [...readingIds].sort()) h.update(id).update('\n');
  return `b-${h.digest('hex').slice(0, 32)}`;
}

interface HttpAnswer {
  status: number;
  body: string;
  error?: string;
}

export class WebhookSink implements BillingSink {
  readonly name: string;
  readonly batchSize: number;
  readonly readingsPerPost: number;
  readonly parallelLeases: number;
  private readonly url: URL;
  private readonly agent: HttpAgent;
  posts = 0;

  constructor(private readonly opts: WebhookSinkOptions) {
    this.name = opts.name ?? 'webhook';
    this.url = new URL(opts.url);
    const per = opts.readingsPerPost ?? 1;
    if (!Number.isInteger(per) || per < 1 || per > MAX_READINGS_PER_POST) {
      throw new RangeError(`readingsPerPost must be an integer 1..${MAX_READINGS_PER_POST}`);
    }
    this.readingsPerPost = per;
    this.parallelLeases = Math.max(1, Math.min(opts.parallelLeases ?? 1, 16));
    this.batchSize = opts.batchSize ?? Math.max(200, per * (opts.concurrency ?? 16));
    const agentOpts = { keepAlive: true, maxSockets: opts.concurrency ?? 16 };
    this.agent = this.url.protocol === 'https:' ? new HttpsAgent(agentOpts) : new HttpAgent(agentOpts);
  }

  async deliver(readings: StoredReading[]): Promise<DeliveryResult[]> {
    const per = this.readingsPerPost;
    const groups: StoredReading[][] = [];
    for (let i = 0; i < readings.length; i += per) groups.push(readings.slice(i, i + per));
    const results: DeliveryResult[][] = new Array(groups.length);
    let next = 0;
    const worker = async () => {
      while (next < groups.length) {
        const g = next++;
        results[g] = per === 1 ? [await this.postOne(groups[g]![0]!)] : await this.postBatch(groups[g]!);
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.opts.concurrency ?? 16, groups.length) }, worker));
    return results.flat();
  }

  private async postOne(r: StoredReading): Promise<DeliveryResult> {
    const a = await this.post(JSON.stringify(readingPayload(r)), r.id, 1);
    return verdict(a);
  }

  private async postBatch(group: StoredReading[]): Promise<DeliveryResult[]> {
    const batchId = webhookBatchId(group.map((r) => r.id));
    const body = JSON.stringify({ batchId, count: group.length, readings: group.map(readingPayload) });
    const a = await this.post(body, batchId, group.length);
    const whole = verdict(a);
    const perReading = a.status >= 200 && a.status < 300 ? parseResults(a.body) : null;
    if (!perReading) return group.map(() => whole);
    return group.map((r): DeliveryResult => {
      const x = perReading.get(r.id);
      // A reading the answer does not mention was accepted with the batch (2xx).
      if (!x || x.ok) return { ok: true };
      return { ok: false, error: `refused by billing: ${x.error ?? 'no reason'}`.slice(0, 300), permanent: true };
    });
  }

  private post(body: string, key: string, count: number): Promise<HttpAnswer> {
    const send = this.url.protocol === 'https:' ? httpsRequest : httpRequest;
    this.posts++;
    return new Promise((resolve) => {
      const req = send(
        this.url,
        {
          method: 'POST',
          agent: this.agent,
          timeout: this.opts.timeoutMs ?? 10_000,
          headers: {
            ...this.opts.headers,
            'content-type': 'application/json',
            'content-length': Buffer.byteLength(body),
            'idempotency-key': key,
            ...(this.readingsPerPost > 1 ? { 'x-meterhub-batch-size': String(count) } : {}),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (c: Buffer) => {
            // Only a batch answer is read, and only so much of it: billing's body cannot exhaust our memory.
            if (this.readingsPerPost > 1 && size < 1_048_576) {
              chunks.push(c);
              size += c.length;
            }
          });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
          res.on('error', (e) => resolve({ status: 0, body: '', error: e.message }));
        },
      );
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', (e) => resolve({ status: 0, body: '', error: e.message }));
      req.end(body);
    });
  }

  async close(): Promise<void> {
    this.agent.destroy();
  }
}

function verdict(a: HttpAnswer): DeliveryResult {
  if (a.error) return { ok: false, error: a.error };
  if (a.status >= 200 && a.status < 300) return { ok: true };
  if (a.status >= 400 && a.status < 500 && !RETRYABLE.has(a.status))
    return { ok: false, error: `HTTP ${a.status}`, permanent: true };
  return { ok: false, error: `HTTP ${a.status}` };
}

/** `{ results: [{ id, ok, error? }] }` → map by id; null when the body is absent or not that shape. */
function parseResults(body: string): Map<string, { ok: boolean; error?: string }> | null {
  if (!body) return null;
  try {
    const j = JSON.parse(body) as { results?: Array<{ id?: unknown; ok?: unknown; error?: unknown }> };
    if (!Array.isArray(j.results)) return null;
    const out = new Map<string, { ok: boolean; error?: string }>();
    for (const x of j.results) {
      if (typeof x?.id !== 'string') continue;
      out.set(x.id, { ok: x.ok !== false, ...(typeof x.error === 'string' ? { error: x.error } : {}) });
    }
    return out;
  } catch {
    return null;
  }
}
