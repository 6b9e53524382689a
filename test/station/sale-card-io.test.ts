/**
 * The card I/O of a sale at the counter (issue 17): read the card (GET /v1/station/card), then sell
 * (POST /v1/station/purchase), counted per reader call on the simulated reader — counts, never time.
 * And what the cuts must not weaken: a card swapped between the read and the write is refused (whether the reader
 * saw the swap or not), an image read from one card is never written onto another, and a write whose read-back
 * differs is caught before the ledger confirms it.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Sle4442Image } from '../../core/station/chips/sle4442.ts';
import { SimReader } from '../../core/station/readers/sim/sim-reader.ts';
import {
  cleanup,
  freshCardNo,
  issueUserCard,
  popcount,
  server,
  startCentral,
  startTestStation,
  type CentralProcess,
  type TestStation,
} from './support.ts';

type Call = { method: string; args: unknown[] };

/** The reader the station gets: the sim, with every call recorded and two test hooks. */
const sim = new SimReader();
const calls: Call[] = [];
const hooks: {
  /** When set, insertionId answers this: a reader that did not notice a swap (a polling reader between polls). */
  frozenInsertion?: number | null;
  /** Returns a changed copy of what a read4442 after a write answered (a card that did not keep what was written). */
  corruptReadAfterWrite?: (offset: number, bytes: Uint8Array) => Uint8Array;
} = {};
let wroteSinceRead = false;
const reader = new Proxy(sim, {
  get(target, prop) {
    if (prop === 'insertionId' && hooks.frozenInsertion !== undefined) return () => hooks.frozenInsertion;
    const v = Reflect.get(target, prop, target) as unknown;
    if (typeof v !== 'function') return v;
    const fn = (v as (...a: unknown[]) => unknown).bind(target);
    if (typeof prop !== 'string' || !(prop in LOGGED)) return fn;
    return async (...args: unknown[]) => {
      calls.push({ method: prop, args });
      const r = await (fn(...args) as Promise<unknown>);
      if (prop === 'write4442') wroteSinceRead = true;
      if (prop === 'read4442' && wroteSinceRead && hooks.corruptReadAfterWrite)
        return hooks.corruptReadAfterWrite(args[0] as number, r as Uint8Array);
      return r;
    };
  },
});
const LOGGED = Object.fromEntries(
  [
    'detectCard',
    'identify',
    'read4442',
    'readErrorCounter4442',
    'readProtection4442',
    'verify4442',
    'write4442',
    'changePsc4442',
  ].map((m) => [m, true]),
);

let central: CentralProcess;
let st: TestStation;
beforeAll(async () => {
  central = await startCentral();
  st = await startTestStation(central, { reader });
}, 90_000);
afterAll(async () => {
  await st?.close();
  await central?.stop();
  if (central) cleanup(central.dataDir);
});
beforeEach(() => {
  delete hooks.frozenInsertion;
  delete hooks.corruptReadAfterWrite;
});

const tx = async (id: string) => (await server(central, 'GET', `/v1/transactions/${id}`, central.counterToken)).body;

/** A kingcard 4442 user card whose gas the meter has taken: ready for a sale. */
const userCard = () => issueUserCard(st, { maker: 'kingcard', cardType: '4442', cardNo: freshCardNo('47') });

function reset(): void {
  calls.length = 0;
  wroteSinceRead = false;
}
const count = (m: string) => calls.filter((c) => c.method === m).length;
const fullReads = () => calls.filter((c) => c.method === 'read4442' && c.args[0] === 0 && c.args[1] === 256).length;
const main = () => (sim.image() as Sle4442Image).main;

/** Card byte indexes where two 512-hex images differ. */
function changed(a: string, b: string): number[] {
  const out: number[] = [];
  for (let i = 0; i < 256; i++) if (a.slice(2 * i, 2 * i + 2) !== b.slice(2 * i, 2 * i + 2)) out.push(i);
  return out;
}

