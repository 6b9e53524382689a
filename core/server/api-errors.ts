/**
 * The API's error answers: the shared HTTP layer (core/http/) plus what only the API does with an error, i.e. the
 * audit row takes the transaction id an error names. Status, Retry-After and logging come from the error's table.
 */
import type { FastifyRequest } from 'fastify';
import { createErrorHandler, createNotFoundHandler } from '../http/error-reply.ts';

export { PayloadTooLarge, RateLimited, UnsupportedMediaType } from '../http/http-errors.ts';
export { fieldOf, toMeterHubError } from '../http/to-meterhub-error.ts';

export const errorHandler = createErrorHandler({
  onError: (req: FastifyRequest, e) => {
    const txId = e.details?.transactionId;
    if (typeof txId === 'string') req.auditTx = txId;
  },
});

export const notFoundHandler = createNotFoundHandler();
