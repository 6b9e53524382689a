/**
 * Every error leaves as {error: {code, message, messageZh, messageEn, details}} with its status.
 * Schema errors name the field; driver failures are 503 with Retry-After.
 */
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { BadInput, Internal, NotFound } from '../errors/common-errors.ts';
import { defineError, isMeterHubError, type MeterHubError } from '../errors/meterhub-error.ts';

export const RateLimited = defineError('RATE_LIMITED', 429, '请求过于频繁，请稍后再试', 'Too many requests; slow down');
export const PayloadTooLarge = defineError('PAYLOAD_TOO_LARGE', 413, '请求体过大', 'Request body too large');
export const UnsupportedMediaType = defineError('UNSUPPORTED_MEDIA_TYPE', 415, '请求体必须是 JSON', 'The request body must be JSON');

interface AjvError {
  instancePath?: string;
  message?: string;
  keyword?: string;
  params?: Record<string, unknown>;
}

/** "body.gas", "body.cardNo", "headers.idempotency-key", … */
export function fieldOf(context: string | undefined, v: AjvError): string {
  const path = (v.instancePath ?? '').replace(/^\//, '').replace(/\//g, '.');
  const missing = v.params?.missingProperty ?? v.params?.additionalProperty;
  const leaf = [path, typeof missing === 'string' ? missing : ''].filter(Boolean).join('.');
  return [context ?? 'body', leaf].filter(Boolean).join('.');
}

export function toMeterHubError(err: unknown): MeterHubError {
  if (isMeterHubError(err)) return err;
  const e = err as FastifyError & { validation?: AjvError[]; validationContext?: string };
  if (e?.validation && e.validation.length) {
    const first = e.validation[0]!;
    const field = fieldOf(e.validationContext, first);
    const what = first.keyword === 'additionalProperties' ? 'is not allowed' : first.keyword === 'required' ? 'is required' : first.message ?? 'is invalid';
    return BadInput({ field, problems: e.validation.slice(0, 5).map((v) => ({ field: fieldOf(e.validationContext, v), problem: v.message })) }, {
      zh: `${field}：${what}`, en: `${field} ${what}`,
    });
  }
  const code = e?.code;
  if (code === 'FST_ERR_CTP_BODY_TOO_LARGE') return PayloadTooLarge();
  if (code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return UnsupportedMediaType();
  if (code === 'FST_ERR_CTP_EMPTY_JSON_BODY' || code === 'FST_ERR_CTP_INVALID_JSON_BODY' || e instanceof SyntaxError || (e?.statusCode === 400 && code?.startsWith('FST_ERR_CTP'))) {
    return BadInput({ field: 'body' }, { zh: 'body：不是有效的 JSON', en: 'body is not valid JSON' });
  }
  if (e?.statusCode === 429) return RateLimited();
  if (e?.statusCode === 404) return NotFound();
  return Internal();
}

export function errorHandler(err: unknown, req: FastifyRequest, reply: FastifyReply): FastifyReply {
  const e = toMeterHubError(err);
  if (e.status >= 500 && !e.code.startsWith('DRIVER_')) req.log.error({ err }, 'request failed');
  else req.log.info({ code: e.code, status: e.status }, 'request refused');
  // A library that answered with malformed card data (502) will do so again: retrying is pointless. Every other
  // driver failure (crash, hang, missing library) is the maker library being unavailable: 503, retry later.
  const badGateway = e.code === 'DRIVER_OUTPUT_INVALID';
  if ((e.code.startsWith('DRIVER_') && !badGateway) || e.code === 'IDENTIFY_INCOMPLETE') {
    const retry = Number(e.details?.retryAfterSeconds ?? 1);
    reply.header('retry-after', String(Math.max(1, Math.ceil(retry))));
  }
  if (e.status === 401) reply.header('www-authenticate', 'Bearer realm="meterhub"');
  const txId = e.details?.transactionId;
  if (typeof txId === 'string') (req as { auditTx?: string }).auditTx = txId;
  const status = badGateway ? 502 : e.code.startsWith('DRIVER_') ? 503 : e.status;
  return reply.code(status).send({ error: { ...e.toJSON(), details: e.details ?? {} } });
}

export function notFoundHandler(req: FastifyRequest, reply: FastifyReply): FastifyReply {
  const e = NotFound({ method: req.method, path: req.url.split('?')[0] }, { zh: `${req.method} ${req.url.split('?')[0]}`, en: `${req.method} ${req.url.split('?')[0]}` });
  return reply.code(404).send({ error: { ...e.toJSON(), details: e.details ?? {} } });
}
