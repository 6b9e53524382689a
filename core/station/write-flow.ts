/**
 * The station's one write flow, shared by both card families (memory-ops.ts, cpu-ops.ts):
 *   prepare on the server (an unanswered prepare keeps its Idempotency-Key, so a repeat gets the same row)
 *   → the family writes the card → the family reads it back → confirm on the server (its errors mapped to the
 *   operator's recoveries) → a typed result.
 * Rewrite and reverse go through `adminCall` (the auth-error branch). A fix to any of these steps, the counter's
 * money path, is made here once. What differs per family is a small strategy (`WriteFamily`): how the card is
 * written and read back, and the wording of the confirm errors.
 */
import { createHash } from 'node:crypto';
import { Forbidden, Unauthorized } from '../errors/common-errors.ts';
import type { MeterHubError } from '../errors/meterhub-error.ts';
import { WriteVerifyFailed } from '../ledger/ledger-errors.ts';
import { recoveryFor, type RecoveryAction, type StationSituation } from '../wire/tx-states.ts';
import { CentralClient, type ServerWrite } from './central-client.ts';
import {
  StationConfirmPending,
  StationConfirmRefused,
  StationNeedsSupervisor,
  StationServerUnreachable,
} from './station-errors.ts';
import type { OperationProgress } from './station-events.ts';

export const sha = (s: string): string => createHash('sha256').update(s).digest('hex');

type Text = { zh: string; en: string };

// ------------------------------------------------------------------------------------------- typed results

/** A card write that was written, read back and confirmed. */
export type WriteDone = {
  ok: true;
  operation: string;
  transactionId: string;
  state: string;
  cardType: string;
  maker: string;
  cardNo: string | null;
  gas: number | null;
  count: number | null;
  meterKind: number | null;
  /** CPU cards: the ledger is the central server's. */
  ledger?: 'central-server';
  standIn?: true;
  library?: unknown;
  tool?: unknown;
  message: Text;
};

/** A recovery that ended with the card written and confirmed (retry, confirm, rewrite). */
export type RecoveryDone = {
  ok: true;
  action: string;
  transactionId: string;
  replacedTransactionId?: string;
  state: string;
  cardType: string;
  maker: string;
  cardNo: string | null;
  gas?: number | null;
  count?: number | null;
  /** CPU: the action asked for, when the card showed the write already and confirm was all that was left. */
  requested?: string;
  note?: Text;
  message: Text;
};

/** A recovery by 冲正: the write is void, the card as before. */
export type ReverseDone = {
  ok: true;
  action: 'reverse';
  transactionId: string;
  state: string;
  cardType?: 'cpu';
  cardSent: boolean;
  message: Text;
};

/** What `POST /v1/station/recover` answers (a CPU rewrite/retry answers the write itself, with its action). */
export type RecoverResult =
  RecoveryDone | ReverseDone | (WriteDone & { action: string; replacedTransactionId?: string });

const DONE: Record<string, [string, string]> = {
  issue: ['发卡成功', 'Card issued'],
  reissue: ['补卡成功', 'Replacement card issued'],
  purchase: ['购气成功', 'Gas sold'],
  refund: ['退气成功', 'Gas refunded'],
  format: ['擦卡成功', 'Card formatted'],
  tool: ['工具卡制作成功', 'Tool card made'],
  rewrite: ['掉气补气成功', 'Re-delivered (rewrite)'],
};

/** The operator's success line for a confirmed write. */
export function doneMessage(operation: string, transactionId: string): Text {
  const [zh, en] = DONE[operation] ?? ['写卡成功', 'Card written'];
  return { zh: `${zh}；台账交易 ${transactionId} 已确认`, en: `${en}; ledger transaction ${transactionId} confirmed` };
}

// ------------------------------------------------------------------------------------------- prepare

/** A server PREPARE as a family asks it. */
export interface PrepareRequest {
  path: string;
  body: Record<string, unknown>;
  /** Names the fresh Idempotency-Key (`issue`, `cpu-purchase`, …). */
  keyName: string;
  /** What the progress event shows of the answer. */
  summary: (w: ServerWrite) => Record<string, unknown>;
}

/**
 * Idempotency keys of prepares that got no answer (the server may have committed them): the operator's repeat of
 * the same request reuses the key, so the server answers the row it made instead of preparing a second one.
 */
export class UnansweredPrepares {
  private readonly keys = new Map<string, { key: string; at: number }>();

