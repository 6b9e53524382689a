/**
 * Who may do what. One table, so a reviewer sees the whole policy at once.
 *  - counter: the gas company's counter (all memory-card work, confirm, catalogues);
 *  - bank: sells gas on memory cards only — identify, read, purchase, confirm; never CPU cards, never ops routes;
 *  - ops: everything a counter does, plus plugin enable/disable and transaction administration
 *    (rewrite 掉气补气, reverse 冲正, cancel a replacement 补卡撤销);
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
  'transactions.read': ['counter', 'bank', 'ops'],
  'transactions.confirm': ['counter', 'bank', 'ops'],
  'transactions.admin': ['ops'],
  'catalogues.read': ['counter', 'bank', 'ops'],
  'plugins.read': ['counter', 'ops'],
  'plugins.write': ['ops'],
  'readings.read': ['billing', 'ops'],
} as const satisfies Record<string, readonly Role[]>;

export type Permission = keyof typeof PERMISSIONS;

export function rolesFor(p: Permission): Role[] {
  return [...PERMISSIONS[p]];
}

/** Roles that may handle CPU cards at all (banks never do: seed §1). */
export const CPU_CARD_ROLES: readonly Role[] = ['counter', 'ops'];
