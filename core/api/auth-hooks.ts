/**
 * Bearer-token authentication (onRequest, every route) and role authorization (a preHandler per route).
 * `authorize(roles)` is what route plugins of other parts (plugins, readings) receive.
 */
import type { FastifyReply, FastifyRequest, preHandlerHookHandler } from 'fastify';
import { BadInput, Forbidden, Unauthorized } from '../errors/common-errors.ts';
import { defineError } from '../errors/meterhub-error.ts';
import { CPU_CARD_ROLES, type Role } from '../auth/roles.ts';
import type { TokenStore } from '../auth/token-store.ts';

export const ForbiddenCardType = defineError('FORBIDDEN_CARD_TYPE', 403, '此角色不能办理该卡型（银行不办理CPU卡）', 'This role may not handle this card type (banks never handle CPU cards)');

export interface RequestActor {
  tokenId: string;
  name: string;
  role: Role;
  channel: string;
}

declare module 'fastify' {
  interface FastifyRequest {
    actor?: RequestActor;
    auditTx?: string;
    auditIdem?: string;
  }
}

const CHANNEL_RE = /^[A-Za-z0-9_.:@-]{1,64}$/;

export function authenticate(tokens: TokenStore) {
  return async function onRequest(req: FastifyRequest): Promise<void> {
    const h = req.headers.authorization;
    if (!h) return;
    const m = /^Bearer\s+(\S+)$/i.exec(h);
    if (!m) return;
    const info = await tokens.verify(m[1]!);
    if (!info) return;
    const ch = req.headers['x-meterhub-channel'];
    let channel: string = info.role;
    if (typeof ch === 'string' && ch.length) {
      if (!CHANNEL_RE.test(ch)) throw BadInput({ field: 'headers.x-meterhub-channel' }, { zh: 'headers.x-meterhub-channel：1-64 个字母数字或 _.:@-', en: 'headers.x-meterhub-channel must be 1-64 of [A-Za-z0-9_.:@-]' });
      channel = ch;
    }
    req.actor = { tokenId: info.id, name: info.name, role: info.role, channel };
  };
}

export type Authorize = (roles: readonly Role[]) => preHandlerHookHandler;

export const authorize: Authorize = (roles) => {
  const allowed = [...roles];
  return async function checkRole(req: FastifyRequest, _reply: FastifyReply): Promise<void> {
    if (!req.actor) throw Unauthorized();
    if (!allowed.includes(req.actor.role)) {
      throw Forbidden({ role: req.actor.role, allowed }, { zh: `角色 ${req.actor.role} 不能执行此操作`, en: `role ${req.actor.role} may not do this` });
    }
  };
};

/** Routes that are about CPU cards whatever the body says (/v1/cards/cpu/*): only CPU_CARD_ROLES. */
export const cpuRouteGuard: preHandlerHookHandler = async function cpuRouteGuard(req) {
  if (!req.actor) throw Unauthorized();
  if (!CPU_CARD_ROLES.includes(req.actor.role)) throw ForbiddenCardType({ role: req.actor.role, cardType: 'cpu' });
};

/** Banks never touch CPU cards: refused before anything else looks at the request. */
export const cpuGuard: preHandlerHookHandler = async function cpuGuard(req) {
  const t = (req.body as { cardType?: string } | undefined)?.cardType;
  if (t === 'cpu' && req.actor && !CPU_CARD_ROLES.includes(req.actor.role)) {
    throw ForbiddenCardType({ role: req.actor.role, cardType: t });
  }
};