describe('card I/O of a sale (4442)', () => {
  it('read, then sell: one whole-card read, one detectCard per step, only changed bytes written and read back', async () => {
    const cardNo = await userCard();
    reset();
    const read = await st.call('GET', '/v1/station/card');
    expect(read.status, JSON.stringify(read.body)).toBe(200);
    expect(read.body).toMatchObject({ kind: 'user', cardNo });
    // The read: the card type once, the whole card once (its per-card code comes with it), counter and protection.
    expect(calls.map((c) => c.method)).toEqual([
      'detectCard',
      'read4442',
      'readErrorCounter4442',
      'readProtection4442',
    ]);
    const before = main();
    reset();
    const buy = await st.call('POST', '/v1/station/purchase', { gas: 6 });
    expect(buy.status, JSON.stringify(buy.body)).toBe(200);
    expect(buy.body).toMatchObject({ cardNo, gas: 6, count: 2, state: 'CONFIRMED' });
    const after = main();
    // The purchase reuses the read's image: no whole-card read at all. Same-card check: type + 6-byte code.
    expect(fullReads()).toBe(0);
    expect(count('detectCard')).toBe(2); // the operation's, and the same-card check right before the write
    expect(calls.find((c) => c.method === 'read4442')?.args).toEqual([0x15, 6]);
    expect(count('readErrorCounter4442')).toBe(1);
    expect(count('verify4442')).toBe(1);
    expect(count('readProtection4442')).toBe(0);
    // Written: exactly the bytes that changed, each once.
    const writes = calls.filter((c) => c.method === 'write4442');
    const written = writes.flatMap((w) =>
      Array.from({ length: (w.args[1] as Uint8Array).length }, (_, i) => (w.args[0] as number) + i),
    );
    expect(written.length).toBeGreaterThan(0);
    expect(written).toEqual(changed(before, after));
    // Read back: one read from the first written byte to the last, after the last write.
    const lastWrite = calls.lastIndexOf(writes[writes.length - 1]!);
    const backs = calls.slice(lastWrite + 1).filter((c) => c.method === 'read4442');
    expect(backs.map((c) => c.args)).toEqual([[written[0], written[written.length - 1]! - written[0]! + 1]]);
    expect(calls).toHaveLength(2 + 1 + 1 + 1 + writes.length + 1);
    // The ledger confirmed what the card holds.
    expect((await tx(buy.body.transactionId)).state).toBe('CONFIRMED');
    expect((await st.call('GET', '/v1/station/card')).body).toMatchObject({ cardNo, gas: 6, count: 2 });
  });

  it('a sale without a read before it reads the whole card once, and a second sale reads it afresh', async () => {
    const cardNo = await userCard();
    reset();
    const buy = await st.call('POST', '/v1/station/purchase', { gas: 4 });
    expect(buy.status, JSON.stringify(buy.body)).toBe(200);
    expect(fullReads()).toBe(1);
    expect(count('detectCard')).toBe(2);
    // The image is used once: the card changed with the sale, so the next operation reads it again.
    expect((await st.call('POST', '/v1/station/sim/meter', {})).status).toBe(200);
    reset();
    const again = await st.call('POST', '/v1/station/purchase', { gas: 5 });
    expect(again.status, JSON.stringify(again.body)).toBe(200);
    expect(again.body).toMatchObject({ cardNo, count: 3, gas: 5 });
    expect(fullReads()).toBe(1);
  });
});

