/**
 * A sale asks the maker library three things in a row: whose card is this (判卡, every enabled maker), what
 * does it hold (Read), and what must be written (Buy, count = card count + 1). Each step waits for the one
 * before, and each wakes the maker's driver host again, which costs far more than the library call.
 *
 * Memory-card library calls are pure computations (the client writes the card, not the library), so the Read
 * and the Buy can be asked *ahead*, together with the 判卡 Checks, in the same pipe write: the ledger already
 * knows which maker sold this card number and at which count. Nothing is decided on the guess — 判卡 still
 * asks every maker and refuses to guess; the early answers are used only when 判卡 names the same maker and
 * the card's own count is the one the Buy was computed with; otherwise they are dropped and the calls made as
 * usual. Using them is therefore exactly the usual sale with the waiting taken out.
 */
import type { MemoryCardType } from '../cards/card-types.ts';
import type { CardDriver, ReadResult, WriteResult } from '../driver/card-driver.ts';
import type { PluginHost } from '../plugins/plugin-types.ts';
import type { LedgerCardRow } from './ledger-schema.ts';
import type { LedgerStore } from './ledger-store.ts';

export interface SaleAhead {
  maker: string;
  driver: CardDriver;
  /** The count the early Buy is computed with (ledger count + 1). */
  count: number;
  /** The card's sequence row as read here (handed to the commit as `seen`, a guess it checks). */
  card: LedgerCardRow;
  /**
   * Asks Read and Buy now. Call it in the same synchronous run as 判卡, so that the maker's host gets its
   * Check, Read and Buy in one write (the supervisor sends what is queued at the end of the event-loop turn).
   */
  start(): { read: Promise<ReadResult>; buy: Promise<WriteResult> };
}

/** Keeps an early answer's failure from being an unhandled rejection when the answer is never used. */
function quiet<T>(p: Promise<T>): Promise<T> {
  p.catch(() => {});
  return p;
}

/**
 * The one enabled maker whose ledger holds this card number with nothing pending, ready to ask Read and Buy;
 * undefined when there is no such single maker (new to the ledger, a number two makers share, a write
 * unconfirmed — that sale is refused anyway).
 */
export async function saleAhead(
  host: PluginHost,
  store: LedgerStore,
  cardType: MemoryCardType,
  data: string,
  cardNo: string,
  gas: number,
): Promise<SaleAhead | undefined> {
  const makers = host.enabledFor(cardType);
  if (makers.length === 0) return undefined;
  let rows: Awaited<ReturnType<LedgerStore['cardsByNumber']>>;
  try {
    rows = await store.cardsByNumber(cardNo, makers);
  } catch {
    // A guess never fails a sale: without it the sale goes the usual way (and meets the database at its commit).
    return undefined;
  }
  if (rows.length !== 1) return undefined;
  const row = rows[0]!;
  if (row.status !== 'active' || row.pending_tx_id !== null) return undefined;
  let driver: CardDriver;
  try {
    driver = host.driver(row.maker);
  } catch {
    return undefined;
  }
  const count = row.count + 1;
  return {
    maker: row.maker,
    driver,
    count,
    card: row,
    start: () => ({
      read: quiet(driver.read(cardType, data)),
      buy: quiet(driver.buy(cardType, { source: data, cardNo, gas, count })),
    }),
  };
}