  constructor(
    private readonly ttlMs = 10 * 60_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** The key to send for this request: the unanswered one, or a fresh one. */
  keyFor(hash: string, keyName: string): string {
    const t = this.now();
    for (const [k, v] of this.keys) if (t - v.at > this.ttlMs) this.keys.delete(k);
    return this.keys.get(hash)?.key ?? CentralClient.newIdempotencyKey(keyName);
  }

  unanswered(hash: string, key: string): void {
    this.keys.set(hash, { key, at: this.now() });
  }
  answered(hash: string): void {
    this.keys.delete(hash);
  }
  get size(): number {
    return this.keys.size;
  }
}

/** Step 2: the server records PREPARED durably before it answers. */
export async function prepareOnServer(
  p: OperationProgress,
  central: CentralClient,
  memo: UnansweredPrepares,
  r: PrepareRequest,
): Promise<ServerWrite> {
  const hash = sha(JSON.stringify([r.path, r.body]));
  const key = memo.keyFor(hash, r.keyName);
  let w: ServerWrite;
  try {
    w = await p.step(
      'server-prepare',
      () => central.call<ServerWrite>('POST', r.path, { body: r.body, idempotencyKey: key }),
      r.summary,
    );
  } catch (e) {
    if (StationServerUnreachable.is(e)) memo.unanswered(hash, key);
    throw e;
  }
  memo.answered(hash);
  return w;
}

// ------------------------------------------------------------------------------------------- write, read back, confirm

/**
 * What differs per card family. `write` and `readBack` throw the family's STATION_WRITE_FAILED (with the
 * card's state and its recoveries) when they do not finish.
 */
export interface WriteFamily<Tx, ReadBack> {
  write(p: OperationProgress, tx: Tx): Promise<void>;
  readBack(p: OperationProgress, tx: Tx): Promise<ReadBack>;
  confirm: ConfirmFamily<Tx, ReadBack>;
}

export interface ConfirmFamily<Tx, ReadBack> {
  transactionId(tx: Tx): string;
  /** The confirm request body and the text its Idempotency-Key is made from. */
  body(rb: ReadBack): { body: Record<string, unknown>; keyText: string };
  /** Added to the confirm errors' details (CPU: `cardType`). */
  details: Record<string, unknown>;
  pending: StationSituation;
  refused: StationSituation;
  pendingText(id: string): Text;
  refusedText(e: MeterHubError, id: string): Text;
  /** The server confirmed (memory: the pending write is done). */
  onConfirmed?(tx: Tx): void;
  /** The family keeps the card state and recoveries (memory: on its pending write). */
  onUnconfirmed?(tx: Tx, cardState: 'written-verified' | 'written-unverified', recovery: RecoveryAction[]): void;
}

/** Steps 3-7 for any family: write, read back, confirm. */
export async function writeReadBackConfirm<Tx, RB>(
  p: OperationProgress,
  central: CentralClient,
  f: WriteFamily<Tx, RB>,
  tx: Tx,
): Promise<{ state: string }> {
  await f.write(p, tx);
  const rb = await f.readBack(p, tx);
  return confirmOnServer(p, central, f.confirm, tx, rb);
}

/**
 * The read-back goes to the server. Unreachable: the card is good, the ledger still PREPARED (confirm later);
 * WRITE_VERIFY_FAILED: the ledger made the row FAILED. Both become the operator's message and recoveries.
 */
export async function confirmOnServer<Tx, RB>(
  p: OperationProgress,
  central: CentralClient,
  f: ConfirmFamily<Tx, RB>,
  tx: Tx,
  rb: RB,
): Promise<{ state: string } & Record<string, unknown>> {
  const id = f.transactionId(tx);
  const { body, keyText } = f.body(rb);
  try {
    const confirmed = await p.step(
      'confirm',
      () =>
        central.call<{ state: string } & Record<string, unknown>>('POST', `/v1/transactions/${id}/confirm`, {
          body,
          idempotencyKey: `station-confirm-${id}-${sha(keyText).slice(0, 16)}`,
        }),
      (t) => ({ state: t.state }),
    );
    f.onConfirmed?.(tx);
    return confirmed;
  } catch (e) {
    if (StationServerUnreachable.is(e)) {
      const recovery = recoveryFor(f.pending);
      f.onUnconfirmed?.(tx, 'written-verified', recovery);
      throw StationConfirmPending(
        { transactionId: id, ledgerState: 'PREPARED', ...f.details, cardState: 'written-verified', recovery },
        f.pendingText(id),
      );
    }
    if (WriteVerifyFailed.is(e)) {
      const recovery = recoveryFor(f.refused);
      f.onUnconfirmed?.(tx, 'written-unverified', recovery);
      throw StationConfirmRefused(
        {
          ...e.details,
          transactionId: id,
          ledgerState: 'FAILED',
          ...f.details,
          cardState: 'written-unverified',
          recovery,
        },
        f.refusedText(e, id),
      );
    }
    throw e;
  }
}

// ------------------------------------------------------------------------------------------- recovery calls

/**
 * Rewrite/reverse: the station's own token (the server allows a counter its own transactions) unless a
 * supervisor token overrides it; a refusal for lack of rights asks for the supervisor.
 */
export async function adminCall<T>(
  central: CentralClient,
  path: string,
  token: string | undefined,
  body: unknown,
  key: string,
): Promise<T> {
  try {
    return await central.call<T>('POST', path, { body, idempotencyKey: key, ...(token ? { token } : {}) });
  } catch (e) {
    if (Forbidden.is(e) || Unauthorized.is(e)) throw StationNeedsSupervisor({ serverCode: e.code });
    throw e;
  }
}
