/**
 * The money-grade ledger. Every operation that produces card data commits here, durably, before the response
 * leaves the server. All checks that decide whether a write may happen run again inside the committing
 * transaction, against the per-card sequence row, so a check made earlier can never be stale at commit.
 *
 * Callers compute card data first (a pure library call, no side effects), then commit it here: the ledger
 * therefore never holds a half-written operation — a row exists with its data and keys, or not at all.
 *
 * CPU cards take the same commits without card data or keys (`write` absent): their maker library writes the
 * card at the station, after the PREPARED row is committed here, and the station confirms with the read-back.
 */
import { randomBytes } from 'node:crypto';
import { type Kysely, type Transaction } from 'kysely';
import { commitQueue, type CommitQueue, type UnitDb } from '../db/commit-queue.ts';
import type { DialectName, MeterHubDatabase } from '../db/database.ts';
import { guardedWrite, Statements } from '../db/statements.ts';
import { isMeterHubError, type MeterHubError } from '../errors/meterhub-error.ts';
import type { KeyVault } from './key-vault.ts';
import {
  AdoptionContradictsLedger,
  CardAlreadyInLedger,
  CardAlreadyIssued,
  CardFormatted,
  CardLost,
  CardNotEmpty,
  CardRetired,
  CardNotInLedger,
  ConcurrentCardWrite,
  CountMismatch,
  CountSequence,
  IdempotencyKeyReused,
  LastWriteUnconfirmed,
  NothingToRefund,
  ReissueCountMismatch,
  ReissueGasMismatch,
  ReissueInUse,
  TransactionNotFound,
  TransactionNotLatest,
  TransactionState,
} from './ledger-errors.ts';
import { decorateView, presentTx, type Decoration, type TxView } from './ledger-present.ts';
import type { LedgerCardRow, LedgerIdemRow, LedgerTables, LedgerTxRow, TxOp } from './ledger-schema.ts';
import { ACTIONS, allows, cardAllows, isLive, LIVE_STATES, nextStepsFor, REWRITTEN_HINT } from '../wire/tx-states.ts';

export interface Actor {
  /** The API token's immutable id (null: a caller with no token, e.g. a CLI run by ops on the server). */
  tokenId?: string | null | undefined;
  name: string;
  role: string;
  channel: string;
  /** The clerk (营业员) who made the sale, as the station named them. */
  clerk?: string | null | undefined;
}

/** Idempotency: one key per scope (the token id); the hash covers route, path params and body. */
export interface Idem {
  scope: string;
  key: string;
  requestHash: string;
}

export interface CardWriteOut {
  data: string | null;
  oldKey: string;
  newKey: string | null;
}

/** What the maker library read from the card the client sent. */
export interface ObservedCard {
  cardNo: string;
  gas: number;
  count: number;
}

export interface WriteResult {
  status: number;
  body: Record<string, unknown>;
  replayed: boolean;
  transactionId: string | null;
}

interface Base {
  actor: Actor;
  maker: string;
  cardType: string;
  idem?: Idem | undefined;
  sourceSha256?: string | null | undefined;
  decorate?: Decoration | undefined;
  /** What to keep as the card before the write (default: `observed`); CPU: the station's report as sent. */
  observedRecord?: Record<string, unknown> | null | undefined;
}

/** Card data and keys for memory cards; absent for CPU cards (the maker library writes them at the station). */
type MaybeWrite = CardWriteOut | null | undefined;

export interface PurchaseInput extends Base {
  cardNo: string;
  gas: number;
  count: number;
  observed: ObservedCard;
  requireEmpty: boolean;
  write?: MaybeWrite;
  /**
   * The card's sequence row as the caller last read it (sale-ahead): a guess that saves the PostgreSQL one-
   * statement sale its read. Decides nothing: the write is guarded by the row's version, so a stale row only
   * sends the sale down the transactional path.
   */
  seen?: LedgerCardRow | undefined;
}

export interface RefundInput extends Base {
  cardNo: string;
  count: number;
  observed: ObservedCard;
  write?: MaybeWrite;
}

export interface IssueInput extends Base {
  cardNo: string;
  gas: number;
  count: number;
  meterKind: number;
  write?: MaybeWrite;
}

export type ReissueInput = IssueInput;

export interface FormatInput extends Base {
  /** Null when the card does not read as a user card (blank, tool card). */
  observed: ObservedCard | null;
  write?: MaybeWrite;
}

export interface ToolInput extends Base {
  tool: string;
  params: Record<string, string>;
  write?: MaybeWrite;
}

/** 认领: the card's own state becomes the ledger's; nothing is written to the card. */
export interface AdoptInput extends Base {
  cardNo: string;
  observed: ObservedCard;
  meterKind: number | null;
  reason: string | null;
}

export type Verdict = { ok: true } | { ok: false; code: string; message: string };

const now = () => new Date().toISOString();

/** Time-ordered, unguessable transaction ids. */
export function newTxId(): string {
  return `tx_${Date.now().toString(36).padStart(9, '0')}${randomBytes(9).toString('hex')}`;
}

function isUniqueViolation(e: unknown): boolean {
  const code = (e as { code?: unknown })?.code;
  return code === '23505' || (typeof code === 'string' && /^SQLITE_CONSTRAINT_(UNIQUE|PRIMARYKEY)$/.test(code));
}

