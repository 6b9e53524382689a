/**
 * The station's client of the central server, over real HTTP (fetch/undici). Every write carries an
 * Idempotency-Key, so a retry after a lost answer returns the same transaction instead of a second one.
 *
 * Failures are split the way the operator needs them: the server said no (its own code and text, passed
 * through) versus the server could not be reached (STATION_SERVER_UNREACHABLE, nothing written). The token
 * never appears in an error or a log line.
 */
import { randomUUID } from 'node:crypto';
import { MeterHubError } from '../errors/meterhub-error.ts';
import type { CardWriteView } from '../wire/transaction.ts';
import { currentClerk } from './clerk-context.ts';
import { StationServerError, StationServerUnreachable } from './station-errors.ts';

export interface CentralClientOptions {
  url: string;
  token: string;
  /** Per-request timeout, ms (default 15000). */
  timeoutMs?: number;
  /** Extra attempts when the server cannot be reached (default 2). Same Idempotency-Key each time. */
  retries?: number;
  /** Channel recorded with the actor on the server (X-MeterHub-Channel): station, or station-sim for training. */
  channel?: string;
}

export interface CallOptions {
  body?: unknown;
  idempotencyKey?: string;
  /** Use this bearer token instead of the station's (an ops token to recover another token's transaction). */
  token?: string;
}

/** A transaction as the server presents it, plus the card data and keys on write answers: the server's own type. */
export type ServerWrite = CardWriteView;

/** An error answer from the server, re-thrown with the server's own code and texts. */
export function serverError(status: number, body: unknown): MeterHubError {
  const e = (
    body as {
      error?: { code?: string; messageZh?: string; messageEn?: string; details?: Record<string, unknown> };
    } | null
  )?.error;
  if (!e?.code) return StationServerError({ status });
  return new MeterHubError(
    { code: e.code, status, zh: e.messageZh ?? e.code, en: e.messageEn ?? e.code },
    { ...(e.details ?? {}), source: 'central-server' },
  );
}

export class CentralClient {
  readonly url: string;
  private readonly token: string;
  private readonly timeoutMs: number;
  private readonly retries: number;
  private readonly channel: string | undefined;

  constructor(o: CentralClientOptions) {
    this.url = o.url.replace(/\/+$/, '');
    this.token = o.token;
    this.timeoutMs = o.timeoutMs ?? 15_000;
    this.retries = o.retries ?? 2;
    this.channel = o.channel;
  }

  static newIdempotencyKey(op: string): string {
    return `station-${op}-${randomUUID()}`;
  }

  async call<T = Record<string, unknown>>(method: string, path: string, o: CallOptions = {}): Promise<T> {
    const headers: Record<string, string> = {
      authorization: `Bearer ${o.token ?? this.token}`,
      accept: 'application/json',
    };
    if (this.channel) headers['x-meterhub-channel'] = this.channel;
    // The clerk the station is working for (set per request by the station's guard); the server records it.
    const clerk = currentClerk();
    if (clerk) headers['x-meterhub-clerk'] = clerk;
    if (o.idempotencyKey) headers['idempotency-key'] = o.idempotencyKey;
    let body: string | undefined;
    if (o.body !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(o.body);
    }
    // Only writes with an idempotency key (and reads) may be repeated: the key makes a repeat harmless.
    const attempts = method === 'GET' || o.idempotencyKey ? 1 + this.retries : 1;
    let lastCause = 'unknown';
    for (let i = 0; i < attempts; i++) {
      if (i > 0) await new Promise((r) => setTimeout(r, 200 * i));
      let res: Response;
      try {
        res = await fetch(this.url + path, {
          method,
          headers,
          ...(body !== undefined ? { body } : {}),
          signal: AbortSignal.timeout(this.timeoutMs),
        });
      } catch (e) {
        lastCause = causeOf(e);
        continue;
      }
      const text = await res.text().catch(() => '');
      let parsed: unknown = null;
      try {
        parsed = text ? JSON.parse(text) : null;
      } catch {
        /* not JSON */
      }
      if (res.status >= 200 && res.status < 300) return parsed as T;
      // 503 from a closing server or a restarting driver is worth one more try with the same key.
      if (res.status === 503 && i + 1 < attempts) {
        lastCause = `http-503`;
        continue;
      }
      throw serverError(res.status, parsed);
    }
    throw StationServerUnreachable(
      {
        server: this.url,
        path,
        cause: lastCause,
        ...(o.idempotencyKey ? { idempotencyKey: o.idempotencyKey } : {}),
      },
      { zh: `${this.url}（${lastCause}）`, en: `${this.url} (${lastCause})` },
    );
  }
}

function causeOf(e: unknown): string {
  const err = e as { name?: string; code?: string; cause?: { code?: string } };
  if (err?.name === 'TimeoutError' || err?.name === 'AbortError') return 'timeout';
  return err?.cause?.code ?? err?.code ?? 'network';
}
