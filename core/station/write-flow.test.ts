/**
 * The station's write flow is one flow for both card families: the same test body runs for a memory card and a
 * CPU card, through each family's own prepare request and confirm wording (memory-ops.ts, cpu-ops.ts). A fix
 * to the unanswered-prepare memo, the confirm-error mapping or the supervisor branch is made once and holds for
 * both; these tests say so.
 */
import { describe, expect, it } from 'vitest';
import { Forbidden } from '../errors/common-errors.ts';
import { isMeterHubError, type MeterHubError } from '../errors/meterhub-error.ts';
import { WriteVerifyFailed } from '../ledger/ledger-errors.ts';
import { STATION_RECOVERY } from '../wire/tx-states.ts';
import type { CentralClient, ServerWrite } from './central-client.ts';
import { CPU_CONFIRM, cpuPrepare } from './cpu-ops.ts';
import { memoryConfirm, memoryPrepare } from './memory-ops.ts';
import { PendingWrites, type PendingWrite } from './pending-writes.ts';
import { StationServerUnreachable } from './station-errors.ts';
import { OperationProgress, StationEvents } from './station-events.ts';
import {
  adminCall,
  confirmOnServer,
  prepareOnServer,
  UnansweredPrepares,
  type ConfirmFamily,
  type PrepareRequest,
} from './write-flow.ts';

interface Call {
  method: string;
  path: string;
  key: string | undefined;
  token: string | undefined;
}

/** A central server that answers from a script of outcomes, recording each call's Idempotency-Key. */
function scriptedCentral(outcomes: Array<'unreachable' | 'verify-failed' | 'forbidden' | Record<string, unknown>>): {
  central: CentralClient;
  calls: Call[];
} {
  const calls: Call[] = [];
  const central = {
    url: 'http://central.test',
    async call(method: string, path: string, o: { idempotencyKey?: string; token?: string } = {}) {
      calls.push({ method, path, key: o.idempotencyKey, token: o.token });
      const next = outcomes.shift();
      if (next === undefined) throw new Error('unexpected call');
      if (next === 'unreachable') throw StationServerUnreachable({ url: 'http://central.test' });
      if (next === 'verify-failed') throw WriteVerifyFailed({ transactionId: 'tx_1', expected: 'a', actual: 'b' });
      if (next === 'forbidden') throw Forbidden({});
      return next;
    },
  } as unknown as CentralClient;
  return { central, calls };
}

const progress = () => new OperationProgress(new StationEvents(), 'op-1', 'test');
// The fields of the server's write answer that the flow reads; the rest of the view does not matter here.
const answer = (id: string): ServerWrite =>
  ({
    transactionId: id,
    operation: 'purchase',
    state: 'PREPARED',
    maker: 'kingcard',
    cardType: 'x',
    cardNo: '1',
    gas: 5,
    count: 2,
    meterKind: 1,
    data: 'D',
    oldKey: 'K',
    newKey: null,
  }) as ServerWrite;

async function codeOf(p: Promise<unknown>): Promise<MeterHubError> {
  try {
    await p;
  } catch (e) {
    if (isMeterHubError(e)) return e;
    throw e;
  }
  throw new Error('expected an error');
}

const families: Array<{
  name: string;
  prepare: (body: Record<string, unknown> & { operation: string }) => PrepareRequest;
  confirm: ConfirmFamily<never, never>;
  tx: unknown;
  readBack: unknown;
  refused: keyof typeof STATION_RECOVERY;
  extra: Record<string, unknown>;
}> = [
  {
    name: 'memory card',
    prepare: (b) => memoryPrepare('/v1/cards/purchase', b),
    confirm: memoryConfirm(new PendingWrites()) as ConfirmFamily<never, never>,
    tx: { transactionId: 'tx_1', cardState: 'written-verified', recovery: [] } as unknown as PendingWrite,
    readBack: 'A'.repeat(512),
    refused: 'memoryConfirmRefused',
    extra: {},
  },
  {
    name: 'CPU card',
    prepare: (b) => cpuPrepare(b),
    confirm: CPU_CONFIRM as unknown as ConfirmFamily<never, never>,
    tx: { transactionId: 'tx_1' },
    readBack: { kind: 'user', cardNo: '1', gas: 5, count: 2, meterKind: 1 },
    refused: 'cpuConfirmRefused',
    extra: { cardType: 'cpu' },
  },
];

