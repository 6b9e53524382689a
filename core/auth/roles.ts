/**
 * Who may do what. One table, so a reviewer sees the whole policy at once.
 *  - counter: the gas company's counter (all memory-card work, CPU cards through its station, catalogues),
 *    and confirming and the way back for its OWN unfinished writes (rewrite 掉气补气, reverse 冲正);
 *  - bank: sells gas on memory cards only — identify, read, purchase, confirm, and rewrite/reverse of its own
 *    memory-card writes; never CPU cards, never ops routes;
 *  - ops: everything a counter does, plus plugin enable/disable and transaction administration on any
 *    transaction (rewrite, reverse, cancel a replacement 补卡撤销);
 *  - billing: readings only.
 */
export const ROLES = ['counter', 'bank', 'ops', 'billing'] as const;
export type Role = (typeof ROLES)[number];

export function isRole(s: string): s is Role {
  return (ROLES as readonly string[]).includes(s);
}

export const PERMISSIONS = {
  'cards.identify': ['counter', 'bank', 'ops'],
  'cards.read': ['counter', 'bank', 'ops'],
  'cards.purchase': ['counter', 'bank', 'ops'],
  'cards.refund': ['counter', 'ops'],
  'cards.issue': ['counter', 'ops'],
  'cards.reissue': ['counter', 'ops'],
  'cards.format': ['counter', 'ops'],
  'cards.tool': ['counter', 'ops'],
  /** 认领 (go-live); the adoption policy narrows it further (core/ledger/card-service.ts). Banks never. */
  'cards.adopt': ['counter', 'ops'],
  'transactions.read': ['counter', 'bank', 'ops'],
  /** Confirm or fail; counter and bank only on their own transactions (see mayActOn). */
  'transactions.confirm': ['counter', 'bank', 'ops'],
  /** Rewrite and reverse; counter and bank only on their own transactions (see mayActOn). */
  'transactions.recover': ['counter', 'bank', 'ops'],
  'transactions.admin': ['ops'],
  'cards.ledger': ['counter', 'ops'],
  'cards.cpu': ['counter', 'ops'],
  'catalogues.read': ['counter', 'bank', 'ops'],
  'plugins.read': ['counter', 'ops'],
  'plugins.write': ['ops'],
  'readings.read': ['billing', 'ops'],
  /** Go-live imports (cards, meters) and their batches. */
  'imports.write': ['ops'],
  /** The meter registry (core/meters): ops run the gateways, billing matches readings to customers. */
  'meters.read': ['ops', 'billing'],
} as const satisfies Record<string, readonly Role[]>;

export type Permission = keyof typeof PERMISSIONS;

export function rolesFor(p: Permission): Role[] {
  return [...PERMISSIONS[p]];
}

/** Roles that may handle CPU cards at all (banks never do: seed §1). */
export const CPU_CARD_ROLES: readonly Role[] = ['counter', 'ops'];

/**
 * Acting on one live transaction: confirm (or fail it with a read-back), rewrite, reverse. Ops: any. Counter:
 * only what the same token (its immutable id, never its name: a new token that reuses a revoked token's name
 * inherits nothing) on the same channel created, so a counter recovers its own pulled card without a
 * supervisor, never another counter's sale. Bank: the same, and memory cards only. A row the ledger cannot
 * tie to a token (written before tokens had ids and never matched one) is ops' alone. The ledger separately
 * allows only PREPARED or FAILED writes.
 */
export function mayActOn(
  actor: { tokenId: string; role: Role; channel: string },
  tx: { actor: { tokenId: string | null; channel: string }; cardType: string },
): boolean {
  if (actor.role === 'ops') return true;
  const own = tx.actor.tokenId !== null && tx.actor.tokenId === actor.tokenId && tx.actor.channel === actor.channel;
  if (actor.role === 'counter') return own;
  if (actor.role === 'bank') return own && tx.cardType !== 'cpu';
  return false;
}
