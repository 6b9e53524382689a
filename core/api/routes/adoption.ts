/**
 * POST /v1/cards/adopt (认领, go-live): a card the maker's library recognises but the ledger has never seen is taken
 * in at its own count. Who may: the `adoption` policy (nobody / ops / any counter with a reason); banks never.
 */
import type { FastifyInstance } from 'fastify';
import { rolesFor } from '../../auth/roles.ts';
import type { CardType } from '../../cards/card-types.ts';
import type { CardService } from '../../ledger/card-service.ts';
import { authorize, cpuGuard } from '../auth-hooks.ts';
import { actorOf, idemOf, sendWrite } from '../request-context.ts';
import * as S from '../schemas.ts';

export async function adoptionRoutes(app: FastifyInstance, opts: { cards: CardService }): Promise<void> {
  app.post<{ Body: { cardType: CardType; data: string; cardNo: string; reason?: string } }>('/v1/cards/adopt', {
    preHandler: [authorize(rolesFor('cards.adopt')), cpuGuard],
    schema: {
      tags: ['cards'], summary: '认领台账中没有的卡（次数取卡上次数）/ Adopt a card unknown to the ledger at its own count',
      headers: S.idempotencyHeaders,
      body: {
        type: 'object', additionalProperties: false, required: ['cardType', 'data', 'cardNo'], properties: {
          cardType: S.cardType, data: S.cardData, cardNo: S.cardNo,
          reason: { type: 'string', maxLength: 200, description: 'required of a counter (policy counter-with-reason)' },
        },
      },
      response: S.writeResponses,
    },
  }, async (req, reply) => sendWrite(req, reply, await opts.cards.adopt(actorOf(req), req.body, idemOf(req))));
}