type Db = Kysely<LedgerTables> | Transaction<LedgerTables>;

export interface LedgerStoreOptions {
  /**
   * PostgreSQL: a sale whose checks pass on the card row as read is written by one guarded statement, outside
   * any transaction (one round trip, one commit) instead of a transaction of seven round trips. Default true;
   * false only for the same-run comparison (bench/card-purchase.ts, MH_BENCH_PG_ONE_STATEMENT=off) and tests.
   */
  oneStatementSale?: boolean;
}

export class LedgerStore {
  readonly db: Kysely<LedgerTables>;
  readonly dialect: DialectName;
  private readonly oneStatementSale: boolean;

  private readonly commits: CommitQueue;
  /** The statements every sale runs, without the query builder (core/db/statements.ts). */
  private readonly sql: Statements;

  constructor(
    database: MeterHubDatabase,
    private readonly vault: KeyVault,
    o: LedgerStoreOptions = {},
  ) {
    this.db = database.db as Kysely<LedgerTables>;
    this.dialect = database.dialect;
    this.oneStatementSale = database.dialect === 'postgres' && o.oneStatementSale !== false;
    this.commits = commitQueue(database);
    this.sql = new Statements(database.dialect);
  }

  // ---------------------------------------------------------------- reads

  async card(maker: string, cardNo: string, db: Db = this.db): Promise<LedgerCardRow | undefined> {
    return this.sql.selectOne<LedgerCardRow>(db, 'ledger_cards', { maker, card_no: cardNo });
  }

  /**
   * Who holds this card number among the given makers: their whole sequence rows (one probe of the primary key
   * per maker; the whole row, so a sale can hand it to its commit as `seen`).
   */
  async cardsByNumber(cardNo: string, makers: string[]): Promise<LedgerCardRow[]> {
    return this.sql.selectIn(this.db, 'ledger_cards', ['*'], { card_no: cardNo }, 'maker', makers);
  }

  async tx(id: string, db: Db = this.db): Promise<LedgerTxRow | undefined> {
    return this.sql.selectOne<LedgerTxRow>(db, 'ledger_transactions', { id });
  }

  async get(id: string): Promise<TxView> {
    const row = await this.tx(id);
    if (!row) throw TransactionNotFound({ transactionId: id });
    return presentTx(row);
  }

  /** The card's sequence row as the API shows it, with its unconfirmed write (if any). */
  async cardView(maker: string, cardNo: string): Promise<CardView | undefined> {
    const c = await this.card(maker, cardNo);
    if (!c) return undefined;
    const p = c.pending_tx_id ? await this.tx(c.pending_tx_id) : undefined;
    return {
      maker: c.maker,
      cardNo: c.card_no,
      cardType: c.card_type,
      meterKind: c.meter_kind,
      count: c.count,
      openGas: c.open_gas,
      reissues: c.reissues,
      status: c.status,
      lastTransactionId: c.last_tx_id,
      version: c.version,
      updatedAt: c.updated_at,
      pendingTransaction:
        p && isLive(p.state)
          ? { transactionId: p.id, operation: p.base_op, state: p.state, nextStep: nextStepsFor('unsettled') }
          : null,
    };
  }

  async history(maker: string, cardNo: string): Promise<TxView[]> {
    const rows = await this.db
      .selectFrom('ledger_transactions')
      .selectAll()
      .where('maker', '=', maker)
      .where('card_no', '=', cardNo)
      .orderBy('created_at')
      .orderBy('id')
      .execute();
    return rows.map(presentTx);
  }

  /** Keys of a transaction, decrypted (for the idempotent replay and for the station's rewrite). */
  keysOf(row: LedgerTxRow): { oldKey: string | null; newKey: string | null } {
    if (!row.keys_enc) return { oldKey: null, newKey: null };
    const k = JSON.parse(this.vault.decrypt(row.keys_enc, row.id)) as { o: string | null; n: string | null };
    return { oldKey: k.o, newKey: k.n };
  }

  /** The stored answer for this key, or undefined; a different request under the same key is refused. */
  async replay(idem: Idem): Promise<WriteResult | undefined> {
    return this.replayIn(this.db, idem);
  }

  // ---------------------------------------------------------------- prechecks (read-only, before the library call)

  /** The count the library must use for a purchase; throws the error the commit would throw. */
  async precheckPurchase(
    maker: string,
    cardNo: string,
    observed: ObservedCard,
    requireEmpty: boolean,
  ): Promise<number> {
    const card = await this.card(maker, cardNo);
    await this.assertSellable(this.db, card, observed, requireEmpty);
    return card!.count + 1;
  }

  async precheckRefund(maker: string, cardNo: string, observed: ObservedCard): Promise<number> {
    const card = await this.card(maker, cardNo);
    await this.assertRefundable(this.db, card, observed);
    return card!.count;
  }

  async precheckIssue(maker: string, cardNo: string): Promise<void> {
    const card = await this.card(maker, cardNo);
    if (card) throw alreadyIssued(card);
  }

