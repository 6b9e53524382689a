/**
 * Request ids, the same in both programs: a caller's X-Request-Id is kept (logs, audit, the response header)
 * when it is a plain token; anything else gets a fresh UUID. The header is never trusted as-is, so a caller
 * cannot inject text into log lines through it.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { FastifyInstance } from 'fastify';

const REQUEST_ID_RE = /^[A-Za-z0-9._:@-]{1,128}$/;

export function requestIdFor(header: string | string[] | undefined): string {
  return typeof header === 'string' && REQUEST_ID_RE.test(header) ? header : randomUUID();
}

/** Fastify options: our genReqId, and fastify's own header handling off (it would take any value). */
export const requestIdOptions = {
  genReqId: (req: { headers: IncomingHttpHeaders }) => requestIdFor(req.headers['x-request-id']),
  requestIdHeader: false,
} as const;

/** Every answer, errors included, says which request it was. */
export function echoRequestId(app: FastifyInstance): void {
  app.addHook('onSend', async (req, reply, payload) => {
    reply.header('x-request-id', req.id);
    return payload;
  });
}
