/**
 * Bearer-token authentication (onRequest, every route) and role authorization (a preHandler per route).
 * `authorize(roles)` is what route plugins of other parts (plugins, readings) receive.
 */
import type { FastifyReply, FastifyRequest, preHandlerHookHandler } from 'fastify';
import { BadInput, Forbidden, Unauthorized } from '../errors/common-errors.ts';
import { defineError } from '../errors/meterhub-error.ts';
import { CPU_CARD_ROLES, type Role } from '../auth/roles.ts';
import type { TokenStore } from '../auth/token-store.ts';

export const ForbiddenCardType = defineError(
  'FORBIDDEN_CARD_TYPE',
  403,
  '此角色不能办理该卡型（银行不办理CPU卡）',
  'This role may not handle this card type (banks never handle CPU cards)',
);

export interface RequestActor {
  tokenId: string;
  name: string;
  role: Role;
  channel: string;
  /** The clerk (营业员) at the counter who made the call, from X-MeterHub-Clerk; null when none was named. */
  clerk: string | null;
}

declare module 'fastify' {
  interface FastifyRequest {
    actor?: RequestActor;
    auditTx?: string;
    auditIdem?: string;
  }
}

/** Channel and clerk names: plain tokens, safe in logs, audit rows and the console. */
const NAME_RE = /^[A-Za-z0-9_.:@-]{1,64}$/;

/** An optional naming header: absent or empty is null; anything but 1-64 of [A-Za-z0-9_.:@-] is a 400. */
function namingHeader(req: FastifyRequest, name: 'x-meterhub-channel' | 'x-meterhub-clerk'): string | null {
  const v = req.headers[name];
  if (v === undefined || v === '') return null;
  if (typeof v !== 'string' || !NAME_RE.test(v)) {
    throw BadInput(
      { field: `headers.${name}` },
      { zh: `headers.${name}：1-64 个字母数字或 _.:@-`, en: `headers.${name} must be 1-64 of [A-Za-z0-9_.:@-]` },
    );
  }
  return v;
}

export function authenticate(tokens: TokenStore) {
  return async function onRequest(req: FastifyRequest): Promise<void> {
    const h = req.headers.authorization;
    if (!h) return;
    const m = /^Bearer\s+(\S+)$/i.exec(h);
    if (!m) return;
    const info = await tokens.verify(m[1]!);
    if (!info) return;
    const channel = namingHeader(req, 'x-meterhub-channel') ?? info.role;
    const clerk = namingHeader(req, 'x-meterhub-clerk');
    req.actor = { tokenId: info.id, name: info.name, role: info.role, channel, clerk };
  };
}

export type Authorize = (roles: readonly Role[]) => preHandlerHookHandler;

/** Marks the hooks `authorize` makes, so the app can run them before validation (authorizeBeforeValidation). */
const ROLE_CHECK = Symbol('meterhub.roleCheck');

export const authorize: Authorize = (roles) => {
  const allowed = [...roles];
  const checkRole = async function checkRole(req: FastifyRequest, _reply: FastifyReply): Promise<void> {
    if (!req.actor) throw Unauthorized();
    if (!allowed.includes(req.actor.role)) {
      throw Forbidden(
        { role: req.actor.role, allowed },
        { zh: `角色 ${req.actor.role} 不能执行此操作`, en: `role ${req.actor.role} may not do this` },
      );
    }
  };
  return Object.assign(checkRole, { [ROLE_CHECK]: allowed });
};

/** The roles a route's `authorize` hooks allow, or undefined when it has none (a public route). */
export function routeRoles(o: { preHandler?: unknown; preValidation?: unknown }): Role[] | undefined {
  const hooks = [o.preValidation, o.preHandler].flatMap((h) => (Array.isArray(h) ? h : h ? [h] : []));
  const found = hooks.map((h) => (h as { [ROLE_CHECK]?: Role[] })[ROLE_CHECK]).filter((r): r is Role[] => !!r);
  return found.length ? found.flat() : undefined;
}

/**
 * onRoute: a route's role check runs in preValidation instead of preHandler, so a caller without a token (or
 * with the wrong role) gets 401/403 before the schema looks at its input — it learns nothing about the route
 * from validation errors. Route plugins keep writing `preHandler: authorize(...)`.
 */
export function authorizeBeforeValidation(o: { preHandler?: unknown; preValidation?: unknown }): void {
  if (!o.preHandler) return;
  const list = Array.isArray(o.preHandler) ? o.preHandler : [o.preHandler];
  // Everything up to the last role check moves, in order (a guard placed before it, like the CPU route's, too).
  let last = -1;
  list.forEach((h: unknown, i: number) => {
    if ((h as { [ROLE_CHECK]?: Role[] })[ROLE_CHECK]) last = i;
  });
  if (last < 0) return;
  const checks = list.slice(0, last + 1);
  const rest = list.slice(last + 1);
  const before = Array.isArray(o.preValidation) ? o.preValidation : o.preValidation ? [o.preValidation] : [];
  o.preValidation = [...checks, ...before];
  o.preHandler = rest.length ? rest : undefined;
}

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