  async precheckReissue(maker: string, cardNo: string, count: number, gas: number): Promise<void> {
    await this.assertReissuable(this.db, await this.card(maker, cardNo), cardNo, count, gas);
  }

  async precheckFormat(maker: string, observed: ObservedCard | null): Promise<void> {
    if (!observed) return;
    await this.assertFormattable(this.db, await this.card(maker, observed.cardNo), observed);
  }

  // ---------------------------------------------------------------- commits

  async commitPurchase(i: PurchaseInput): Promise<WriteResult> {
    if (this.oneStatementSale) {
      const r = await this.oneStatementPurchase(i);
      if (r) return r;
    }
    return this.write(i.idem, async (trx) => {
      const card = await this.card(i.maker, i.cardNo, trx);
      await this.assertSellable(trx, card, i.observed, i.requireEmpty);
      if (i.count !== card!.count + 1)
        throw CountSequence({ count: i.count, expected: card!.count + 1, nextStep: 'reread-card' });
      const row = await this.insertTx(trx, {
        op: 'purchase',
        i,
        cardNo: i.cardNo,
        gas: i.gas,
        count: i.count,
        meterKind: card!.meter_kind,
        seqLive: 1,
        cardBefore: card!,
      });
      await this.bumpCard(trx, card!, { count: i.count, open_gas: i.gas, pending_tx_id: row.id, last_tx_id: row.id });
      return this.created(row, i);
    });
  }

  /**
   * PostgreSQL, the usual sale: the checks run on the card row as read (or as the caller saw it), then the
   * transaction row, the card's bump and the idempotency record are ONE statement, guarded by the card's
   * version (core/db/statements.ts guardedWrite). The version is bumped by every write to the row, so a write
   * that lands means the row was exactly the one the checks passed on — what the transactional path's
   * conditional UPDATE proves too. Everything not plainly sellable (unknown card, a write pending, a refusal,
   * the row changed, a key already used) returns undefined, and the caller takes the transactional path, which
   * decides it with the usual errors and replays: this path only ever says yes.
   */
  private async oneStatementPurchase(i: PurchaseInput): Promise<WriteResult | undefined> {
    const s = i.seen;
    const card = s && s.maker === i.maker && s.card_no === i.cardNo ? s : await this.card(i.maker, i.cardNo);
    if (!card || card.pending_tx_id !== null || i.count !== card.count + 1) return undefined;
    try {
      // With nothing pending these checks read nothing more.
      await this.assertSellable(this.db, card, i.observed, i.requireEmpty);
    } catch {
      return undefined;
    }
    const row = this.buildTx({
      op: 'purchase',
      i,
      cardNo: i.cardNo,
      gas: i.gas,
      count: i.count,
      meterKind: card.meter_kind,
      seqLive: 1,
      cardBefore: card,
    });
    const out = this.created(row, i);
    const inserts = [{ table: 'ledger_transactions', rows: [row as unknown as Record<string, unknown>] }];
    if (i.idem) inserts.push({ table: 'ledger_idempotency', rows: [this.idemRow(i.idem, out)] });
    let written: boolean;
    try {
      written = await guardedWrite(
        this.db,
        {
          table: 'ledger_cards',
          set: {
            count: i.count,
            open_gas: i.gas,
            pending_tx_id: row.id,
            last_tx_id: row.id,
            version: card.version + 1,
            updated_at: now(),
          },
          key: { maker: card.maker, card_no: card.card_no, version: card.version },
        },
        inserts,
      );
    } catch (e) {
      // A twin's key or live count got there first: the transactional path replays or refuses it.
      if (isUniqueViolation(e)) return undefined;
      throw e;
    }
    return written ? this.answer(out) : undefined;
  }

  async commitRefund(i: RefundInput): Promise<WriteResult> {
    return this.write(i.idem, async (trx) => {
      const card = await this.card(i.maker, i.cardNo, trx);
      await this.assertRefundable(trx, card, i.observed);
      if (i.count !== card!.count)
        throw CountSequence({ count: i.count, expected: card!.count, nextStep: 'reread-card' });
      const row = await this.insertTx(trx, {
        op: 'refund',
        i,
        cardNo: i.cardNo,
        gas: 0,
        count: i.count,
        meterKind: card!.meter_kind,
        seqLive: 0,
        cardBefore: card!,
        refundedGas: i.observed.gas,
      });
      await this.bumpCard(trx, card!, { open_gas: 0, pending_tx_id: row.id, last_tx_id: row.id });
      return this.created(row, i);
    });
  }

  async commitIssue(i: IssueInput): Promise<WriteResult> {
    return this.write(i.idem, async (trx) => {
      const card = await this.card(i.maker, i.cardNo, trx);
      if (card) throw alreadyIssued(card);
      if (i.count !== 1) throw CountSequence({ count: i.count, expected: 1 });
      const row = await this.insertTx(trx, {
        op: 'issue',
        i,
        cardNo: i.cardNo,
        gas: i.gas,
        count: 1,
        meterKind: i.meterKind,
        seqLive: 1,
        cardBefore: null,
      });
      const t = row.created_at;
      await trx
        .insertInto('ledger_cards')
        .values({
          maker: i.maker,
          card_no: i.cardNo,
          card_type: i.cardType,
          meter_kind: i.meterKind,
          count: 1,
          open_gas: i.gas,
          reissues: 0,
          status: 'active',
          pending_tx_id: row.id,
          last_tx_id: row.id,
          version: 1,
          created_at: t,
          updated_at: t,
        })
        .execute();
      return this.created(row, i);
    });
  }