describe('the cuts keep the card safe', () => {
  it('card swapped after the read, during the prepare: refused, the other card untouched', async () => {
    await userCard();
    const cardA = sim.image()!;
    const cardNoB = await userCard();
    const cardB = sim.image()!;
    sim.insert({ image: cardA });
    expect((await st.call('GET', '/v1/station/card')).status).toBe(200);
    const off = st.station.events.subscribe((e) => {
      if (e.type === 'step' && e.step === 'server-prepare' && e.status === 'start') sim.insert({ image: cardB });
    });
    const r = await st.call('POST', '/v1/station/purchase', { gas: 7 });
    off();
    expect(r.status).toBe(409);
    expect(r.body.error.details).toMatchObject({
      cardState: 'untouched',
      failedStep: 'check-card',
      cause: { code: 'STATION_CARD_SWAPPED' },
      bytesWritten: 0,
    });
    expect(sim.image()).toEqual(cardB);
    expect(popcount((sim.image() as Sle4442Image).errorCounter)).toBe(3);
    expect((await tx(r.body.error.details.transactionId)).state).toBe('PREPARED');
    expect((await st.call('GET', '/v1/station/card')).body).toMatchObject({ cardNo: cardNoB, count: 1 });
  });

  it('a swap the reader did not notice (same insertion id) is caught by the per-card code; nothing written', async () => {
    await userCard();
    const cardA = sim.image()!;
    await userCard();
    const cardB = sim.image()!;
    sim.insert({ image: cardA });
    hooks.frozenInsertion = 7;
    expect((await st.call('GET', '/v1/station/card')).status).toBe(200);
    // Swapped between the read and the sale, too fast for a polling reader to see.
    sim.insert({ image: cardB });
    reset();
    const r = await st.call('POST', '/v1/station/purchase', { gas: 7 });
    expect(r.status).toBe(409);
    expect(r.body.error.details).toMatchObject({
      cardState: 'untouched',
      cause: { code: 'STATION_CARD_SWAPPED' },
      bytesWritten: 0,
    });
    expect(count('verify4442')).toBe(0);
    expect(sim.image()).toEqual(cardB);
  });

  it('a swap between the read and the sale that the reader saw: the sale reads the card in the slot, never the old image', async () => {
    const cardNoA = await userCard();
    const cardA = sim.image()!;
    const cardNoB = await userCard();
    const cardB = sim.image()!;
    sim.insert({ image: cardA });
    expect((await st.call('GET', '/v1/station/card')).body).toMatchObject({ cardNo: cardNoA });
    sim.insert({ image: cardB });
    reset();
    const r = await st.call('POST', '/v1/station/purchase', { gas: 3 });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body).toMatchObject({ cardNo: cardNoB, count: 2, gas: 3 });
    expect(fullReads()).toBe(1);
    // Card B carries B's own sale; card A was not written.
    const bAfter = sim.image()!;
    expect(bAfter).not.toEqual(cardB);
    sim.insert({ image: cardA });
    expect((await st.call('GET', '/v1/station/card')).body).toMatchObject({ cardNo: cardNoA, count: 1 });
    sim.insert({ image: bAfter });
    expect((await st.call('GET', '/v1/station/card')).body).toMatchObject({ cardNo: cardNoB, count: 2, gas: 3 });
  });

  it('a write whose read-back differs is caught: written-unverified, the ledger not confirmed', async () => {
    await userCard();
    expect((await st.call('GET', '/v1/station/card')).status).toBe(200);
    // The card answers one bit different in the last byte the read-back covers.
    hooks.corruptReadAfterWrite = (_offset, bytes) => {
      const b = bytes.slice();
      b[b.length - 1] = b[b.length - 1]! ^ 0x01;
      return b;
    };
    reset();
    const r = await st.call('POST', '/v1/station/purchase', { gas: 8 });
    expect(r.status).toBe(409);
    expect(r.body.error.code).toBe('STATION_WRITE_FAILED');
    expect(r.body.error.details).toMatchObject({
      failedStep: 'read-back',
      cardState: 'written-unverified',
      ledgerState: 'PREPARED',
      cause: { code: 'READER_VERIFY_MISMATCH' },
    });
    expect((await tx(r.body.error.details.transactionId)).state).toBe('PREPARED');
  });
});
