/**
 * The state machine's table (tx-states.ts) walked, then held against the real ledger store on SQLite: every
 * action tried from every state must be accepted exactly when the table allows it, end in the table's state,
 * and the console must offer exactly the actions the store accepts. A rule changed in the store but not in the
 * table (or the other way round) fails here.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listTransactions } from '../server/console/ops-queries.ts';
import { KeyVault } from './key-vault.ts';
import { LedgerStore, type Actor, type CardWriteOut } from './ledger-store.ts';
import { openTestDatabase, type TestDatabase } from './testing/databases.ts';
import {
  ACTIONS,
  allows,
  isLive,
  LIVE_STATES,
  MENU_STATES,
  NEXT_STEPS,
  STATES,
  STATION_RECOVERY,
  TX_ACTIONS,
  TX_STATES,
  type TxAction,
  type TxState,
} from '../wire/tx-states.ts';

const ops: Actor = { name: 'ops-1', role: 'ops', channel: 'ops' };
const counter: Actor = { name: 'counter-1', role: 'counter', channel: 'counter' };
const M = 'kingcard';
let seq = 0;
const nextCardNo = () => `8${Date.now() % 100000}${String(++seq).padStart(4, '0')}`;
const write = (tag: string): CardWriteOut => ({
  data: `DATA-${tag}`,
  oldKey: `OK${tag}`.slice(0, 6),
  newKey: `NK${tag}`.slice(0, 6),
});

/** Every transition the table names, plus confirm's other outcome (a read-back that differs: FAILED). */
function transitions(): Array<[TxState, TxState]> {
  const out: Array<[TxState, TxState]> = [];
  for (const a of TX_ACTIONS) for (const s of ACTIONS[a].from) out.push([s, ACTIONS[a].to]);
  for (const s of ACTIONS.confirm.from) out.push([s, 'FAILED']);
  return out;
}

describe('the transaction state table', () => {
  it('every state is reachable from a new write (PREPARED) or an adoption (CONFIRMED)', () => {
    const seen = new Set<TxState>(['PREPARED', 'CONFIRMED']);
    for (let grew = true; grew;) {
      grew = false;
      for (const [from, to] of transitions())
        if (seen.has(from) && !seen.has(to)) {
          seen.add(to);
          grew = true;
        }
    }
    expect([...seen].sort()).toEqual([...TX_STATES].sort());
  });

  it('every live state has a way out to a settled state, and settled states take no action but cancel-reissue', () => {
    expect(LIVE_STATES).toEqual(['PREPARED', 'FAILED']);
    for (const s of LIVE_STATES) {
      const exits = transitions().filter(([from, to]) => from === s && !isLive(to));
      expect(exits.length, s).toBeGreaterThan(0);
    }
    for (const s of TX_STATES.filter((x) => !isLive(x))) {
      expect(
        TX_ACTIONS.filter((a) => allows(a, s, 'reissue')),
        s,
      ).toEqual(s === 'CONFIRMED' ? ['cancel-reissue'] : []);
    }
  });

  it('every next-step and station recovery list names only actions the table allows from its ledger state', () => {
    for (const [name, { state, steps }] of Object.entries({ ...NEXT_STEPS, ...STATION_RECOVERY })) {
      for (const step of steps) {
        if (step === 'retry') continue; // the station writing the same transaction again: the ledger never sees it
        expect(allows(step, state, 'purchase'), `${name}: ${step} from ${state}`).toBe(true);
      }
    }
  });

  it('the console lists and filters every state once', () => {
    expect([...MENU_STATES].sort()).toEqual([...TX_STATES].sort());
    expect(new Set(TX_STATES.map((s) => STATES[s].menu)).size).toBe(TX_STATES.length);
    // Failed first, then unconfirmed, then the rest.
    expect(STATES.FAILED.listOrder).toBeLessThan(STATES.PREPARED.listOrder);
    for (const s of TX_STATES.filter((x) => !isLive(x)))
      expect(STATES[s].listOrder).toBeGreaterThan(STATES.PREPARED.listOrder);
  });
});

/** Base operations with rules of their own in the table (issue stands for every plain card write). */
const OPS = ['issue', 'reissue', 'cancel_reissue'] as const;
type Op = (typeof OPS)[number];