  async commitReissue(i: ReissueInput): Promise<WriteResult> {
    return this.write(i.idem, async (trx) => {
      const card = await this.card(i.maker, i.cardNo, trx);
      await this.assertReissuable(trx, card, i.cardNo, i.count, i.gas);
      const row = await this.insertTx(trx, {
        op: 'reissue',
        i,
        cardNo: i.cardNo,
        gas: i.gas,
        count: i.count,
        meterKind: i.meterKind,
        seqLive: 0,
        cardBefore: card!,
      });
      await this.bumpCard(trx, card!, {
        reissues: card!.reissues + 1,
        status: 'active',
        card_type: i.cardType,
        meter_kind: i.meterKind,
        pending_tx_id: row.id,
        last_tx_id: row.id,
      });
      return this.created(row, i);
    });
  }

  async commitFormat(i: FormatInput): Promise<WriteResult> {
    return this.write(i.idem, async (trx) => {
      const card = i.observed ? await this.card(i.maker, i.observed.cardNo, trx) : undefined;
      if (i.observed) await this.assertFormattable(trx, card, i.observed);
      const row = await this.insertTx(trx, {
        op: 'format',
        i,
        cardNo: i.observed?.cardNo ?? null,
        gas: 0,
        count: i.observed?.count ?? null,
        meterKind: card?.meter_kind ?? null,
        seqLive: 0,
        cardBefore: card ?? null,
      });
      if (card) await this.bumpCard(trx, card, { status: 'formatted', pending_tx_id: row.id, last_tx_id: row.id });
      return this.created(row, i);
    });
  }

  async commitTool(i: ToolInput): Promise<WriteResult> {
    return this.write(i.idem, async (trx) => {
      const row = await this.insertTx(trx, {
        op: 'tool',
        i,
        cardNo: null,
        gas: null,
        count: null,
        meterKind: null,
        seqLive: 0,
        cardBefore: null,
        tool: i.tool,
        toolParams: i.params,
      });
      return this.created(row, i);
    });
  }

  /**
   * 认领 (go-live): a card the maker's library reads but the ledger has never seen takes its own count as the
   * ledger's. A CONFIRMED transaction of its own (nothing is written to the card), so it is audited and listed
   * like any other; it owns no count (`seq_live` 0): the next sale owns count + 1 as usual. Not forwarded to the
   * ledger thread: adoption is rare, and the main connection commits through its own queue.
   */
  async commitAdopt(i: AdoptInput): Promise<WriteResult> {
    return this.write(i.idem, async (trx) => {
      const card = await this.card(i.maker, i.cardNo, trx);
      if (card) throw alreadyInLedger(card, i.observed);
      const row = await this.insertTx(trx, {
        op: 'adopt',
        i,
        cardNo: i.cardNo,
        gas: i.observed.gas,
        count: i.observed.count,
        meterKind: i.meterKind,
        seqLive: 0,
        cardBefore: null,
      });
      const t = row.created_at;
      await trx
        .updateTable('ledger_transactions')
        .set({ state: 'CONFIRMED', confirmed_at: t, reason: i.reason })
        .where('id', '=', row.id)
        .execute();
      await trx
        .insertInto('ledger_cards')
        .values({
          maker: i.maker,
          card_no: i.cardNo,
          card_type: i.cardType,
          meter_kind: i.meterKind,
          count: i.observed.count,
          open_gas: i.observed.gas,
          reissues: 0,
          status: 'active',
          pending_tx_id: null,
          last_tx_id: row.id,
          version: 1,
          created_at: t,
          updated_at: t,
        })
        .execute();
      return this.created({ ...row, state: 'CONFIRMED', confirmed_at: t, reason: i.reason }, i);
    });
  }

  /** 掉气补气: the same card data and keys again, as a new PREPARED transaction that replaces the old one. */
  async rewrite(id: string, actor: Actor, idem?: Idem, decorate?: Decoration): Promise<WriteResult> {
    return this.write(idem, async (trx) => {
      const old = await this.mustTx(trx, id);
      if (!allows('rewrite', old.state, old.base_op)) {
        throw TransactionState(
          { transactionId: id, state: old.state, allowed: LIVE_STATES },
          {
            zh: `只能对未确认或失败的写卡重写（当前 ${old.state}）`,
            en: `only a PREPARED or FAILED write can be rewritten (now ${old.state})`,
          },
        );
      }
      const card = old.card_no ? await this.card(old.maker, old.card_no, trx) : undefined;
      if (card && !cardAllows('rewrite', old.id, cardOf(card)))
        throw TransactionNotLatest({ transactionId: id, latest: card.last_tx_id });
      const t = now();
      // The old row gives up its count first: the unique index is checked per statement.
      await trx
        .updateTable('ledger_transactions')
        .set({ state: ACTIONS.rewrite.to, seq_live: 0, updated_at: t })
        .where('id', '=', old.id)
        .execute();
      const newId = newTxId();
      const keys = this.keysOf(old);
      const row: LedgerTxRow = {
        ...old,
        id: newId,
        op: 'rewrite',
        state: 'PREPARED',
        ref_id: old.id,
        keys_enc: old.keys_enc ? this.vault.encrypt(JSON.stringify({ o: keys.oldKey, n: keys.newKey }), newId) : null,
        actor_name: actor.name,
        actor_role: actor.role,
        channel: actor.channel,
        idem_key: idem?.key ?? null,
        actor_token_id: actor.tokenId ?? null,
        clerk: actor.clerk ?? null,
        error_code: null,
        error_message: null,
        created_at: t,
        updated_at: t,
        confirmed_at: null,
        read_back: null,
      };
      await trx.insertInto('ledger_transactions').values(row).execute();
      if (card) await this.bumpCard(trx, card, { pending_tx_id: newId, last_tx_id: newId });
      return this.created(row, { decorate });
    });
  }

