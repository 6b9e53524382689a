/**
 * POST /v1/cards/adopt (认领, go-live): a card the maker's library recognises but the ledger has never seen is taken
 * in at its own count. Who may: the `adoption` policy (nobody / ops / any counter with a reason); banks never.
 */
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { rolesFor } from '../../auth/roles.ts';
import type { CardService } from '../../ledger/card-service.ts';
import { AdoptBody } from '../../wire/card-requests.ts';
import { idempotencyHeaders } from '../../wire/fields.ts';
import { writeResponses } from '../../wire/transaction.ts';
import { authorize, cpuGuard } from '../auth-hooks.ts';
import { actorOf, idemOf, sendWrite } from '../request-context.ts';

export async function adoptionRoutes(fastify: FastifyInstance, opts: { cards: CardService }): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  app.post(
    '/v1/cards/adopt',
    {
      preHandler: [authorize(rolesFor('cards.adopt')), cpuGuard],
      schema: {
        tags: ['cards'],
        summary: '认领台账中没有的卡（次数取卡上次数）/ Adopt a card unknown to the ledger at its own count',
        headers: idempotencyHeaders,
        body: AdoptBody,
        response: writeResponses,
      },
    },
    async (req, reply) => sendWrite(req, reply, await opts.cards.adopt(actorOf(req), req.body, idemOf(req))),
  );
}
