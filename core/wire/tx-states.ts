/**
 * THE transaction state machine: every ledger transaction state, which are live (the card is blocked until
 * they are settled), the actions allowed from each state, where each action runs, and the ordered next steps
 * the ledger, the card service, the console and the counter station tell their users. Every copy of these
 * rules reads this file (CONTRIBUTING.md, "Adding a transaction state or action", lists the readers), and
 * core/ledger/tx-states.test.ts checks the ledger store against it on a real SQLite ledger.
 *
 * No imports, no Node APIs: the ops console (a browser bundle) imports this module as it is.
 */

export const TX_STATES = ['PREPARED', 'CONFIRMED', 'FAILED', 'REVERSED', 'REWRITTEN', 'CANCELLED'] as const;
export type TxState = (typeof TX_STATES)[number];

export interface StateRule {
  /** Live: the card's write is not settled; the card takes no other write until the state is left. */
  live: boolean;
  /** Where the console lists its transactions (lower first): failed, then unconfirmed, then the rest. */
  listOrder: number;
  /** Its place in the console's state filter. */
  menu: number;
  /** The console's tag colour (antd preset names). */
  color: string;
}

export const STATES: Readonly<Record<TxState, StateRule>> = {
  PREPARED: { menu: 0, live: true, listOrder: 1, color: 'gold' },
  FAILED: { menu: 1, live: true, listOrder: 0, color: 'red' },
  CONFIRMED: { menu: 2, live: false, listOrder: 2, color: 'green' },
  REWRITTEN: { menu: 3, live: false, listOrder: 2, color: 'blue' },
  REVERSED: { menu: 4, live: false, listOrder: 2, color: 'default' },
  CANCELLED: { menu: 5, live: false, listOrder: 2, color: 'default' },
};

/** The live states (PREPARED, FAILED): an unsettled write that blocks the card. */
export const LIVE_STATES: readonly TxState[] = TX_STATES.filter((s) => STATES[s].live);

/** The states in the console's filter order. */
export const MENU_STATES: readonly TxState[] = [...TX_STATES].sort((a, b) => STATES[a].menu - STATES[b].menu);

export function isLive(state: string): boolean {
  return (LIVE_STATES as readonly string[]).includes(state);
}

/** What the ledger can be asked to do with a transaction (POST /v1/transactions/:id/<action>). */
export const TX_ACTIONS = ['confirm', 'rewrite', 'reverse', 'cancel-reissue'] as const;
export type TxAction = (typeof TX_ACTIONS)[number];

/**
 * Where the action is started: `station` needs the card in a reader (its read-back goes along), `console` is
 * the ops console (the server decides on the ledger's word; the station may send the same call).
 */
export type ActionSite = 'console' | 'station';

export interface ActionRule {
  /** States the action may leave. */
  from: readonly TxState[];
  /** A repeat in this state answers the transaction as it is (no error): the action already happened. */
  settledIn?: TxState;
  /** The state it leaves the transaction in (confirm: FAILED instead, when the read-back differs). */
  to: TxState;
  /** Only transactions of these base operations. */
  onlyOps?: readonly string[];
  /** Never for transactions of these base operations. */
  notOps?: readonly string[];
  /**
   * What the card's sequence row must say: `pending` the transaction is the card's unconfirmed write,
   * `latest` it is the card's last transaction (nothing was written after it). Transactions without a card
   * (tool cards) pass.
   */
  card?: 'pending' | 'latest';
  where: ActionSite;
}

export const ACTIONS: Readonly<Record<TxAction, ActionRule>> = {
  confirm: {
    from: LIVE_STATES,
    settledIn: 'CONFIRMED',
    to: 'CONFIRMED',
    where: 'station',
  },
  rewrite: {
    from: LIVE_STATES,
    to: 'REWRITTEN',
    card: 'pending',
    where: 'console',
  },
  reverse: {
    from: LIVE_STATES,
    settledIn: 'REVERSED',
    to: 'REVERSED',
    notOps: ['cancel_reissue'],
    card: 'latest',
    where: 'console',
  },
  'cancel-reissue': {
    from: ['PREPARED', 'FAILED', 'CONFIRMED'],
    to: 'CANCELLED',
    onlyOps: ['reissue'],
    card: 'latest',
    where: 'station',
  },
};

/** May `action` leave a transaction in `state` (of base operation `baseOp`)? The card rule is checked apart. */
export function allows(action: TxAction, state: string, baseOp: string): boolean {
  const a = ACTIONS[action];
  if (!(a.from as readonly string[]).includes(state)) return false;
  if (a.onlyOps && !a.onlyOps.includes(baseOp)) return false;
  if (a.notOps?.includes(baseOp)) return false;
  return true;
}