  /** 冲正: a write that never reached the card. The card's sequence row goes back to what it was before. */
  async reverse(id: string, actor: Actor, idem?: Idem, readBack?: string): Promise<WriteResult> {
    return this.write(idem, async (trx) => {
      const tx = await this.mustTx(trx, id);
      if (tx.state === ACTIONS.reverse.settledIn) return this.snapshot(tx);
      if (!allows('reverse', tx.state, tx.base_op)) {
        throw TransactionState(
          { transactionId: id, state: tx.state, allowed: LIVE_STATES },
          {
            zh: `只能冲正未确认或失败的写卡（当前 ${tx.state}）；已确认的购气请退气`,
            en: `only a PREPARED or FAILED write can be reversed (now ${tx.state}); refund a confirmed sale instead`,
          },
        );
      }
      const card = tx.card_no ? await this.card(tx.maker, tx.card_no, trx) : undefined;
      if (card && !cardAllows('reverse', tx.id, cardOf(card)))
        throw TransactionNotLatest({ transactionId: id, latest: card.last_tx_id });
      const t = now();
      await trx
        .updateTable('ledger_transactions')
        .set({
          state: ACTIONS.reverse.to,
          seq_live: 0,
          updated_at: t,
          error_code: 'REVERSED',
          error_message: `reversed by ${actor.name} (${actor.role})`,
          ...(readBack !== undefined ? { read_back: readBack } : {}),
        })
        .where('id', '=', tx.id)
        .execute();
      if (card) await this.restoreCard(trx, card, tx.card_before, { pending_tx_id: null });
      return this.snapshot((await this.tx(id, trx))!);
    });
  }

  /** 补卡撤销: the replacement is cancelled and the card must be erased (a new PREPARED erase transaction). */
  async cancelReissue(
    id: string,
    i: { actor: Actor; write: CardWriteOut; idem?: Idem | undefined; decorate?: Decoration | undefined },
  ): Promise<WriteResult> {
    return this.write(i.idem, async (trx) => {
      const tx = await this.mustTx(trx, id);
      if (!allows('cancel-reissue', tx.state, tx.base_op)) {
        throw TransactionState(
          { transactionId: id, state: tx.state, operation: tx.base_op },
          {
            zh: '只能撤销有效的补卡交易',
            en: 'only a live reissue transaction can be cancelled',
          },
        );
      }
      const card = await this.card(tx.maker, tx.card_no!, trx);
      if (!card || !cardAllows('cancel-reissue', tx.id, cardOf(card)))
        throw ReissueInUse({ transactionId: id, latest: card?.last_tx_id ?? null });
      const t = now();
      await trx
        .updateTable('ledger_transactions')
        .set({ state: ACTIONS['cancel-reissue'].to, updated_at: t })
        .where('id', '=', tx.id)
        .execute();
      const row = await this.insertTx(trx, {
        op: 'cancel_reissue',
        i: { actor: i.actor, maker: tx.maker, cardType: tx.card_type, idem: i.idem, decorate: i.decorate },
        cardNo: tx.card_no,
        gas: 0,
        count: tx.count,
        meterKind: tx.meter_kind,
        seqLive: 0,
        cardBefore: card,
        refId: tx.id,
        write: i.write,
      });
      await this.restoreCard(trx, card, tx.card_before, { pending_tx_id: row.id, last_tx_id: row.id });
      return this.created(row, i);
    });
  }

