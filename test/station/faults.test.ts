/**
 * What goes wrong at a counter, against the simulated reader and a real central server process:
 * a card pulled mid-write (rewrite / retry / reverse), a card swapped between read and write, a wrong card
 * password (exactly one attempt used), the central server down, the reader gone.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Sle4442Image } from '../../core/station/chips/sle4442.ts';
import type { At88sc102Image } from '../../core/station/chips/at88sc102.ts';
import {
  cleanup,
  issueUserCard,
  popcount,
  server,
  startCentral,
  startTestStation,
  type CentralProcess,
  type TestStation,
} from './support.ts';

let central: CentralProcess;
let st: TestStation;
beforeAll(async () => {
  central = await startCentral();
  st = await startTestStation(central);
}, 90_000);
afterAll(async () => {
  await st?.close();
  await central?.stop();
  if (central) cleanup(central.dataDir);
});

const userCard = (maker: string, cardType: '4442' | '102') => issueUserCard(st, { maker, cardType });
const tx = async (id: string) => (await server(central, 'GET', `/v1/transactions/${id}`, central.counterToken)).body;
const reinsert = () => {
  st.sim.insert({ image: st.sim.image()! });
};

describe('card pulled out mid-write', () => {
  it('4442: the operator is told the card is half-written and the ledger PREPARED; rewrite (掉气补气) puts the same data on', async () => {
    const cardNo = await userCard('kingcard', '4442');
    st.sim.pullCardAfterWrites(4); // the password check passes, then the card leaves after a few data bytes
    const r = await st.call('POST', '/v1/station/purchase', { gas: 15 });
    expect(r.status).toBe(409);
    const e = r.body.error;
    expect(e.code).toBe('STATION_WRITE_FAILED');
    expect(e.details).toMatchObject({
      ledgerState: 'PREPARED',
      cardState: 'partially-written',
      failedStep: 'write',
      cause: { code: 'READER_CARD_REMOVED' },
      recovery: ['retry', 'rewrite'],
    });
    expect(e.messageZh).toContain('写卡过程中卡片被拔出');
    expect(e.messageZh).toContain('只写了一部分');
    expect(e.messageZh).toContain(e.details.transactionId);
    expect(e.messageEn).toContain('pulled out during the write');
    const id = e.details.transactionId as string;
    expect((await tx(id)).state).toBe('PREPARED');
    expect((await st.call('GET', '/v1/station/pending')).body.pending).toEqual(
      expect.arrayContaining([expect.objectContaining({ transactionId: id, cardState: 'partially-written' })]),
    );

    // Reverse is refused: part of the new data is on the card.
    reinsert();
    const rev = await st.call('POST', '/v1/station/recover', {
      transactionId: id,
      action: 'reverse',
      supervisorToken: central.opsToken,
    });
    expect(rev.status).toBe(409);
    expect(rev.body.error.code).toBe('STATION_RECOVERY_REFUSED');
    // The counter rewrites its own transaction with the station's token: no supervisor needed.
    const rw = await st.call('POST', '/v1/station/recover', { transactionId: id, action: 'rewrite' });
    expect(rw.status, JSON.stringify(rw.body)).toBe(200);
    expect(rw.body).toMatchObject({ action: 'rewrite', state: 'CONFIRMED', replacedTransactionId: id });
    const newTx = await tx(rw.body.transactionId);
    expect(newTx).toMatchObject({
      operation: 'rewrite',
      state: 'CONFIRMED',
      refId: id,
      gas: 15,
      count: 2,
      actor: { name: 'counter-t', role: 'counter', channel: 'station-sim' },
    });
    expect((await tx(id)).state).toBe('REWRITTEN');
    // The same data as the original transaction is on the card.
    expect((st.sim.image() as Sle4442Image).main.slice(64)).toBe((await tx(id)).data.slice(64));
    expect((await st.call('GET', '/v1/station/card')).body).toMatchObject({
      cardNo,
      gas: 15,
      count: 2,
      ledger: { pendingTransactionId: null },
    });
  });

  it('102: retry (same transaction, no supervisor) finishes the write on the same card', async () => {
    const cardNo = await userCard('zenner', '102');
    st.sim.pullCardAfterWrites(8);
    const r = await st.call('POST', '/v1/station/purchase', { gas: 12 });
    expect(r.status).toBe(409);
    expect(r.body.error.details).toMatchObject({
      cardState: 'partially-written',
      cause: { code: 'READER_CARD_REMOVED' },
    });
    const id = r.body.error.details.transactionId as string;
    const pulled = st.sim.image()!;
    // Another card in the slot is refused for the retry; nothing is written to it.
    await st.call('POST', '/v1/station/sim/insert', { cardType: '102' });
    const other = (st.sim.image() as At88sc102Image).memory;
    const wrong = await st.call('POST', '/v1/station/recover', { transactionId: id, action: 'retry' });
    expect(wrong.status).toBe(409);
    expect(wrong.body.error.details.cause.code).toBe('STATION_CARD_SWAPPED');
    expect((st.sim.image() as At88sc102Image).memory).toBe(other);
    expect(wrong.body.error.details.cardState).toBe('partially-written'); // what the customer's card holds, not the wrong card
    // The original card back: retry completes and confirms the same transaction, no supervisor needed.
    st.sim.insert({ image: pulled });
    const ok = await st.call('POST', '/v1/station/recover', { transactionId: id, action: 'retry' });
    expect(ok.status, JSON.stringify(ok.body)).toBe(200);
    expect(ok.body).toMatchObject({ action: 'retry', transactionId: id, state: 'CONFIRMED' });
    expect((await tx(id)).state).toBe('CONFIRMED');
    expect((await st.call('GET', '/v1/station/card')).body).toMatchObject({ cardNo, gas: 12, count: 2 });
    expect(
      (await st.call('GET', '/v1/station/pending')).body.pending.find(
        (p: { transactionId: string }) => p.transactionId === id,
      ),
    ).toBeUndefined();
  });

  it('nothing reached the card: reverse (冲正) cancels the transaction and the sale can be made again', async () => {
    const cardNo = await userCard('lanbaoshi', '4442');
    const before = st.sim.image() as Sle4442Image;
    st.sim.pullCardAfterWrites(0); // the card leaves at the very first EEPROM write (the password check)
    const r = await st.call('POST', '/v1/station/purchase', { gas: 9 });
    expect(r.status).toBe(409);
    expect(r.body.error.details).toMatchObject({
      cardState: 'untouched',
      ledgerState: 'PREPARED',
      recovery: ['retry', 'reverse'],
    });
    expect(r.body.error.messageZh).toContain('卡片没有被改动');
    const id = r.body.error.details.transactionId as string;
    reinsert();
    expect((st.sim.image() as Sle4442Image).main).toBe(before.main);
    // The counter's own transaction: reversed with the station's token (the card read-back goes along).
    const rev = await st.call('POST', '/v1/station/recover', { transactionId: id, action: 'reverse' });
    expect(rev.status, JSON.stringify(rev.body)).toBe(200);
    expect(rev.body).toMatchObject({ action: 'reverse', state: 'REVERSED', cardSent: true });
    expect((await tx(id)).state).toBe('REVERSED');
    const again = await st.call('POST', '/v1/station/purchase', { gas: 9 });
    expect(again.status, JSON.stringify(again.body)).toBe(200);
    expect(again.body).toMatchObject({ cardNo, count: 2, gas: 9 });
  });
});

describe('card swapped between read and write', () => {
  for (const cardType of ['4442', '102'] as const) {
    it(`${cardType}: detected before writing; nothing is written to either card; the same card back finishes the sale`, async () => {
      const maker = cardType === '4442' ? 'songchuan' : 'kingcard';
      await userCard(maker, cardType);
      const cardA = st.sim.image()!;
      const cardNoB = await userCard(maker, cardType);
      const cardB = st.sim.image()!;
      st.sim.insert({ image: cardA });
      // While the server prepares the sale for card A, the customer's card is swapped for card B.
      const off = st.station.events.subscribe((e) => {
        if (e.type === 'step' && e.step === 'server-prepare' && e.status === 'start') st.sim.insert({ image: cardB });
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
      expect(r.body.error.messageZh).toContain('换成了另一张卡');
      // Card B is exactly as it was: not even a password attempt was spent on it.
      expect(st.sim.image()).toEqual(cardB);
      expect(st.sim.summary()!.attemptsLeft).toBe(cardType === '4442' ? 3 : 4);
      const id = r.body.error.details.transactionId as string;
      expect((await tx(id)).state).toBe('PREPARED');
      // Card B cannot take card A's sale either.
      const wrong = await st.call('POST', '/v1/station/recover', { transactionId: id, action: 'retry' });
      expect(wrong.status).toBe(409);
      expect(st.sim.image()).toEqual(cardB);
      expect((await st.call('GET', '/v1/station/card')).body).toMatchObject({ cardNo: cardNoB });
      // Card A back: the same transaction is written and confirmed.
      st.sim.insert({ image: cardA });
      const ok = await st.call('POST', '/v1/station/recover', { transactionId: id, action: 'retry' });
      expect(ok.status, JSON.stringify(ok.body)).toBe(200);
      expect((await tx(id)).state).toBe('CONFIRMED');
      expect((await st.call('GET', '/v1/station/card')).body).toMatchObject({ gas: 7, count: 2 });
    });
  }
});

describe('wrong card password', () => {
  it('4442: exactly one attempt is used, never retried; the ledger entry is reversed by a supervisor', async () => {
    await userCard('chint', '4442');
    const img = st.sim.image() as Sle4442Image;
    // The same card data under a password the maker's library does not expect.
    const ins = await st.call('POST', '/v1/station/sim/insert', { cardType: '4442', image: img.main, psc: '123456' });
    expect(ins.status).toBe(200);
    const ec0 = (st.sim.image() as Sle4442Image).errorCounter;
    expect(popcount(ec0)).toBe(3);
    const r = await st.call('POST', '/v1/station/purchase', { gas: 5 });
    expect(r.status).toBe(409);
    expect(r.body.error.details).toMatchObject({
      cardState: 'untouched',
      failedStep: 'verify-password',
      attemptsLeft: 2,
      cause: { code: 'READER_WRONG_PASSWORD' },
      recovery: ['reverse'],
    });
    expect(r.body.error.messageZh).toContain('只核对了一次');
    expect(popcount((st.sim.image() as Sle4442Image).errorCounter)).toBe(2);
    const id = r.body.error.details.transactionId as string;

    // Neither a second sale nor a retry checks the password again.
    const again = await st.call('POST', '/v1/station/purchase', { gas: 5 });
    expect(again.status).toBe(423);
    expect(again.body.error.code).toBe('STATION_PASSWORD_BLOCKED');
    const retry = await st.call('POST', '/v1/station/recover', { transactionId: id, action: 'retry' });
    expect(retry.status).toBe(409);
    expect(retry.body.error.code).toBe('STATION_RECOVERY_REFUSED');
    expect(popcount((st.sim.image() as Sle4442Image).errorCounter)).toBe(2);
    expect((st.sim.image() as Sle4442Image).main).toBe(img.main);

    const rev = await st.call('POST', '/v1/station/recover', {
      transactionId: id,
      action: 'reverse',
      supervisorToken: central.opsToken,
    });
    expect(rev.status, JSON.stringify(rev.body)).toBe(200);
    expect((await tx(id)).state).toBe('REVERSED');
    expect(popcount((st.sim.image() as Sle4442Image).errorCounter)).toBe(2);
  });

  it('102: reading the zones checks the password once; the station never tries it again on that card', async () => {
    await userCard('songchuan', '102');
    const img = st.sim.image() as At88sc102Image;
    // Same card, different security code (bytes 10-11).
    const mem = img.memory.slice(0, 20) + '1234' + img.memory.slice(24);
    st.sim.insert({ image: { ...img, memory: mem } });
    const r = await st.call('GET', '/v1/station/card');
    expect(r.status).toBe(403);
    expect(r.body.error).toMatchObject({ code: 'READER_WRONG_PASSWORD', details: { attemptsLeft: 3 } });
    expect(st.sim.summary()!.attemptsLeft).toBe(3);
    for (const call of [
      () => st.call('GET', '/v1/station/card'),
      () => st.call('POST', '/v1/station/purchase', { gas: 3 }),
    ]) {
      const b = await call();
      expect(b.status).toBe(423);
      expect(b.body.error.code).toBe('STATION_PASSWORD_BLOCKED');
    }
    expect(st.sim.summary()!.attemptsLeft).toBe(3);
    expect(JSON.stringify(r.body)).not.toContain('1234');
  });
});

describe('reader gone', () => {
  it('every call says READER_GONE, nothing reaches the ledger; the station reopens the reader when it is back', async () => {
    const cardNo = await userCard('kingcard', '102');
    const before = (await server(central, 'GET', `/v1/transactions?maker=kingcard&cardNo=${cardNo}`)).body.transactions
      .length;
    st.sim.disconnect();
    expect(st.station.events.recent.some((e) => e.type === 'reader.gone')).toBe(true);
    const show = await st.call('GET', '/v1/station/card');
    expect(show.status).toBe(503);
    expect(show.body.error).toMatchObject({
      code: 'READER_GONE',
      messageZh: expect.stringContaining('读卡器'),
      messageEn: expect.stringContaining('reader'),
    });
    const buy = await st.call('POST', '/v1/station/purchase', { gas: 4 });
    expect(buy.status).toBe(503);
    expect(buy.body.error.code).toBe('READER_GONE');
    expect(
      (await server(central, 'GET', `/v1/transactions?maker=kingcard&cardNo=${cardNo}`)).body.transactions.length,
    ).toBe(before);
    st.sim.reconnect();
    st.sim.insert({ image: st.sim.image()! });
    const back = await st.call('POST', '/v1/station/purchase', { gas: 4 });
    expect(back.status, JSON.stringify(back.body)).toBe(200);
    expect(back.body).toMatchObject({ cardNo, count: 2 });
  });
});

describe('central server down', () => {
  it('nothing is written to the card: image, error counter and ledger unchanged', async () => {
    await userCard('kingcard', '4442');
    const img = st.sim.image() as Sle4442Image;
    await central.stop();
    const r = await st.call('POST', '/v1/station/purchase', { gas: 6 });
    expect(r.status).toBe(503);
    expect(r.body.error).toMatchObject({ code: 'STATION_SERVER_UNREACHABLE' });
    expect(r.body.error.messageZh).toContain('卡片未写入任何内容');
    expect(r.body.error.messageEn).toContain('nothing was written');
    expect(st.sim.image()).toEqual(img);
    expect(JSON.stringify(r.body)).not.toContain(central.counterToken);
  });

  it('no token or card key reached the station log during all of the above', () => {
    const all = st.logs.join('');
    expect(all).toContain('card write did not complete');
    expect(all).not.toContain(central.counterToken);
    expect(all).not.toContain(central.opsToken);
    expect(all).not.toMatch(/"(oldKey|newKey|supervisorToken)":"[^[]/);
  });
});
