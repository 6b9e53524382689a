/**
 * How an error leaves either program (central server, counter station): {error: {code, message, messageZh,
 * messageEn, details}} with the status its table declares. The table also says whether a retry can help
 * (Retry-After) and whether the failure is a dependency's (logged as a refusal, not as our error).
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { NotFound } from '../errors/common-errors.ts';
import type { MeterHubError } from '../errors/meterhub-error.ts';
import { toMeterHubError } from './to-meterhub-error.ts';

/** Added to every error body of one program (the training station's reader label); never replaces `error`. */
export type ExtraBody = Record<string, unknown>;

export function errorBody(e: MeterHubError): { error: Record<string, unknown> } {
  return { error: { ...e.toJSON(), details: e.details ?? {} } };
}

/** Retry-After in whole seconds, at least 1: the raiser's details.retryAfterSeconds, else the table's default. */
export function retryAfterSeconds(e: MeterHubError): number | undefined {
  if (!e.retry) return undefined;
  const s = Number(e.details?.retryAfterSeconds ?? e.retry.afterSeconds);
  return Math.max(1, Math.ceil(s));
}

/** Headers, status and body of an error answer; the reply is sent. */
export function sendError(reply: FastifyReply, e: MeterHubError, extra: ExtraBody = {}): FastifyReply {
  const retry = retryAfterSeconds(e);
  // A Retry-After set by whoever knows the real wait (the rate limiter) is kept.
  if (retry !== undefined && !reply.hasHeader('retry-after')) reply.header('retry-after', String(retry));
  if (e.status === 401) reply.header('www-authenticate', 'Bearer realm="meterhub"');
  return reply.code(e.status).send({ ...errorBody(e), ...extra });
}

export interface ErrorHandlerOptions {
  /** Per request: fields added to every error body (evaluated when the error is sent). */
  extraBody?: ((req: FastifyRequest) => ExtraBody) | undefined;
  /** Called with the coded error before it is sent (the API's audit row takes its transaction id). */
  onError?: ((req: FastifyRequest, e: MeterHubError) => void) | undefined;
}

export function createErrorHandler(o: ErrorHandlerOptions = {}) {
  return function errorHandler(err: unknown, req: FastifyRequest, reply: FastifyReply): FastifyReply {
    const e = toMeterHubError(err);
    // Our own faults get the error log with the original cause (stack); refusals and a dependency's failures
    // (the maker library crashed, hung, answered garbage: upstream in its table) are info.
    if (e.status >= 500 && !e.upstream) req.log.error({ err }, 'request failed');
    else req.log.info({ code: e.code, status: e.status }, 'request refused');
    o.onError?.(req, e);
    return sendError(reply, e, o.extraBody?.(req));
  };
}

export function createNotFoundHandler(o: Pick<ErrorHandlerOptions, 'extraBody'> = {}) {
  return function notFoundHandler(req: FastifyRequest, reply: FastifyReply): FastifyReply {
    // The path without its query: a query string is the caller's data and has no place in an error text.
    const path = req.url.split('?')[0];
    const e = NotFound({ method: req.method, path }, { zh: `${req.method} ${path}`, en: `${req.method} ${path}` });
    return sendError(reply, e, o.extraBody?.(req));
  };
}