  /**
   * Applies the verdict of a card read-back. A mismatch is committed as FAILED (the card stays blocked) and
   * the caller then reports WRITE_VERIFY_FAILED; a match confirms (and may rescue a FAILED write).
   */
  async confirm(id: string, verdict: Verdict, idem?: Idem, readBack?: string): Promise<WriteResult> {
    return this.write(verdict.ok ? idem : undefined, async (trx) => {
      const tx = await this.mustTx(trx, id);
      if (tx.state === ACTIONS.confirm.settledIn && verdict.ok) return this.snapshot(tx);
      if (!allows('confirm', tx.state, tx.base_op)) {
        const hint =
          tx.state === REWRITTEN_HINT.state ? { nextStep: REWRITTEN_HINT.nextStep, hint: REWRITTEN_HINT.hint } : {};
        throw TransactionState(
          { transactionId: id, state: tx.state, ...hint },
          {
            zh: `交易状态为 ${tx.state}，不能确认`,
            en: `the transaction is ${tx.state} and cannot be confirmed`,
          },
        );
      }
      const t = now();
      if (verdict.ok) {
        await trx
          .updateTable('ledger_transactions')
          .set({
            state: ACTIONS.confirm.to,
            confirmed_at: t,
            updated_at: t,
            error_code: null,
            error_message: null,
            ...(readBack !== undefined ? { read_back: readBack } : {}),
          })
          .where('id', '=', id)
          .execute();
        const card = tx.card_no ? await this.card(tx.maker, tx.card_no, trx) : undefined;
        if (card && card.pending_tx_id === id) await this.bumpCard(trx, card, { pending_tx_id: null });
      } else {
        await trx
          .updateTable('ledger_transactions')
          .set({
            state: 'FAILED',
            updated_at: t,
            error_code: verdict.code,
            error_message: verdict.message.slice(0, 500),
            ...(readBack !== undefined ? { read_back: readBack } : {}),
          })
          .where('id', '=', id)
          .execute();
      }
      return this.snapshot((await this.tx(id, trx))!);
    });
  }

  // ---------------------------------------------------------------- rules

  private async pendingGuard(db: Db, card: LedgerCardRow): Promise<void> {
    if (!card.pending_tx_id) return;
    const p = await this.tx(card.pending_tx_id, db);
    if (p && isLive(p.state)) {
      throw LastWriteUnconfirmed({
        transactionId: p.id,
        state: p.state,
        operation: p.base_op,
        nextStep: nextStepsFor('unsettled'),
        links: {
          confirm: `/v1/transactions/${p.id}/confirm`,
          rewrite: `/v1/transactions/${p.id}/rewrite`,
          reverse: `/v1/transactions/${p.id}/reverse`,
        },
      });
    }
  }

  private async assertSellable(
    db: Db,
    card: LedgerCardRow | undefined,
    o: ObservedCard,
    requireEmpty: boolean,
  ): Promise<void> {
    if (!card) throw CardNotInLedger({ cardNo: o.cardNo, nextStep: 'issue' });
    if (card.status === 'formatted')
      throw CardFormatted({ cardNo: card.card_no, nextStep: 'reissue', ledgerCount: card.count });
    assertNotBlocked(card);
    await this.pendingGuard(db, card);
    if (o.count !== card.count) {
      throw CountMismatch(
        { cardCount: o.count, ledgerCount: card.count, nextStep: 'reconcile' },
        {
          zh: `卡上次数 ${o.count}，台账次数 ${card.count}`,
          en: `card count ${o.count}, ledger count ${card.count}`,
        },
      );
    }
    if (requireEmpty && o.gas > 0) throw CardNotEmpty({ cardGas: o.gas, nextStep: 'use-in-meter-or-refund' });
  }

  private async assertRefundable(db: Db, card: LedgerCardRow | undefined, o: ObservedCard): Promise<void> {
    if (!card) throw CardNotInLedger({ cardNo: o.cardNo, nextStep: 'issue' });
    if (card.status === 'formatted')
      throw CardFormatted({ cardNo: card.card_no, nextStep: 'reissue', ledgerCount: card.count });
    assertNotBlocked(card);
    await this.pendingGuard(db, card);
    if (o.count !== card.count) {
      throw CountMismatch(
        { cardCount: o.count, ledgerCount: card.count, nextStep: 'reconcile' },
        {
          zh: `卡上次数 ${o.count}，台账次数 ${card.count}`,
          en: `card count ${o.count}, ledger count ${card.count}`,
        },
      );
    }
    if (o.gas <= 0) throw NothingToRefund({ cardGas: o.gas });
  }

  private async assertReissuable(
    db: Db,
    card: LedgerCardRow | undefined,
    cardNo: string,
    count: number,
    gas: number,
  ): Promise<void> {
    if (!card) throw CardNotInLedger({ cardNo, nextStep: 'issue' });
    await this.pendingGuard(db, card);
    if (count !== card.count) {
      throw ReissueCountMismatch(
        { count, ledgerCount: card.count, nextStep: 'reissue-with-ledger-count' },
        {
          zh: `台账次数为 ${card.count}`,
          en: `the ledger count is ${card.count}`,
        },
      );
    }
    if (gas !== 0 && gas !== card.open_gas) {
      throw ReissueGasMismatch(
        { gas, allowed: [...new Set([0, card.open_gas])] },
        {
          zh: `可为 0 或 ${card.open_gas}`,
          en: `allowed: 0 or ${card.open_gas}`,
        },
      );
    }
  }

  private async assertFormattable(db: Db, card: LedgerCardRow | undefined, o: ObservedCard): Promise<void> {
    if (card) await this.pendingGuard(db, card);
    if (o.gas > 0) throw CardNotEmpty({ cardGas: o.gas, nextStep: 'refund' });
  }

  // ---------------------------------------------------------------- plumbing

  private async mustTx(db: Db, id: string): Promise<LedgerTxRow> {
    const row = await this.tx(id, db);
    if (!row) throw TransactionNotFound({ transactionId: id });
    return row;
  }

