/**
 * Whatever a request handler or fastify itself throws becomes one of our coded errors: schema errors name the
 * field, body-parser failures are 400/413/415, anything unknown is INTERNAL (its cause goes to the log, not the
 * client).
 */
import type { FastifyError } from 'fastify';
import { BadInput, Internal, NotFound } from '../errors/common-errors.ts';
import { isMeterHubError, type MeterHubError } from '../errors/meterhub-error.ts';
import { PayloadTooLarge, RateLimited, UnsupportedMediaType } from './http-errors.ts';

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
    const what =
      first.keyword === 'additionalProperties'
        ? 'is not allowed'
        : first.keyword === 'required'
          ? 'is required'
          : (first.message ?? 'is invalid');
    return BadInput(
      {
        field,
        problems: e.validation.slice(0, 5).map((v) => ({ field: fieldOf(e.validationContext, v), problem: v.message })),
      },
      {
        zh: `${field}：${what}`,
        en: `${field} ${what}`,
      },
    );
  }
  // Fastify's own codes (FST_*), not ours: these are the body parser's refusals.
  const code = e?.code;
  if (code === 'FST_ERR_CTP_BODY_TOO_LARGE') return PayloadTooLarge();
  if (code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return UnsupportedMediaType();
  if (
    code === 'FST_ERR_CTP_EMPTY_JSON_BODY' ||
    code === 'FST_ERR_CTP_INVALID_JSON_BODY' ||
    e instanceof SyntaxError ||
    (e?.statusCode === 400 && code?.startsWith('FST_ERR_CTP'))
  ) {
    return BadInput({ field: 'body' }, { zh: 'body：不是有效的 JSON', en: 'body is not valid JSON' });
  }
  if (e?.statusCode === 429) return RateLimited();
  if (e?.statusCode === 404) return NotFound();
  return Internal();
}
