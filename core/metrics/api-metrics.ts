/**
 * HTTP and card-operation metrics from fastify hooks (no change to the routes or the card service).
 *
 * The maker of a purchase is only known once the server has identified the card, so it is taken from the
 * answer (every write answers with its transaction, which names maker and card type) in `preSerialization`,
 * else from the request body. Labels are bounded: the route pattern (never the URL), operation names from
 * the route table, makers only if installed, card types only from the known set. Never a card number.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Counter, Histogram, type Registry } from 'prom-client';
import { CARD_TYPES } from '../cards/card-types.ts';

const CARD_ROUTE = /^\/v1\/cards\/([a-z-]+)$/;
const TX_ROUTE = /^\/v1\/transactions\/:id\/([a-z-]+)$/;
const METHODS = new Set(['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS']);

export const HTTP_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** The card operation a route performs (identify, purchase, confirm, …), or undefined for other routes. */
export function cardOperationOf(method: string, route: string | undefined): string | undefined {
  if (method !== 'POST' || !route) return undefined;
  return (CARD_ROUTE.exec(route) ?? TX_ROUTE.exec(route))?.[1];
}

/** success (2xx), replayed (an idempotent retry answered from the ledger), rejected (4xx), error (5xx). */
export function cardResultOf(status: number, replayed: boolean): string {
  if (status >= 500) return 'error';
  if (status >= 400) return 'rejected';
  return replayed ? 'replayed' : 'success';
}

interface Seen {
  maker?: string;
  cardType?: string;
}

const str = (v: unknown) => (typeof v === 'string' ? v : undefined);

export class ApiMetrics {
  readonly cardOperations: Counter<'operation' | 'maker' | 'card_type' | 'result'>;
  private readonly cardDuration: Histogram<'operation' | 'result'>;
  private readonly requests: Counter<'method' | 'route' | 'status_code'>;
  private readonly duration: Histogram<'method' | 'route'>;
  private readonly seen = new WeakMap<FastifyRequest, Seen>();

  constructor(registry: Registry) {
    this.cardOperations = new Counter({
      name: 'meterhub_card_operations_total',
      help: 'Card API operations (POST /v1/cards/* and /v1/transactions/:id/*) by operation, maker, card type and result (success, replayed, rejected, error)',
      labelNames: ['operation', 'maker', 'card_type', 'result'],
      registers: [registry],
    });
    this.cardDuration = new Histogram({
      name: 'meterhub_card_operation_duration_seconds',
      help: 'Time to answer a card operation, ledger commit and driver call included',
      labelNames: ['operation', 'result'],
      buckets: HTTP_BUCKETS,
      registers: [registry],
    });
    this.requests = new Counter({
      name: 'meterhub_http_requests_total',
      help: 'HTTP requests answered, by method, route pattern and status code',
      labelNames: ['method', 'route', 'status_code'],
      registers: [registry],
    });
    this.duration = new Histogram({
      name: 'meterhub_http_request_duration_seconds',
      help: 'Time to answer an HTTP request, by method and route pattern',
      labelNames: ['method', 'route'],
      buckets: HTTP_BUCKETS,
      registers: [registry],
    });
  }

  /** Adds the hooks to the root instance (before routes are registered, so every route inherits them). */
  install(app: FastifyInstance, isMaker: (id: string) => boolean): void {
    app.addHook('preSerialization', async (req: FastifyRequest, _reply: FastifyReply, payload: unknown) => {
      if (cardOperationOf(req.method, req.routeOptions?.url) && payload && typeof payload === 'object') {
        const p = payload as {
          maker?: unknown;
          cardType?: unknown;
          error?: { details?: { maker?: unknown; cardType?: unknown } };
        };
        this.seen.set(req, {
          maker: str(p.maker) ?? str(p.error?.details?.maker),
          cardType: str(p.cardType) ?? str(p.error?.details?.cardType),
        });
      }
      return payload;
    });
    app.addHook('onResponse', async (req: FastifyRequest, reply: FastifyReply) => {
      const route = req.routeOptions?.url ?? 'unmatched';
      const method = METHODS.has(req.method) ? req.method : 'OTHER';
      const seconds = reply.elapsedTime / 1000;
      this.requests.inc({ method, route, status_code: String(reply.statusCode) });
      this.duration.observe({ method, route }, seconds);
      const operation = cardOperationOf(req.method, req.routeOptions?.url);
      if (!operation) return;
      const body = (req.body && typeof req.body === 'object' ? req.body : {}) as {
        maker?: unknown;
        cardType?: unknown;
      };
      const seen = this.seen.get(req) ?? {};
      const makerRaw = seen.maker ?? str(body.maker);
      const typeRaw = seen.cardType ?? str(body.cardType);
      const maker = makerRaw && isMaker(makerRaw) ? makerRaw : 'unknown';
      const cardType = typeRaw && (CARD_TYPES as readonly string[]).includes(typeRaw) ? typeRaw : 'unknown';
      const result = cardResultOf(reply.statusCode, reply.getHeader('idempotent-replayed') === 'true');
      this.cardOperations.inc({ operation, maker, card_type: cardType, result });
      this.cardDuration.observe({ operation, result }, seconds);
    });
  }
}