  private async insertTx(trx: Db, a: TxSpec): Promise<LedgerTxRow> {
    const row = this.buildTx(a);
    await this.sql.insert(trx, 'ledger_transactions', [row as unknown as Record<string, unknown>]);
    return row;
  }

  /** A new PREPARED transaction row (its id, time, encrypted keys), not yet written. */
  private buildTx(a: TxSpec): LedgerTxRow {
    const id = newTxId();
    const t = now();
    const w = a.write ?? a.i.write ?? null;
    const observed = a.i.observedRecord !== undefined ? a.i.observedRecord : (a.i.observed ?? null);
    const row: LedgerTxRow = {
      id,
      op: a.op,
      base_op: a.op,
      state: 'PREPARED',
      maker: a.i.maker,
      card_type: a.i.cardType,
      card_no: a.cardNo,
      gas: a.gas,
      refunded_gas: a.refundedGas ?? null,
      count: a.count,
      meter_kind: a.meterKind,
      tool: a.tool ?? null,
      tool_params: a.toolParams ? JSON.stringify(a.toolParams) : null,
      data: w?.data ?? null,
      keys_enc: w ? this.vault.encrypt(JSON.stringify({ o: w.oldKey, n: w.newKey }), id) : null,
      source_sha256: a.i.sourceSha256 ?? null,
      ref_id: a.refId ?? null,
      seq_live: a.seqLive,
      card_before: a.cardBefore ? JSON.stringify(a.cardBefore) : null,
      actor_name: a.i.actor.name,
      actor_role: a.i.actor.role,
      channel: a.i.actor.channel,
      idem_key: a.i.idem?.key ?? null,
      actor_token_id: a.i.actor.tokenId ?? null,
      clerk: a.i.actor.clerk ?? null,
      error_code: null,
      error_message: null,
      created_at: t,
      updated_at: t,
      confirmed_at: null,
      card_observed: observed ? JSON.stringify(observed) : null,
      read_back: null,
    };
    return row;
  }

  /** The conditional UPDATE that makes two writes from one card state impossible. */
  private async bumpCard(trx: Db, card: LedgerCardRow, set: Partial<LedgerCardRow>): Promise<void> {
    const changed = await this.sql.update(
      trx,
      'ledger_cards',
      { ...set, version: card.version + 1, updated_at: now() },
      { maker: card.maker, card_no: card.card_no, version: card.version },
    );
    if (changed !== 1) throw ConcurrentCardWrite({ cardNo: card.card_no, nextStep: 'reread-card' });
  }

  private async restoreCard(
    trx: Db,
    card: LedgerCardRow,
    beforeJson: string | null,
    extra: Partial<LedgerCardRow>,
  ): Promise<void> {
    if (beforeJson === null) {
      const res = await trx
        .deleteFrom('ledger_cards')
        .where('maker', '=', card.maker)
        .where('card_no', '=', card.card_no)
        .where('version', '=', card.version)
        .executeTakeFirst();
      if (Number(res.numDeletedRows) !== 1) throw ConcurrentCardWrite({ cardNo: card.card_no });
      return;
    }
    const b = JSON.parse(beforeJson) as LedgerCardRow;
    await this.bumpCard(trx, card, {
      count: b.count,
      open_gas: b.open_gas,
      reissues: b.reissues,
      status: b.status,
      card_type: b.card_type,
      meter_kind: b.meter_kind,
      last_tx_id: b.last_tx_id,
      ...extra,
    });
  }

  private created(row: LedgerTxRow, i: { decorate?: Decoration | undefined; write?: MaybeWrite }): StoredResult {
    const view = presentTx(row);
    // CPU rows carry no keys: nothing to add to (or re-read for) the answer. The keys the library gave for this
    // write need no decryption of what was just encrypted; a rewrite's come from the row it repeats.
    const keys = !row.keys_enc ? null : i.write ? { oldKey: i.write.oldKey, newKey: i.write.newKey } : this.keysOf(row);
    const body = i.decorate ? decorateView(view, i.decorate) : { ...view };
    return { status: 201, body, keys, transactionId: row.id };
  }

  private snapshot(row: LedgerTxRow): StoredResult {
    return {
      status: 200,
      body: presentTx(row) as unknown as Record<string, unknown>,
      keys: null,
      transactionId: row.id,
    };
  }

  private async replayIn(db: Db, idem: Idem): Promise<WriteResult | undefined> {
    const r = await this.sql.selectOne<LedgerIdemRow>(db, 'ledger_idempotency', {
      scope: idem.scope,
      idem_key: idem.key,
    });
    if (!r) return undefined;
    if (r.request_hash !== idem.requestHash) {
      throw IdempotencyKeyReused({ idempotencyKey: idem.key, transactionId: r.tx_id });
    }
    const stored = JSON.parse(r.response) as { body: Record<string, unknown>; withKeys: boolean };
    let body = stored.body;
    if (stored.withKeys && r.tx_id) {
      const tx = await this.tx(r.tx_id, db);
      if (tx) body = { ...body, ...this.keysOf(tx) };
    }
    return { status: r.status, body, replayed: true, transactionId: r.tx_id };
  }

