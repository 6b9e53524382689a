/** Per-request helpers shared by the route groups: the ledger actor, the idempotency identity, sending a write. */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Unauthorized } from '../errors/common-errors.ts';
import { canonicalJson, sha256Hex } from '../util/canonical-json.ts';
import type { Actor, Idem, WriteResult } from '../ledger/ledger-store.ts';

export function actorOf(req: FastifyRequest): Actor {
  if (!req.actor) throw Unauthorized();
  return {
    tokenId: req.actor.tokenId,
    name: req.actor.name,
    role: req.actor.role,
    channel: req.actor.channel,
    clerk: req.actor.clerk,
  };
}

/**
 * Keys are scoped per token id (immutable; a new token under a revoked token's name replays nothing of the
 * old one's); the hash covers route, path params and body.
 */
export function idemOf(req: FastifyRequest): Idem | undefined {
  const key = req.headers['idempotency-key'];
  if (typeof key !== 'string' || !key) return undefined;
  req.auditIdem = key;
  const requestHash = sha256Hex(
    canonicalJson({
      method: req.method,
      route: req.routeOptions.url,
      params: req.params ?? {},
      body: req.body ?? null,
    }),
  );
  return { scope: req.actor?.tokenId ?? 'anonymous', key, requestHash };
}

export function sendWrite(req: FastifyRequest, reply: FastifyReply, r: WriteResult): Record<string, unknown> {
  if (r.transactionId) req.auditTx = r.transactionId;
  if (r.replayed) reply.header('idempotent-replayed', 'true');
  reply.header('cache-control', 'no-store');
  reply.code(r.status);
  return r.body;
}
