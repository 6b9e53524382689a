/**
 * Type-level: the server, the station and the console hold the same wire types. `expectTypeOf` fails
 * `npm run typecheck` (tsc over the test files), not the vitest run; the runtime checks below only make sure
 * the file ran.
 */
import { describe, expect, expectTypeOf, it } from 'vitest';
import type { Static } from 'typebox';
import type {
  FeedConsumer as ConsoleFeedConsumer,
  MeterStats as ConsoleMeterStats,
  OpsTx as ConsoleOpsTx,
  SinkStats as ConsoleSinkStats,
} from '../../console/src/api.ts';
import type { MeterStats as BusMeterStats } from '../../gateways/serial/bus-master.ts';
import { listTransactions, type OpsTxRow } from '../server/console/ops-queries.ts';
import { presentTx, type TxView as LedgerTxView } from '../ledger/ledger-present.ts';
import type { TxOp, TxState } from '../ledger/ledger-schema.ts';
import type { ReadingPipeline } from '../readings/pipeline.ts';
import type { FeedConsumer as StoreFeedConsumer, SinkStats as StoreSinkStats } from '../readings/store.ts';
import type { CentralClient, ServerWrite } from '../station/central-client.ts';
import type { CardService, CpuPrepareBody as ServiceCpuPrepareBody } from '../ledger/card-service.ts';
import { CpuPrepareBody, PurchaseBody } from './card-requests.ts';
import { FeedConsumer, MeterStats, OpsTx, SinkStats } from './ops.ts';
import { CardWriteView, TX_OPERATIONS, TX_STATES, TxView } from './transaction.ts';

describe('one wire type per API object', () => {
  it('a transaction: what the ledger presents is the wire view, which the station reads', () => {
    expectTypeOf<LedgerTxView>().toEqualTypeOf<Static<typeof TxView>>();
    expectTypeOf(presentTx).returns.toEqualTypeOf<Static<typeof TxView>>();
    expectTypeOf<ServerWrite>().toEqualTypeOf<Static<typeof CardWriteView>>();
    // A write answer is a transaction view with the card data and keys.
    expectTypeOf<ServerWrite>().toExtend<LedgerTxView>();
    // The ledger's own unions are the published enums.
    expectTypeOf<(typeof TX_OPERATIONS)[number]>().toEqualTypeOf<TxOp>();
    expectTypeOf<(typeof TX_STATES)[number]>().toEqualTypeOf<TxState>();
    expect(TX_STATES).toContain('PREPARED');
  });

  it("the console reads the server's ops types", () => {
    expectTypeOf<ConsoleOpsTx>().toEqualTypeOf<Static<typeof OpsTx>>();
    expectTypeOf<ConsoleOpsTx>().toEqualTypeOf<OpsTxRow>();
    expectTypeOf(listTransactions).returns.resolves.toHaveProperty('transactions').toEqualTypeOf<ConsoleOpsTx[]>();
    expectTypeOf<ConsoleSinkStats>().toEqualTypeOf<Static<typeof SinkStats>>();
    expectTypeOf<ConsoleSinkStats>().toEqualTypeOf<StoreSinkStats>();
    expectTypeOf<ReadingPipeline['stats']>().returns.resolves.toEqualTypeOf<ConsoleSinkStats[]>();
    expectTypeOf<ConsoleFeedConsumer>().toEqualTypeOf<Static<typeof FeedConsumer>>();
    expectTypeOf<ConsoleFeedConsumer>().toEqualTypeOf<StoreFeedConsumer>();
    expectTypeOf<ConsoleMeterStats>().toEqualTypeOf<Static<typeof MeterStats>>();
    expectTypeOf<ConsoleMeterStats>().toEqualTypeOf<BusMeterStats>();
    expect(OpsTx.required).toContain('nextSteps');
  });

  it('request bodies: the handlers take what the schemas admit', () => {
    expectTypeOf<Static<typeof CpuPrepareBody>>().toExtend<ServiceCpuPrepareBody>();
    expectTypeOf<Static<typeof PurchaseBody>>().toExtend<Parameters<CardService['purchase']>[1]>();
    expectTypeOf<CentralClient['call']>().toBeFunction();
    expect(PurchaseBody.required).toEqual(['cardType', 'data', 'cardNo', 'gas']);
  });
});
