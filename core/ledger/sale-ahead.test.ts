/**
 * Sale-ahead (sale-ahead.ts) against the real stand-in libraries (替身库) in driver hosts and a real SQLite
 * ledger: the maker's host gets 判卡, Read and Buy in one write; the answer is the Buy the library computes for
 * the card's own count; and when the guess is wrong, or the card disagrees with the ledger, the sale ends
 * exactly as it does without asking ahead.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { createPluginHost } from '../plugins/plugin-host.ts';
import type { PluginHost } from '../plugins/plugin-types.ts';
import { outcomeOf as codeOf } from '../testing/outcome.ts';
import { meterWriteBack } from '../testing/stand-in-meter.ts';
import { CardService } from './card-service.ts';
import { KeyVault } from './key-vault.ts';
import { LedgerStore, type Actor } from './ledger-store.ts';
import { hostWrites, readyCard as ready } from './testing/card-life.ts';
import { openTestDatabase, type TestDatabase } from './testing/databases.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const counter: Actor = { name: 'counter-sa', role: 'counter', channel: 'counter' };
let seq = 0;
const cardNo = () => `77${Date.now() % 1_000_000}${String(++seq).padStart(3, '0')}`;

let t: TestDatabase;
let host: PluginHost;
let ahead: CardService;
let plain: CardService;

beforeAll(async () => {
  t = await openTestDatabase('sqlite');
  host = await createPluginHost({ bundledDir: join(ROOT, 'plugins'), ignoreEnv: true, dataDir: t.dir });
  const store = new LedgerStore(t.database, KeyVault.random());
  ahead = new CardService({ host, store });
  plain = new CardService({ host, store, saleAhead: false });
});
afterAll(async () => {
  await host?.close();
  await t?.cleanup();
});

const readyCard = (maker: string, no = cardNo()) => ready(ahead, counter, maker, no);
const writesTo = (maker: string, f: () => Promise<unknown>) => hostWrites(host, maker, f);

describe('sale ahead', () => {
  it("sends 判卡, Read and Buy to the maker in one write, and answers with the Buy for the card's own count", async () => {
    const c = await readyCard('kingcard');
    const expected = await host.driver('kingcard').buy('4442', { source: c.data, cardNo: c.cardNo, gas: 12, count: 2 });
    let r: Awaited<ReturnType<CardService['purchase']>> | undefined;
    const writes = await writesTo('kingcard', async () => {
      r = await ahead.purchase(counter, { cardType: '4442', data: c.data, cardNo: c.cardNo, gas: 12 });
    });
    expect(writes).toEqual([3]);
    expect(r!.status).toBe(201);
    expect(r!.body).toMatchObject({
      count: 2,
      gas: 12,
      data: expected.data,
      oldKey: expected.oldKey,
      newKey: expected.newKey,
    });
  });

  it('without it the same sale takes three writes, one per step', async () => {
    const c = await readyCard('kingcard');
    const writes = await writesTo('kingcard', () =>
      plain.purchase(counter, { cardType: '4442', data: c.data, cardNo: c.cardNo, gas: 12 }),
    );
    expect(writes).toEqual([1, 1, 1]);
  });

  it('a wrong guess changes nothing: the ledger knows the number only under another maker', async () => {
    // lanbaoshi sold this number; the card in hand is kingcard's with the same number, unknown to the ledger.
    const other = await readyCard('lanbaoshi');
    const w = await host.driver('kingcard').writeNew('4442', { cardNo: other.cardNo, gas: 0, count: 1, meterKind: 1 });
    const data = meterWriteBack('kingcard', '4442', w.data);
    const asked = await writesTo('lanbaoshi', async () => {
      expect(await codeOf(ahead.purchase(counter, { cardType: '4442', data, cardNo: other.cardNo, gas: 5 }))).toBe(
        'CARD_NOT_IN_LEDGER',
      );
    });
    // lanbaoshi was asked ahead (its Check, Read and Buy), and its answers were dropped.
    expect(asked).toEqual([3]);
    expect(await codeOf(plain.purchase(counter, { cardType: '4442', data, cardNo: other.cardNo, gas: 5 }))).toBe(
      'CARD_NOT_IN_LEDGER',
    );
    // The lanbaoshi card itself still sells normally.
    expect(
      (await ahead.purchase(counter, { cardType: '4442', data: other.data, cardNo: other.cardNo, gas: 5 })).status,
    ).toBe(201);
  });

  it("a card whose count is not the ledger's is refused as without it (the early Buy is not used)", async () => {
    const c = await readyCard('kingcard');
    const sold = await ahead.purchase(counter, { cardType: '4442', data: c.data, cardNo: c.cardNo, gas: 8 });
    await ahead.confirm(sold.transactionId!, { data: sold.body.data as string });
    // The card as it was before that sale (count 1); the ledger is at count 2.
    const withAhead = await codeOf(
      ahead.purchase(counter, { cardType: '4442', data: c.data, cardNo: c.cardNo, gas: 8 }),
    );
    const without = await codeOf(plain.purchase(counter, { cardType: '4442', data: c.data, cardNo: c.cardNo, gas: 8 }));
    expect(withAhead).toBe('COUNT_MISMATCH');
    expect(without).toBe('COUNT_MISMATCH');
  });

  it('a write still unconfirmed: nothing is asked ahead, and the sale is refused', async () => {
    const c = await readyCard('kingcard');
    await ahead.purchase(counter, { cardType: '4442', data: c.data, cardNo: c.cardNo, gas: 8 });
    const writes = await writesTo('kingcard', async () => {
      expect(await codeOf(ahead.purchase(counter, { cardType: '4442', data: c.data, cardNo: c.cardNo, gas: 8 }))).toBe(
        'LAST_WRITE_UNCONFIRMED',
      );
    });
    // Nothing asked ahead: 判卡 answers from its cache (the same image, seconds ago), then Read, then Buy, one
    // write each; the commit refuses the sale.
    expect(writes).toEqual([1, 1]);
  });
});