  /**
   * One durable unit: idempotency lookup, checks, ledger rows and the idempotency record commit together.
   * A conflict with a key already committed by a concurrent twin returns the twin's result instead.
   */
  private async write(idem: Idem | undefined, fn: (trx: Db) => Promise<StoredResult>): Promise<WriteResult> {
    try {
      return await this.unit(async (trx) => {
        if (idem) {
          const r = await this.replayIn(trx, idem);
          if (r) return r;
        }
        const out = await fn(trx);
        if (idem) await this.sql.insert(trx, 'ledger_idempotency', [this.idemRow(idem, out)]);
        return this.answer(out);
      });
    } catch (e) {
      if (idem && (isUniqueViolation(e) || (isMeterHubError(e) && e.status === 409))) {
        const r = await this.replayIn(this.db, idem);
        if (r) return r;
      }
      if (isUniqueViolation(e)) throw ConcurrentCardWrite({ nextStep: 'reread-card' });
      throw e;
    }
  }

  /** The idempotency record of a result: the answer a retry gets (keys re-read from the transaction). */
  private idemRow(idem: Idem, out: StoredResult): Record<string, unknown> {
    return {
      scope: idem.scope,
      idem_key: idem.key,
      request_hash: idem.requestHash,
      tx_id: out.transactionId,
      status: out.status,
      response: JSON.stringify({ body: out.body, withKeys: out.keys !== null }),
      created_at: now(),
    };
  }

  private answer(out: StoredResult): WriteResult {
    const body = out.keys ? { ...out.body, oldKey: out.keys.oldKey, newKey: out.keys.newKey } : out.body;
    return { status: out.status, body, replayed: false, transactionId: out.transactionId };
  }

  /**
   * Runs one unit atomically through the database's commit queue (core/db/commit-queue.ts): on SQLite a group
   * commit shared with the audit log (one fsync per batch), on PostgreSQL its own transaction. A caller is
   * answered only after its unit is durable.
   */
  private unit<T>(fn: (trx: Db) => Promise<T>): Promise<T> {
    return this.commits.unit(fn as (db: UnitDb) => Promise<T>);
  }
}

export interface CardView {
  maker: string;
  cardNo: string;
  cardType: string;
  meterKind: number | null;
  count: number;
  openGas: number;
  reissues: number;
  status: string;
  lastTransactionId: string | null;
  version: number;
  updatedAt: string;
  pendingTransaction: { transactionId: string; operation: string; state: string; nextStep: string[] } | null;
}

/** What a new transaction row is made of (insertTx, buildTx). */
interface TxSpec {
  op: TxOp;
  i: Base & { write?: MaybeWrite; observed?: ObservedCard | null };
  cardNo: string | null;
  gas: number | null;
  count: number | null;
  meterKind: number | null;
  seqLive: 0 | 1;
  cardBefore: LedgerCardRow | null;
  refundedGas?: number;
  tool?: string;
  toolParams?: Record<string, string>;
  refId?: string;
  write?: MaybeWrite;
}

interface StoredResult {
  status: number;
  body: Record<string, unknown>;
  keys: { oldKey: string | null; newKey: string | null } | null;
  transactionId: string | null;
}

/** The card row as the state machine's card rule reads it (core/wire/tx-states.ts). */
function cardOf(card: LedgerCardRow): { pending: string | null; last: string | null } {
  return { pending: card.pending_tx_id, last: card.last_tx_id };
}

/** Imported as lost, blacklisted or retired in the old system: never sold onto (a lost card may be reissued). */
function assertNotBlocked(card: LedgerCardRow): void {
  if (card.status === 'lost' || card.status === 'blacklisted') {
    throw CardLost(
      { cardNo: card.card_no, state: card.status, nextStep: 'reissue' },
      {
        zh: `原系统状态：${card.status === 'lost' ? '挂失' : '黑名单'}`,
        en: `old-system state: ${card.status}`,
      },
    );
  }
  if (card.status === 'retired')
    throw CardRetired({ cardNo: card.card_no, state: card.status, nextStep: 'check-account' });
}

/** Adoption of a card the ledger knows: the same count → nothing to adopt; another count → the difference. */
export function alreadyInLedger(
  card: Pick<LedgerCardRow, 'maker' | 'card_no' | 'count' | 'status'>,
  o: ObservedCard,
): MeterHubError {
  if (card.count === o.count) {
    return CardAlreadyInLedger({
      maker: card.maker,
      cardNo: card.card_no,
      ledgerCount: card.count,
      status: card.status,
      nextStep: 'purchase',
    });
  }
  return AdoptionContradictsLedger(
    {
      maker: card.maker,
      cardNo: card.card_no,
      differences: { count: { ledger: card.count, card: o.count } },
      nextStep: 'reconcile',
    },
    { zh: `卡上次数 ${o.count}，台账次数 ${card.count}`, en: `card count ${o.count}, ledger count ${card.count}` },
  );
}

function alreadyIssued(card: LedgerCardRow): MeterHubError {
  return CardAlreadyIssued(
    { cardNo: card.card_no, ledgerCount: card.count, nextStep: 'reissue' },
    {
      zh: `台账次数 ${card.count}`,
      en: `ledger count ${card.count}`,
    },
  );
}