describe('the ledger store agrees with the table (SQLite)', () => {
  let t: TestDatabase;
  let store: LedgerStore;

  beforeAll(async () => {
    t = await openTestDatabase('sqlite');
    store = new LedgerStore(t.database, KeyVault.random());
  });
  afterAll(async () => {
    await t?.cleanup();
  });

  /**
   * A fresh transaction of base operation `op` brought to `state` through the store's own calls; null if none
   * can be.
   */
  async function inState(op: Op, state: TxState): Promise<{ id: string; cardNo: string } | null> {
    const cardNo = nextCardNo();
    const issue = await store.commitIssue({
      actor: counter,
      maker: M,
      cardType: '4442',
      cardNo,
      gas: 10,
      count: 1,
      meterKind: 1,
      write: write('I'),
    });
    let id = issue.transactionId!;
    if (op !== 'issue') {
      await store.confirm(id, { ok: true });
      id = (
        await store.commitReissue({
          actor: counter,
          maker: M,
          cardType: '4442',
          cardNo,
          gas: 0,
          count: 1,
          meterKind: 1,
          write: write('R'),
        })
      ).transactionId!;
    }
    if (op === 'cancel_reissue') id = (await store.cancelReissue(id, { actor: ops, write: write('C') })).transactionId!;
    // A state the table gives no way into for this operation is skipped (the other operations cover it).
    if (state === 'REVERSED' && !allows('reverse', 'PREPARED', op)) return null;
    if (state === 'CANCELLED' && !allows('cancel-reissue', 'PREPARED', op)) return null;
    switch (state) {
      case 'PREPARED':
        break;
      case 'FAILED':
        await store.confirm(id, { ok: false, code: 'WRITE_VERIFY_FAILED', message: 'differs' });
        break;
      case 'CONFIRMED':
        await store.confirm(id, { ok: true });
        break;
      case 'REVERSED':
        await store.reverse(id, ops);
        break;
      case 'REWRITTEN':
        await store.rewrite(id, ops);
        break;
      case 'CANCELLED':
        await store.cancelReissue(id, { actor: ops, write: write('C') });
        break;
    }
    expect((await store.get(id)).state).toBe(state);
    return { id, cardNo };
  }

  async function attempt(action: TxAction, id: string): Promise<string> {
    try {
      if (action === 'confirm') await store.confirm(id, { ok: true });
      if (action === 'rewrite') await store.rewrite(id, ops);
      if (action === 'reverse') await store.reverse(id, ops);
      if (action === 'cancel-reissue') await store.cancelReissue(id, { actor: ops, write: write('C') });
      return 'OK';
    } catch (e) {
      return (e as { code?: string }).code ?? String(e);
    }
  }

  for (const op of OPS) {
    for (const state of TX_STATES) {
      it(`${op} in ${state}: the store accepts exactly the table's actions, and the console offers them`, async () => {
        const tried: string[] = [];
        for (const action of TX_ACTIONS) {
          const tx = await inState(op, state);
          if (!tx) return;
          const before = (await listTransactions(t.database, { cardNo: tx.cardNo })).transactions.find(
            (r) => r.transactionId === tx.id,
          )!;
          const offered = before.nextSteps.map((s) => s.action).filter((a) => a !== 'confirm-rewrite');
          const got = await attempt(action, tx.id);
          const after = (await store.get(tx.id)).state;
          const rule = ACTIONS[action];
          const repeat = rule.settledIn === state;
          tried.push(`${action}:${got}`);
          if (allows(action, state, op) || repeat) {
            expect(got, `${action} from ${state}`).toBe('OK');
            expect(after, `${action} from ${state}`).toBe(repeat ? state : rule.to);
          } else {
            expect(got, `${action} from ${state}`).toBe('TRANSACTION_STATE');
            expect(after).toBe(state);
          }
          // The console offers what the store accepts as a change (a repeat is no step to offer).
          expect(offered.includes(action), `console offers ${action} from ${state}`).toBe(got === 'OK' && !repeat);
        }
        expect(tried).toHaveLength(TX_ACTIONS.length);
      });
    }
  }
});