/** The card-row condition of an action: `pending` / `latest` against the card's pending and last transaction. */
export function cardAllows(
  action: TxAction,
  txId: string,
  card: { pending: string | null; last: string | null } | null,
): boolean {
  const need = ACTIONS[action].card;
  if (!need || !card) return true;
  return need === 'pending' ? card.pending === txId : card.last === txId;
}

/** The actions a transaction allows, in table order (the store's checks, on the row and its card). */
export function actionsFor(
  tx: { id: string; state: string; baseOp: string },
  card: { pending: string | null; last: string | null } | null,
): TxAction[] {
  return TX_ACTIONS.filter((a) => allows(a, tx.state, tx.baseOp) && cardAllows(a, tx.id, card));
}

/**
 * A REWRITTEN transaction was replaced by a new PREPARED one: what is left is to confirm the replacement at the
 * station. Not an action on this transaction (the store refuses it here with this hint).
 */
export const REWRITTEN_HINT = {
  state: 'REWRITTEN',
  nextStep: 'confirm-rewrite',
  hint: 'confirm the rewrite transaction that replaced this one',
} as const;

/**
 * The ordered next steps told to a caller, per situation. Each list only names actions the table allows
 * from the ledger state of that situation (tx-states.test.ts checks it), plus `retry`: the station writing the
 * same transaction again, which the ledger never sees.
 */
export type NextStepAction = TxAction | 'retry';

/** What the counter station itself can do about an unfinished write (POST /v1/station/recover). */
export type RecoveryAction = 'retry' | 'confirm' | 'rewrite' | 'reverse';

export const NEXT_STEPS = {
  /** A live write blocks the card (LAST_WRITE_UNCONFIRMED, the card view's pendingTransaction). */
  unsettled: { state: 'PREPARED', steps: ['confirm', 'rewrite', 'reverse'] },
  /** Memory card: the server's check of the read-back failed (WRITE_VERIFY_FAILED), the row is FAILED. */
  memoryVerifyFailed: { state: 'FAILED', steps: ['rewrite', 'reverse'] },
  /** CPU card: the same; confirm stays open, the maker library may have written after all. */
  cpuVerifyFailed: { state: 'FAILED', steps: ['rewrite', 'reverse', 'confirm'] },
} as const satisfies Record<string, { state: TxState; steps: readonly NextStepAction[] }>;

/**
 * The counter station's recoveries after a write that did not finish, by what it knows of the card (best
 * first). The ledger state is PREPARED unless said otherwise.
 */
export const STATION_RECOVERY = {
  /** The card refused the password: never a blind retry; ops reverse. */
  memoryWrongPassword: { state: 'PREPARED', steps: ['reverse'] },
  /** Nothing reached the card. */
  memoryUntouched: { state: 'PREPARED', steps: ['retry', 'reverse'] },
  /** The password may be half-changed: nothing is safe from the station. */
  memoryPasswordUnknown: { state: 'PREPARED', steps: [] },
  /** Part or all of the new data is on the card: write it again, never reverse. */
  memoryPartlyWritten: { state: 'PREPARED', steps: ['retry', 'rewrite'] },
  /** The server refused the read-back (FAILED). */
  memoryConfirmRefused: { state: 'FAILED', steps: ['retry', 'rewrite', 'reverse'] },
  /** The maker library refused the write: nothing written. */
  cpuNotWritten: { state: 'PREPARED', steps: ['retry', 'reverse'] },
  /** The library crashed or hung mid-write: the card must be read first. */
  cpuUnknown: { state: 'PREPARED', steps: ['confirm', 'rewrite', 'reverse'] },
  /** Written, read-back failed. */
  cpuWrittenUnverified: { state: 'PREPARED', steps: ['confirm', 'rewrite'] },
  /** The server refused the read-back (FAILED). */
  cpuConfirmRefused: { state: 'FAILED', steps: ['rewrite', 'reverse', 'confirm'] },
  /** The card is written and verified; the server was not reachable to hear it. */
  confirmPending: { state: 'PREPARED', steps: ['confirm'] },
} as const satisfies Record<string, { state: TxState; steps: readonly RecoveryAction[] }>;

export type StationSituation = keyof typeof STATION_RECOVERY;

/** A fresh, mutable copy of a situation's steps (callers keep them on their pending writes). */
export function recoveryFor(s: StationSituation): RecoveryAction[] {
  return [...STATION_RECOVERY[s].steps];
}

export function nextStepsFor(s: keyof typeof NEXT_STEPS): NextStepAction[] {
  return [...NEXT_STEPS[s].steps];
}
