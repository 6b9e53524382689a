/** Refusals made by the HTTP layer itself, before a route runs; shared by the central server and the station. */
import { defineError } from '../errors/meterhub-error.ts';

/**
 * No retry policy on purpose: @fastify/rate-limit sets Retry-After itself (the window's remaining time), and an
 * error handler default here would add a header the answer never carried.
 */
export const RateLimited = defineError('RATE_LIMITED', 429, '请求过于频繁，请稍后再试', 'Too many requests; slow down');
export const PayloadTooLarge = defineError('PAYLOAD_TOO_LARGE', 413, '请求体过大', 'Request body too large');
export const UnsupportedMediaType = defineError(
  'UNSUPPORTED_MEDIA_TYPE',
  415,
  '请求体必须是 JSON',
  'The request body must be JSON',
);
