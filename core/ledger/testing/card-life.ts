/**
 * Steps of a card's life that ledger tests share, on real stand-in libraries (替身库) in driver hosts: a card
 * issued, confirmed and taken by the meter, and the requests a sale sends to each maker's host.
 */
import type { HostedCardDriver } from '../../driver/driver-client.ts';
import type { PluginHost } from '../../plugins/plugin-types.ts';
import { meterWriteBack } from '../../testing/stand-in-meter.ts';
import type { CardService } from '../card-service.ts';
import type { Actor } from '../ledger-store.ts';

/** An issued, confirmed 4442 card the meter has taken: ready for its first sale (card and ledger count 1). */
export async function readyCard(
  svc: CardService,
  actor: Actor,
  maker: string,
  cardNo: string,
): Promise<{ cardNo: string; data: string }> {
  const w = await svc.issue(actor, { maker, cardType: '4442', cardNo, gas: 0, meterKind: 1 });
  const data = w.body.data as string;
  await svc.confirm(w.transactionId!, { data });
  return { cardNo, data: meterWriteBack(maker, '4442', data) };
}

/** Requests in each pipe write to `maker`'s driver host while `f` runs (one entry per write). */
export async function hostWrites(host: PluginHost, maker: string, f: () => Promise<unknown>): Promise<number[]> {
  const sup = (host.driver(maker) as HostedCardDriver).supervisor;
  const writes: number[] = [];
  const on = (w: { requests: number }) => writes.push(w.requests);
  sup.on('write', on);
  try {
    await f();
  } finally {
    sup.off('write', on);
  }
  return writes;
}