describe.each(families)('station write flow: $name', (f) => {
  it('an unanswered prepare keeps its Idempotency-Key for the repeat; an answered one frees it; another request gets its own', async () => {
    const { central, calls } = scriptedCentral([
      'unreachable',
      'unreachable',
      answer('tx_1'),
      answer('tx_2'),
      answer('tx_3'),
    ]);
    const memo = new UnansweredPrepares(60_000, () => 1_000);
    const sale = f.prepare({ operation: 'purchase', maker: 'kingcard', cardNo: '1', gas: 5 });
    expect((await codeOf(prepareOnServer(progress(), central, memo, sale))).code).toBe('STATION_SERVER_UNREACHABLE');
    expect(memo.size).toBe(1);
    expect((await codeOf(prepareOnServer(progress(), central, memo, sale))).code).toBe('STATION_SERVER_UNREACHABLE');
    const w = await prepareOnServer(progress(), central, memo, sale);
    expect(w.transactionId).toBe('tx_1');
    expect(memo.size).toBe(0);
    // The same sale again, now answered before: a new sale, a new key.
    await prepareOnServer(progress(), central, memo, sale);
    // Another request (other gas) never borrows the key.
    await prepareOnServer(
      progress(),
      central,
      memo,
      f.prepare({ operation: 'purchase', maker: 'kingcard', cardNo: '1', gas: 6 }),
    );
    expect(calls.map((c) => c.path)).toEqual(Array(5).fill(sale.path));
    const keys = calls.map((c) => c.key);
    expect(keys[1]).toBe(keys[0]);
    expect(keys[2]).toBe(keys[0]);
    expect(new Set([keys[0], keys[3], keys[4]]).size).toBe(3);
    expect(keys.every((k) => typeof k === 'string' && k.startsWith('station-'))).toBe(true);
  });

  it("an unanswered key expires: a repeat after the memo's time is a new request", async () => {
    const { central, calls } = scriptedCentral(['unreachable', answer('tx_1')]);
    let now = 1_000;
    const memo = new UnansweredPrepares(60_000, () => now);
    const sale = f.prepare({ operation: 'refund', maker: 'kingcard', cardNo: '1' });
    await codeOf(prepareOnServer(progress(), central, memo, sale));
    now += 60_001;
    await prepareOnServer(progress(), central, memo, sale);
    expect(calls).toHaveLength(2);
    expect(calls[1]!.key).not.toBe(calls[0]!.key);
  });

  it("confirm: an unreachable server leaves PREPARED with confirm as the recovery; a refused read-back is FAILED with the table's recoveries", async () => {
    const { central, calls } = scriptedCentral(['unreachable', 'verify-failed', { state: 'CONFIRMED' }]);
    const pending = await codeOf(confirmOnServer(progress(), central, f.confirm, f.tx as never, f.readBack as never));
    expect(pending.code).toBe('STATION_CONFIRM_PENDING');
    expect(pending.details).toEqual({
      transactionId: 'tx_1',
      ledgerState: 'PREPARED',
      ...f.extra,
      cardState: 'written-verified',
      recovery: ['confirm'],
    });
    const refused = await codeOf(confirmOnServer(progress(), central, f.confirm, f.tx as never, f.readBack as never));
    expect(refused.code).toBe('STATION_CONFIRM_REFUSED');
    expect(refused.details).toMatchObject({
      transactionId: 'tx_1',
      ledgerState: 'FAILED',
      ...f.extra,
      cardState: 'written-unverified',
      recovery: [...STATION_RECOVERY[f.refused].steps],
    });
    expect(refused.zh).toContain('tx_1');
    const ok = await confirmOnServer(progress(), central, f.confirm, f.tx as never, f.readBack as never);
    expect(ok.state).toBe('CONFIRMED');
    // One key per read-back: the same read-back confirmed again is the same request.
    expect(calls.map((c) => c.path)).toEqual(Array(3).fill('/v1/transactions/tx_1/confirm'));
    expect(new Set(calls.map((c) => c.key)).size).toBe(1);
  });
});

describe('station write flow: the supervisor branch', () => {
  it('a rewrite/reverse the server refuses for rights asks for the supervisor; the supervisor token goes along', async () => {
    const { central, calls } = scriptedCentral(['forbidden', { state: 'REVERSED' }]);
    const e = await codeOf(adminCall(central, '/v1/transactions/tx_1/reverse', undefined, {}, 'k1'));
    expect(e.code).toBe('STATION_NEEDS_SUPERVISOR');
    expect(e.details).toMatchObject({ serverCode: 'FORBIDDEN' });
    expect(await adminCall(central, '/v1/transactions/tx_1/reverse', 'sup-token-123', {}, 'k1')).toEqual({
      state: 'REVERSED',
    });
    expect(calls.map((c) => c.token)).toEqual([undefined, 'sup-token-123']);
  });
});
