/**
 * Card operations: the maker library computes, the ledger records, then (only then) the answer leaves.
 *
 * Order for every write: identify + read the card the client sent, precheck against the ledger (cheap, so a
 * refused sale never reaches the library), ask the library for the card data (a pure computation for memory
 * cards), commit to the ledger with the checks repeated inside the transaction, respond. A purchase asks Read
 * and Buy ahead, with the identify Checks, when the ledger knows the card (sale-ahead.ts): same calls, same
 * answer, less waiting.
 *
 * CPU cards (Tancy) are written by the maker library at the counter station, which drives the reader itself;
 * the server never sees their data. For them the station PREPAREs here first (same rules and counts, no data,
 * no keys), writes through the library only once the row is committed, and confirms with the library's
 * read-back `{cardNo, gas, count, meterKind}`.
 */
import { createHash } from 'node:crypto';
import { CARD_HEX_LENGTH, PUBLIC_ZONE_102_HEX, type CardType, type MemoryCardType } from '../cards/card-types.ts';
import type { CardDriver, ReadResult, UsageResult } from '../driver/card-driver.ts';
import { FunctionMissing } from '../driver/driver-errors.ts';
import { BadInput } from '../errors/common-errors.ts';
import { isMeterHubError } from '../errors/meterhub-error.ts';
import { checkInput } from '../plugins/identify.ts';
import { CardConflict, CardTypeUnsupported, PluginDisabled, PluginUnknown } from '../plugins/plugin-errors.ts';
import { driverFor, STAND_IN_LABEL } from '../plugins/plugin-host.ts';
import type { Identification, PluginHost } from '../plugins/plugin-types.ts';
import { hitFault } from './faults.ts';
import { saleAhead, type SaleAhead } from './sale-ahead.ts';
import {
  CardDataLength,
  CardMakerMismatch,
  CardNumberMismatch,
  CardReadFailed,
  CpuCardAtStation,
  CpuCardNotBlank,
  CpuObservedRequired,
  CpuReadBackRequired,
  LedgerCardNotFound,
  LibraryRefused,
  MemoryDataRequired,
  NotAUserCard,
  ReverseCardChanged,
  ReverseNeedsReadBack,
  ReverseReachedCard,
  TransactionNotFound,
  TransactionState,
  WriteVerifyFailed,
} from './ledger-errors.ts';
import type { Decoration, TxView } from './ledger-present.ts';
import type { LedgerTxRow } from './ledger-schema.ts';
import { ACTIONS, isLive, nextStepsFor } from '../wire/tx-states.ts';
import {
  alreadyInLedger,
  type Actor,
  type CardView,
  type Idem,
  type LedgerStore,
  type ObservedCard,
  type Verdict,
  type WriteResult,
} from './ledger-store.ts';
import {
  AdoptionContradictsLedger,
  AdoptionDisabled,
  AdoptionForbidden,
  AdoptionReasonRequired,
} from './ledger-errors.ts';

/** Standard return codes of gascard.h, used when a library has no GasCardErrorText. */
const STANDARD_RC: Record<number, string> = {
  [-1]: '非注册用户 / not a registered user',
  [-4]: '无卡 / no card',
  [-6]: '卡损坏 / card damaged',
  [-7]: '读卡错误 / read error',
  [-8]: '非用户卡 / not a user card',
  [-9]: '密码校验错误 / PSC check failed',
  [-13]: '可能是新卡或插反 / new card or inserted backwards',
  [-14]: "非本系统卡 / not this system's card",
  [-15]: '非新卡 / not a new card',
  [-16]: '卡号不符 / card number mismatch',
  [-17]: '擦卡失败 / format failed',
  [-18]: '气量超限 / gas over limit',
  [-31]: '参数错误 / bad parameter',
  [-32]: '卡数据格式错误 / bad card data',
  [-34]: '不支持 / unsupported',
  [-35]: '卡数据校验和错误 / card checksum error',
};

export interface CardRef {
  cardType: CardType;
  data: string;
}

export interface IssueBody {
  maker: string;
  cardType: CardType;
  cardNo: string;
  gas: number;
  meterKind: number;
}

export interface ReissueBody extends IssueBody {
  count: number;
}

export type CpuOperation = 'issue' | 'reissue' | 'purchase' | 'refund' | 'format' | 'tool';

/** A CPU card as the maker library at the station read it, before the write. */
export interface CpuObserved {
  cardNo: string;
  gas: number;
  count: number;
  meterKind: number;
  /** The meter has written back since the last sale (the gas on the card counts as taken). */
  written?: boolean;
}

export interface CpuPrepareBody {
  operation: CpuOperation;
  maker: string;
  cardNo?: string;
  gas?: number;
  meterKind?: number;
  /** reissue only: optional; the server uses the ledger count and refuses any other. */
  count?: number;
  tool?: string;
  params?: Record<string, string>;
  /** The card in the reader as the library read it; null for a blank card (issue, reissue, tool). */
  observed: CpuObserved | null;
}

/** The card after the write, as the maker library read it back at the station. */
export interface CpuReadBack {
  kind?: 'user' | 'tool' | 'blank';
  cardNo?: string;
  gas?: number;
  count?: number;
  meterKind?: number;
}

type NormalReadBack =
  { kind: 'user'; cardNo: string; gas: number; count: number; meterKind: number | null } | { kind: 'tool' | 'blank' };

/**
 * Who may adopt a card the ledger does not know (go-live, configuration `adoption`): nobody; ops only; or any
 * counter that gives a reason. Bank channels never adopt, whatever the policy.
 */
export const ADOPTION_POLICIES = ['nobody', 'ops', 'counter-with-reason'] as const;
export type AdoptionPolicy = (typeof ADOPTION_POLICIES)[number];

/** The policy from configuration text (METERHUB_ADOPTION); unset → 'ops'. A typo stops the server, not a sale. */
export function adoptionPolicy(text: string | undefined): AdoptionPolicy {
  const v = text?.trim();
  if (!v) return 'ops';
  if ((ADOPTION_POLICIES as readonly string[]).includes(v)) return v as AdoptionPolicy;
  throw BadInput(
    { field: 'METERHUB_ADOPTION', value: v, allowed: ADOPTION_POLICIES },
    {
      zh: `METERHUB_ADOPTION 应为 ${ADOPTION_POLICIES.join(' / ')}`,
      en: `METERHUB_ADOPTION must be ${ADOPTION_POLICIES.join(', ')}`,
    },
  );
}

export interface CardServiceOptions {
  host: PluginHost;
  store: LedgerStore;
  /** Default 'ops'. */
  adoption?: AdoptionPolicy | undefined;
  /** Ask Read and Buy ahead of 判卡 when the ledger knows the card (default true). */
  saleAhead?: boolean;
  /**
   * A sale naming its maker on a card the ledger knows under that maker alone asks only that maker's Check,
   * except one in this many, which asks every maker (default 64; 1 = always every maker).
   */
  fullIdentifyEvery?: number;
}

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

export class CardService {
  readonly host: PluginHost;
  readonly store: LedgerStore;

  /** Ask Read and Buy ahead of 判卡 when the ledger knows the card (sale-ahead.ts); on by default. */
  readonly saleAhead: boolean;
  readonly adoption: AdoptionPolicy;

  constructor(o: CardServiceOptions) {
    this.host = o.host;
    this.store = o.store;
    this.adoption = o.adoption ?? 'ops';
    this.saleAhead = o.saleAhead ?? true;
    this.fullIdentifyEvery = Math.max(1, o.fullIdentifyEvery ?? 64);
  }

  // ---------------------------------------------------------------- reads

  async identify(ref: CardRef) {
    const cardType = memoryType(ref.cardType);
    const data = cardData(cardType, ref.data, true);
    const id = await this.identifyCached(cardType, data);
    const st = this.host.get(id.maker);
    return {
      maker: id.maker,
      makerName: st?.name ?? null,
      kind: id.kind,
      ...(id.oldKey ? { oldKey: id.oldKey } : {}),
      standIn: st?.standIn === true,
      ...(st?.standIn ? { library: STAND_IN_LABEL } : {}),
    };
  }

  async read(ref: CardRef) {
    const cardType = memoryType(ref.cardType);
    const data = cardData(cardType, ref.data);
    const { maker, kind, driver } = await this.identifyDriver(cardType, data);
    const st = this.host.get(maker);
    const base = {
      maker,
      makerName: st?.name ?? null,
      kind,
      standIn: st?.standIn === true,
      ...(st?.standIn ? { library: STAND_IN_LABEL } : {}),
    };
    if (kind !== 'user')
      return { ...base, cardNo: null, gas: null, count: null, meterKind: null, writeBack: null, ledger: null };
    const values = await this.readValues(maker, driver, cardType, data);
    const usage = await this.usage(driver, cardType, data);
    const ledger = await this.store.card(maker, values.cardNo);
    return {
      ...base,
      cardNo: values.cardNo,
      gas: values.gas,
      count: values.count,
      meterKind: values.meterKind,
      writeBack: usage ? this.presentUsage(maker, usage) : null,
      ledger: ledger
        ? {
            known: true,
            count: ledger.count,
            status: ledger.status,
            reissues: ledger.reissues,
            pendingTransactionId: ledger.pending_tx_id,
          }
        : { known: false },
    };
  }

  async transaction(id: string): Promise<TxView> {
    return this.store.get(id);
  }

  /** The card's ledger row (count, open gas, unconfirmed write): what a station needs for a reissue or a display. */
  async ledgerCard(maker: string, cardNo: string): Promise<CardView> {
    const v = await this.store.cardView(maker, cardNo);
    if (!v) throw LedgerCardNotFound({ maker, cardNo, nextStep: 'issue' });
    return v;
  }

  // ---------------------------------------------------------------- CPU cards (written at the station)

  /**
   * Records a CPU-card write as PREPARED before the station's maker library touches the card. The count is
   * the server's, by the same rules as memory cards (purchase = card count + 1 and must follow the ledger,
   * refund at the same count, reissue at the ledger count); the answer carries no card data and no keys.
   */
  async cpuPrepare(actor: Actor, b: CpuPrepareBody, idem?: Idem): Promise<WriteResult> {
    const replay = await this.replayFirst(idem);
    if (replay) return replay;
    this.cpuMaker(b.maker);
    const o = b.observed;
    const base = {
      actor,
      maker: b.maker,
      cardType: 'cpu',
      idem,
      decorate: this.decorate(b.maker, true),
      observedRecord: o ? { ...o } : null,
    };
    const need = <T>(v: T | undefined, field: string): T => {
      if (v === undefined)
        throw BadInput(
          { field, operation: b.operation },
          { zh: `${b.operation} 需要 ${field}`, en: `${b.operation} needs ${field}` },
        );
      return v;
    };
    const blankOnly = () => {
      if (o)
        throw CpuCardNotBlank(
          { operation: b.operation, onCard: o.cardNo },
          { zh: `卡上是用户卡 ${o.cardNo}`, en: `the card is user card ${o.cardNo}` },
        );
    };
    const userCard = (): { cardNo: string; observed: ObservedCard } => {
      if (!o) throw CpuObservedRequired({ operation: b.operation });
      if (b.cardNo !== undefined && b.cardNo !== o.cardNo) {
        throw CardNumberMismatch(
          { requested: b.cardNo, onCard: o.cardNo },
          { zh: `卡上卡号 ${o.cardNo}`, en: `the card says ${o.cardNo}` },
        );
      }
      // Gas counts as taken once the meter has written back onto the card since the sale.
      return { cardNo: o.cardNo, observed: { cardNo: o.cardNo, count: o.count, gas: o.written ? 0 : o.gas } };
    };
    let r: WriteResult;
    switch (b.operation) {
      case 'issue':
        blankOnly();
        r = await this.store.commitIssue({
          ...base,
          cardNo: need(b.cardNo, 'cardNo'),
          gas: need(b.gas, 'gas'),
          count: 1,
          meterKind: need(b.meterKind, 'meterKind'),
        });
        break;
      case 'reissue': {
        blankOnly();
        const cardNo = need(b.cardNo, 'cardNo');
        // The ledger's count unless the station named one (then it must be the ledger's); checked again at commit.
        const count = b.count ?? (await this.store.card(b.maker, cardNo))?.count ?? 1;
        r = await this.store.commitReissue({
          ...base,
          cardNo,
          gas: need(b.gas, 'gas'),
          count,
          meterKind: need(b.meterKind, 'meterKind'),
        });
        break;
      }
      case 'purchase': {
        const u = userCard();
        const gas = need(b.gas, 'gas');
        if (gas < 1)
          throw BadInput({ field: 'gas' }, { zh: 'gas：购气气量至少为 1', en: 'gas: a purchase sells at least 1' });
        const requireEmpty = this.host.manifest(b.maker).rules?.requireEmptyCardBeforePurchase === true;
        r = await this.store.commitPurchase({
          ...base,
          cardNo: u.cardNo,
          gas,
          count: u.observed.count + 1,
          observed: u.observed,
          requireEmpty,
        });
        break;
      }
      case 'refund': {
        const u = userCard();
        r = await this.store.commitRefund({ ...base, cardNo: u.cardNo, count: u.observed.count, observed: u.observed });
        break;
      }
      case 'format':
        r = await this.store.commitFormat({ ...base, observed: o ? userCard().observed : null });
        break;
      case 'tool':
        blankOnly();
        r = await this.store.commitTool({ ...base, tool: need(b.tool, 'tool'), params: b.params ?? {} });
        break;
      default:
        throw BadInput({ field: 'operation' });
    }
    return this.after(r);
  }

  /** The maker must be a known, enabled plugin that handles CPU cards (its library runs at the station only). */
  private cpuMaker(maker: string): void {
    const st = this.host.get(maker);
    if (!st) throw PluginUnknown({ id: maker }, { zh: maker, en: maker });
    if (!st.cardTypes.includes('cpu')) throw CardTypeUnsupported({ maker, cardType: 'cpu', supported: st.cardTypes });
    if (!st.enabled) throw PluginDisabled({ id: maker }, { zh: maker, en: maker });
  }

  // ---------------------------------------------------------------- writes

  async issue(actor: Actor, b: IssueBody, idem?: Idem): Promise<WriteResult> {
    const replay = await this.replayFirst(idem);
    if (replay) return replay;
    const cardType = memoryType(b.cardType);
    const driver = driverFor(this.host, b.maker, cardType);
    await this.store.precheckIssue(b.maker, b.cardNo);
    const w = await driver.writeNew(cardType, { cardNo: b.cardNo, gas: b.gas, count: 1, meterKind: b.meterKind });
    if (w.rc !== 0) throw await this.refused(driver, w.rc, 'WriteNew');
    return this.after(
      await this.store.commitIssue({
        actor,
        maker: b.maker,
        cardType,
        cardNo: b.cardNo,
        gas: b.gas,
        count: 1,
        meterKind: b.meterKind,
        write: w,
        idem,
        decorate: this.decorate(b.maker),
      }),
    );
  }

  async reissue(actor: Actor, b: ReissueBody, idem?: Idem): Promise<WriteResult> {
    const replay = await this.replayFirst(idem);
    if (replay) return replay;
    const cardType = memoryType(b.cardType);
    const driver = driverFor(this.host, b.maker, cardType);
    await this.store.precheckReissue(b.maker, b.cardNo, b.count, b.gas);
    const w = await driver.writeNew(cardType, { cardNo: b.cardNo, gas: b.gas, count: b.count, meterKind: b.meterKind });
    if (w.rc !== 0) throw await this.refused(driver, w.rc, 'WriteNew');
    return this.after(
      await this.store.commitReissue({
        actor,
        maker: b.maker,
        cardType,
        cardNo: b.cardNo,
        gas: b.gas,
        count: b.count,
        meterKind: b.meterKind,
        write: w,
        idem,
        decorate: this.decorate(b.maker),
      }),
    );
  }

  async purchase(
    actor: Actor,
    b: CardRef & { cardNo: string; gas: number; maker?: string | undefined },
    idem?: Idem,
  ): Promise<WriteResult> {
    return this.orReplay(idem, async () => {
      const cardType = memoryType(b.cardType);
      const data = cardData(cardType, b.data);
      // Read and Buy go out with the 判卡 Checks; used only if 判卡 and the card agree (sale-ahead.ts).
      const ahead = this.saleAhead
        ? await saleAhead(this.host, this.store, cardType, data, b.cardNo, b.gas)
        : undefined;
      const asked = ahead?.start();
      const { maker, driver } =
        b.maker !== undefined
          ? await this.namedUserCard(cardType, data, b.maker, ahead)
          : await this.userCard(cardType, data);
      const early = ahead?.maker === maker && ahead.driver === driver ? asked : undefined;
      const observed = await this.observe(maker, driver, cardType, data, b.cardNo, early?.read);
      const requireEmpty = this.host.manifest(maker).rules?.requireEmptyCardBeforePurchase === true;
      // The count comes from the card; the commit refuses it unless the ledger agrees (card count = ledger count).
      const count = observed.count + 1;
      const w =
        early && ahead!.count === count
          ? await early.buy
          : await driver.buy(cardType, { source: data, cardNo: b.cardNo, gas: b.gas, count });
      if (w.rc !== 0) throw await this.refused(driver, w.rc, 'Buy');
      return this.after(
        await this.store.commitPurchase({
          actor,
          maker,
          cardType,
          cardNo: b.cardNo,
          gas: b.gas,
          count,
          observed,
          requireEmpty,
          write: w,
          sourceSha256: sha256(data),
          idem,
          decorate: this.decorate(maker),
          seen: ahead?.maker === maker ? ahead.card : undefined,
        }),
      );
    });
  }

  /** 退气: gas 0 at the same count, so a meter that wants exactly stored+1 still accepts the next sale. */
  async refund(actor: Actor, b: CardRef & { cardNo: string }, idem?: Idem): Promise<WriteResult> {
    return this.orReplay(idem, async () => {
      const cardType = memoryType(b.cardType);
      const data = cardData(cardType, b.data);
      const { maker, driver } = await this.userCard(cardType, data);
      const observed = await this.observe(maker, driver, cardType, data, b.cardNo);
      const count = observed.count;
      // Cheap refusals (nothing on the card) before the library; the commit checks everything again.
      if (observed.gas <= 0) await this.store.precheckRefund(maker, b.cardNo, observed);
      const w = await driver.buy(cardType, { source: data, cardNo: b.cardNo, gas: 0, count });
      if (w.rc !== 0) throw await this.refused(driver, w.rc, 'Buy');
      return this.after(
        await this.store.commitRefund({
          actor,
          maker,
          cardType,
          cardNo: b.cardNo,
          count,
          observed,
          write: w,
          sourceSha256: sha256(data),
          idem,
          decorate: this.decorate(maker),
        }),
      );
    });
  }

  async format(actor: Actor, b: CardRef, idem?: Idem): Promise<WriteResult> {
    const replay = await this.replayFirst(idem);
    if (replay) return replay;
    const cardType = memoryType(b.cardType);
    const data = cardData(cardType, b.data);
    const { maker, kind, driver } = await this.identifyDriver(cardType, data);
    const observed = kind === 'user' ? await this.observe(maker, driver, cardType, data) : null;
    await this.store.precheckFormat(maker, observed);
    const f = await driver.format(cardType, data);
    if (f.rc !== 0) throw await this.refused(driver, f.rc, 'Format');
    return this.after(
      await this.store.commitFormat({
        actor,
        maker,
        cardType,
        observed,
        write: { data: null, oldKey: f.oldKey, newKey: null },
        sourceSha256: sha256(data),
        idem,
        decorate: this.decorate(maker),
      }),
    );
  }

  async tool(
    actor: Actor,
    b: { maker: string; cardType: CardType; tool: string; params?: Record<string, string>; data?: string },
    idem?: Idem,
  ): Promise<WriteResult> {
    const replay = await this.replayFirst(idem);
    if (replay) return replay;
    const cardType = memoryType(b.cardType);
    const driver = driverFor(this.host, b.maker, cardType);
    // A blank card when the client does not send one: app area all FF (what every library treats as blank).
    const source = b.data !== undefined ? cardData(cardType, b.data) : 'F'.repeat(CARD_HEX_LENGTH[cardType]);
    const params = b.params ?? {};
    const w = await driver.makeTool(cardType, { kind: b.tool, params, source });
    if (w.rc !== 0) throw await this.refused(driver, w.rc, 'MakeTool');
    return this.after(
      await this.store.commitTool({
        actor,
        maker: b.maker,
        cardType,
        tool: b.tool,
        params,
        write: w,
        sourceSha256: sha256(source),
        idem,
        decorate: this.decorate(b.maker),
      }),
    );
  }

  /**
   * 认领 (go-live): a card the maker's Check claims and whose Read gives a count, unknown to the ledger, is taken
   * in at its own count (the next sale is count + 1, as the meter expects). A card number the ledger holds under
   * another maker, or at another count, is refused with the difference.
   */
  async adopt(actor: Actor, b: CardRef & { cardNo: string; reason?: string }, idem?: Idem): Promise<WriteResult> {
    const reason = b.reason?.trim() || null;
    if (actor.role === 'bank' || actor.channel === 'bank')
      throw AdoptionForbidden({ role: actor.role, channel: actor.channel, policy: this.adoption });
    if (this.adoption === 'nobody') throw AdoptionDisabled({ policy: this.adoption });
    if (this.adoption === 'ops' && actor.role !== 'ops')
      throw AdoptionForbidden({ role: actor.role, policy: this.adoption, nextStep: 'ask-ops' });
    if (actor.role !== 'ops' && !reason) throw AdoptionReasonRequired({ field: 'reason', policy: this.adoption });
    const replay = await this.replayFirst(idem);
    if (replay) return replay;
    const cardType = memoryType(b.cardType);
    const data = cardData(cardType, b.data);
    const { maker, driver } = await this.userCard(cardType, data);
    const values = await this.readValues(maker, driver, cardType, data);
    if (values.cardNo !== b.cardNo) {
      throw CardNumberMismatch(
        { requested: b.cardNo, onCard: values.cardNo },
        { zh: `卡上卡号 ${values.cardNo}`, en: `the card says ${values.cardNo}` },
      );
    }
    const observed = await this.observe(maker, driver, cardType, data, b.cardNo);
    const known = await this.store.cardsByNumber(
      b.cardNo,
      this.host.list().map((p) => p.id),
    );
    const same = known.find((k) => k.maker === maker);
    if (same) throw alreadyInLedger({ ...same, card_no: b.cardNo }, observed);
    if (known.length) {
      throw AdoptionContradictsLedger(
        {
          cardNo: b.cardNo,
          differences: { maker: { ledger: known.map((k) => k.maker), card: maker } },
          nextStep: 'reconcile',
        },
        {
          zh: `台账中此卡号属于 ${known.map((k) => k.maker).join('、')}，卡片属于 ${maker}`,
          en: `the ledger holds this number under ${known.map((k) => k.maker).join(', ')}; the card is ${maker}'s`,
        },
      );
    }
    return this.after(
      await this.store.commitAdopt({
        actor,
        maker,
        cardType,
        cardNo: b.cardNo,
        observed,
        meterKind: values.meterKind ?? null,
        reason,
        idem,
        sourceSha256: sha256(data),
        decorate: this.decorate(maker),
      }),
    );
  }

  // ---------------------------------------------------------------- transaction administration

  /** Verifies the card read-back through the maker's Read; a mismatch is recorded as FAILED and reported. */
  async confirm(id: string, b: { data?: string; readBack?: CpuReadBack }, idem?: Idem): Promise<WriteResult> {
    const tx = await this.mustTx(id);
    if (tx.card_type === 'cpu') return this.confirmCpu(tx, b, idem);
    if (b.data === undefined || b.readBack !== undefined)
      throw MemoryDataRequired({ transactionId: id, cardType: tx.card_type });
    const cardType = memoryType(tx.card_type as CardType);
    const data = cardData(cardType, b.data);
    if (verifiable(tx.state)) {
      const v = await this.verify(tx, data);
      const res = await this.store.confirm(id, v.verdict, idem);
      if (!v.verdict.ok) {
        throw WriteVerifyFailed(
          {
            transactionId: id,
            state: (res.body as { state?: string }).state ?? 'FAILED',
            expected: v.expected,
            actual: v.actual,
            nextStep: nextStepsFor('memoryVerifyFailed'),
          },
          { zh: v.verdict.message, en: v.verdict.message },
        );
      }
      return res;
    }
    return this.store.confirm(id, { ok: true }, idem); // the store explains why this state cannot be confirmed
  }

  /** The station read the card back through the maker library; the ledger records whether it says what was meant. */
  private async confirmCpu(
    tx: LedgerTxRow,
    b: { data?: string; readBack?: CpuReadBack },
    idem?: Idem,
  ): Promise<WriteResult> {
    if (!b.readBack || b.data !== undefined) throw CpuReadBackRequired({ transactionId: tx.id });
    const rb = readBackOf(b.readBack);
    if (verifiable(tx.state)) {
      const v = verifyCpu(tx, rb);
      const res = await this.store.confirm(tx.id, v.verdict, idem, JSON.stringify(rb));
      if (!v.verdict.ok) {
        throw WriteVerifyFailed(
          {
            transactionId: tx.id,
            state: (res.body as { state?: string }).state ?? 'FAILED',
            expected: v.expected,
            actual: v.actual,
            nextStep: nextStepsFor('cpuVerifyFailed'),
          },
          { zh: v.verdict.message, en: v.verdict.message },
        );
      }
      return res;
    }
    return this.store.confirm(tx.id, { ok: true }, idem);
  }

  async rewrite(actor: Actor, id: string, idem?: Idem): Promise<WriteResult> {
    const tx = await this.mustTx(id);
    return this.after(await this.store.rewrite(id, actor, idem, this.decorate(tx.maker, tx.card_type === 'cpu')));
  }

  /**
   * 冲正. With the card read-back, a write that did reach the card is refused (confirm it instead). A CPU
   * card's read-back must show the card exactly as it was before the write; without one only ops may reverse.
   */
  async reverse(
    actor: Actor,
    id: string,
    b: { data?: string; readBack?: CpuReadBack } | undefined,
    idem?: Idem,
  ): Promise<WriteResult> {
    const tx = await this.mustTx(id);
    const live = isLive(tx.state);
    if (tx.card_type === 'cpu') {
      if (b?.data !== undefined) throw CpuReadBackRequired({ transactionId: id });
      if (!b?.readBack) {
        if (live && actor.role !== 'ops')
          throw ReverseNeedsReadBack({ transactionId: id, nextStep: ['insert-card-and-reverse', 'ops-reverse'] });
        return this.store.reverse(id, actor, idem);
      }
      const rb = readBackOf(b.readBack);
      if (live) {
        const v = verifyCpu(tx, rb);
        if (v.verdict.ok) throw ReverseReachedCard({ transactionId: id, actual: v.actual, nextStep: 'confirm' });
        const before = cpuBefore(tx);
        if (before && !sameCard(before, rb)) {
          throw ReverseCardChanged({
            transactionId: id,
            expected: before,
            actual: rb,
            nextStep: ['rewrite', 'confirm'],
          });
        }
      }
      return this.store.reverse(id, actor, idem, JSON.stringify(rb));
    }
    if (b?.readBack !== undefined) throw MemoryDataRequired({ transactionId: id, cardType: tx.card_type });
    if (b?.data !== undefined && tx.card_no && live) {
      const cardType = memoryType(tx.card_type as CardType);
      const v = await this.verify(tx, cardData(cardType, b.data));
      if (v.verdict.ok) throw ReverseReachedCard({ transactionId: id, actual: v.actual, nextStep: 'confirm' });
    }
    return this.store.reverse(id, actor, idem);
  }

  /** 补卡撤销: the replacement card (as read) is erased; the reissue becomes CANCELLED. */
  async cancelReissue(actor: Actor, id: string, b: { data: string }, idem?: Idem): Promise<WriteResult> {
    const tx = await this.mustTx(id);
    if (tx.base_op !== 'reissue') {
      throw TransactionState(
        { transactionId: id, operation: tx.base_op },
        { zh: '不是补卡交易', en: 'not a reissue transaction' },
      );
    }
    const cardType = memoryType(tx.card_type as CardType);
    const data = cardData(cardType, b.data);
    const driver = driverFor(this.host, tx.maker, cardType);
    const r = await driver.read(cardType, data);
    if (r.rc !== 0 || r.cardNo !== tx.card_no) {
      throw CardNumberMismatch(
        { transactionId: id, expected: tx.card_no, actual: r.rc === 0 ? r.cardNo : null },
        {
          zh: '读回的卡不是这张补卡',
          en: 'the card sent is not this replacement card',
        },
      );
    }
    const f = await driver.format(cardType, data);
    if (f.rc !== 0) throw await this.refused(driver, f.rc, 'Format');
    return this.after(
      await this.store.cancelReissue(id, {
        actor,
        write: { data: null, oldKey: f.oldKey, newKey: null },
        idem,
        decorate: this.decorate(tx.maker),
      }),
    );
  }

  // ---------------------------------------------------------------- helpers

  private async replayFirst(idem: Idem | undefined): Promise<WriteResult | undefined> {
    // Retries of rare operations: answered without a library call. The commit checks again anyway.
    return idem ? this.store.replay(idem) : undefined;
  }

  /**
   * Sales skip the up-front lookup (the commit checks the key first, inside its transaction). A retry of a
   * committed sale is then refused by the card rules (its write is pending) — and answered from the key.
   */
  private async orReplay(idem: Idem | undefined, fn: () => Promise<WriteResult>): Promise<WriteResult> {
    try {
      return await fn();
    } catch (e) {
      if (idem && isMeterHubError(e) && (e.status === 409 || e.status === 422)) {
        const r = await this.store.replay(idem);
        if (r) return r;
      }
      throw e;
    }
  }

  private after(r: WriteResult): WriteResult {
    if (!r.replayed) hitFault('kill-after-ledger-commit');
    return r;
  }

  private decorate(maker: string, cpu = false): Decoration {
    const st = this.host.get(maker);
    return {
      fields: { standIn: st?.standIn === true, ...(st?.standIn ? { library: STAND_IN_LABEL } : {}) },
      cpuLinks: cpu,
    };
  }

  private async mustTx(id: string): Promise<LedgerTxRow> {
    const tx = await this.store.tx(id);
    if (!tx) throw TransactionNotFound({ transactionId: id });
    return tx;
  }

  private async identifyDriver(cardType: MemoryCardType, data: string) {
    const id = await this.identifyCached(cardType, data);
    return { maker: id.maker, kind: id.kind, driver: this.host.driver(id.maker) };
  }

  /**
   * 判卡 asks every enabled plugin (one driver call each). Check is a pure function of the card bytes, and
   * the station always reads a card before it sells onto it, so the answer for the very same image is kept
   * for a few seconds — keyed by the image and the set of enabled plugins, so enabling or disabling a plugin
   * asks again. Errors are never kept.
   */
  private readonly idCache = new Map<string, { at: number; id: Identification }>();
  static readonly IDENTIFY_TTL_MS = 10_000;

  private idKey(cardType: MemoryCardType, data: string): string {
    return `${cardType}|${this.host.enabledFor(cardType).join(',')}|${sha256(data)}`;
  }

  private async identifyCached(cardType: MemoryCardType, data: string): Promise<Identification> {
    const key = this.idKey(cardType, data);
    const hit = this.idCache.get(key);
    if (hit && Date.now() - hit.at < CardService.IDENTIFY_TTL_MS) return hit.id;
    let id: Identification;
    try {
      id = await this.host.identify(cardType, data);
    } catch (e) {
      // Remembered for the sales that name a maker: theirs is never again identified by its Check alone.
      if (CardConflict.is(e)) for (const m of (e.details as { makers?: string[] }).makers ?? []) this.conflicted.add(m);
      throw e;
    }
    if (this.idCache.size >= 5000) this.idCache.clear();
    this.idCache.set(key, { at: Date.now(), id });
    return id;
  }

  /**
   * Makers a full 判卡 found in a conflict since this process started: a sale naming one of them always asks
   * every maker again (the targeted Check is never trusted for them).
   */
  private readonly conflicted = new Set<string>();
  /** Sales that could be identified by the named maker's Check alone, so far (see fullIdentifyEvery). */
  private targeted = 0;
  /** One sale in this many that could ask the named maker alone asks every maker anyway (periodic check). */
  private readonly fullIdentifyEvery: number;
  /** Driver calls saved and full checks made by identify-only-where-needed (for tests and metrics). */
  readonly identifyCounts = { targeted: 0, full: 0 };

  /**
   * 判卡 for a sale that names its maker. When the ledger knows this card number under the named maker and
   * under no other enabled maker (sale-ahead found exactly that one row), only that maker's Check is asked;
   * otherwise — or when its Check does not claim the card, when the maker was ever part of a conflict, and for
   * one sale in fullIdentifyEvery — every maker is asked as usual, and a card that identifies as another
   * maker is refused (CARD_MAKER_MISMATCH). Why skipping the others is sound: docs/architecture.md.
   */
  private async namedUserCard(cardType: MemoryCardType, data: string, named: string, ahead?: SaleAhead) {
    // A full 判卡 of this very image is cached (the station's read before the sale): no call at all.
    if (ahead?.maker === named && !this.conflicted.has(named) && !this.idCache.has(this.idKey(cardType, data))) {
      if (++this.targeted % this.fullIdentifyEvery !== 0) {
        const r = await ahead.driver.check(cardType, checkInput(cardType, data));
        if (r.rc === 0) {
          this.identifyCounts.targeted++;
          return { maker: named, kind: 'user' as const, driver: ahead.driver };
        }
      }
    }
    this.identifyCounts.full++;
    const r = await this.userCard(cardType, data);
    if (r.maker !== named) throw CardMakerMismatch({ requested: named, identified: r.maker, nextStep: 'reread-card' });
    return r;
  }

  private async userCard(cardType: MemoryCardType, data: string) {
    const r = await this.identifyDriver(cardType, data);
    if (r.kind !== 'user') throw NotAUserCard({ maker: r.maker, kind: r.kind });
    return r;
  }

  /** `read`: the same Read already asked (sale-ahead); otherwise it is asked now. */
  private async readValues(
    maker: string,
    driver: CardDriver,
    cardType: MemoryCardType,
    data: string,
    read?: Promise<ReadResult>,
  ) {
    const r = await (read ?? driver.read(cardType, data));
    if (r.rc !== 0) {
      const e = await this.refused(driver, r.rc, 'Read');
      throw CardReadFailed({ maker, ...e.details }, { zh: e.zh, en: e.en });
    }
    return r;
  }

  /**
   * What the ledger compares with: card number, count and the gas still on the card. Gas counts as taken
   * once the meter has written back onto the card since it was sold (Buy clears that flag).
   */
  private async observe(
    maker: string,
    driver: CardDriver,
    cardType: MemoryCardType,
    data: string,
    cardNo?: string,
    read?: Promise<ReadResult>,
  ): Promise<ObservedCard> {
    const r = await this.readValues(maker, driver, cardType, data, read);
    if (cardNo !== undefined && r.cardNo !== cardNo) {
      throw CardNumberMismatch(
        { requested: cardNo, onCard: r.cardNo },
        { zh: `卡上卡号 ${r.cardNo}`, en: `the card says ${r.cardNo}` },
      );
    }
    const u = r.gas > 0 ? await this.usage(driver, cardType, data) : null;
    return { cardNo: r.cardNo, count: r.count, gas: u?.written ? 0 : r.gas };
  }

  private async usage(driver: CardDriver, cardType: MemoryCardType, data: string): Promise<UsageResult | null> {
    try {
      const u = await driver.readUsage(cardType, data);
      return u.rc === 0 ? u : null;
    } catch (e) {
      // A library without the extension is conformant; a crashed one is not our answer to hide.
      if (FunctionMissing.is(e)) return null;
      throw e;
    }
  }

  private presentUsage(maker: string, u: UsageResult) {
    const entry = this.host.returnCodes(maker).find((c) => c.code === String(u.lastCode));
    return {
      written: u.written,
      status: u.status,
      lastCode: {
        code: u.lastCode,
        known: !!entry,
        zh: entry?.zh ?? null,
        en: entry?.en ?? null,
        ...(entry?.standIn ? { standIn: true } : {}),
      },
      months: u.months.map((m) => ({
        month: `${String(m.yyyymm).slice(0, 4)}-${String(m.yyyymm).slice(4)}`,
        usage: (m.usage / 100).toFixed(2),
      })),
    };
  }

  private async refused(driver: CardDriver, rc: number, fn: string) {
    let text = STANDARD_RC[rc] ?? null;
    try {
      const t = await driver.errorText(rc);
      if (t.rc === 0 && t.text) text = t.text;
    } catch {
      // errorText is an extension; the standard table is the fallback.
    }
    return LibraryRefused(
      { function: fn, rc, meaning: text },
      { zh: `${fn} 返回 ${rc}${text ? `（${text}）` : ''}`, en: `${fn} returned ${rc}${text ? ` (${text})` : ''}` },
    );
  }

  /** Does the card read-back say what this transaction meant to write? */
  private async verify(
    tx: LedgerTxRow,
    data: string,
  ): Promise<{ verdict: Verdict; expected: Record<string, unknown>; actual: Record<string, unknown> }> {
    const cardType = tx.card_type as MemoryCardType;
    const driver = driverFor(this.host, tx.maker, cardType);
    const fail = (message: string, expected: Record<string, unknown>, actual: Record<string, unknown>) => ({
      verdict: { ok: false as const, code: 'WRITE_VERIFY_FAILED', message },
      expected,
      actual,
    });
    const ok = (expected: Record<string, unknown>, actual: Record<string, unknown>) => ({
      verdict: { ok: true as const },
      expected,
      actual,
    });
    const checkInput = cardType === '102' ? data.slice(0, PUBLIC_ZONE_102_HEX) : data;

    if (tx.base_op === 'tool') {
      const c = await driver.check(cardType, checkInput);
      return c.rc === 1
        ? ok({ kind: 'tool' }, { kind: 'tool' })
        : fail(`read-back is not a tool card (Check returned ${c.rc})`, { kind: 'tool' }, { check: c.rc });
    }
    if (tx.base_op === 'format' || tx.base_op === 'cancel_reissue') {
      const expected = { erased: true, cardNo: tx.card_no };
      const c = await driver.check(cardType, checkInput);
      if (c.rc !== 0) return ok(expected, { check: c.rc });
      const r = await driver.read(cardType, data);
      if (r.rc !== 0 || (tx.card_no !== null && r.cardNo !== tx.card_no)) return ok(expected, { check: c.rc });
      return fail('read-back still holds the user card', expected, { cardNo: r.cardNo, count: r.count, gas: r.gas });
    }
    const expected = {
      cardNo: tx.card_no,
      count: tx.count,
      gas: tx.gas,
      ...(tx.base_op === 'issue' || tx.base_op === 'reissue' ? { meterKind: tx.meter_kind } : {}),
    };
    const r = await driver.read(cardType, data);
    if (r.rc !== 0) return fail(`the maker's Read returned ${r.rc} for the read-back`, expected, { rc: r.rc });
    const actual = {
      cardNo: r.cardNo,
      count: r.count,
      gas: r.gas,
      ...('meterKind' in expected ? { meterKind: r.meterKind } : {}),
    };
    const diffs = Object.entries(expected)
      .filter(([k, v]) => (actual as Record<string, unknown>)[k] !== v)
      .map(([k]) => k);
    if (diffs.length) return fail(`read-back differs in ${diffs.join(', ')}`, expected, actual);
    return ok(expected, actual);
  }
}

/** A read-back is checked where confirm may run, and again on a confirmed row (the repeat answers as it is). */
function verifiable(state: string): boolean {
  return (ACTIONS.confirm.from as readonly string[]).includes(state) || state === ACTIONS.confirm.settledIn;
}

function memoryType(t: CardType): MemoryCardType {
  if (t === 'cpu') throw CpuCardAtStation({ cardType: t, use: 'POST /v1/cards/cpu/prepare' });
  return t;
}

/** Validates a CPU read-back; `kind` defaults to user when a card number is given. */
function readBackOf(r: CpuReadBack): NormalReadBack {
  const kind = r.kind ?? (r.cardNo !== undefined ? 'user' : undefined);
  if (kind === 'tool' || kind === 'blank') return { kind };
  if (kind !== 'user' || r.cardNo === undefined || r.gas === undefined || r.count === undefined) {
    throw BadInput(
      { field: 'readBack' },
      {
        zh: 'readBack：用户卡需要 cardNo、gas、count（及 meterKind），否则 kind 为 tool 或 blank',
        en: 'readBack: a user card needs cardNo, gas, count (and meterKind); otherwise kind is tool or blank',
      },
    );
  }
  return { kind: 'user', cardNo: r.cardNo, gas: r.gas, count: r.count, meterKind: r.meterKind ?? null };
}

type Verified = { verdict: Verdict; expected: Record<string, unknown>; actual: Record<string, unknown> };

/** Does the CPU read-back say what this transaction meant to write? (The same comparison as memory cards.) */
function verifyCpu(tx: LedgerTxRow, rb: NormalReadBack): Verified {
  const fail = (message: string, expected: Record<string, unknown>, actual: Record<string, unknown>): Verified => ({
    verdict: { ok: false, code: 'WRITE_VERIFY_FAILED', message },
    expected,
    actual,
  });
  const ok = (expected: Record<string, unknown>, actual: Record<string, unknown>): Verified => ({
    verdict: { ok: true },
    expected,
    actual,
  });
  if (tx.base_op === 'tool') {
    return rb.kind === 'tool'
      ? ok({ kind: 'tool' }, { kind: 'tool' })
      : fail(`read-back is not a tool card (${rb.kind})`, { kind: 'tool' }, { ...rb });
  }
  if (tx.base_op === 'format' || tx.base_op === 'cancel_reissue') {
    const expected = { erased: true, cardNo: tx.card_no };
    if (rb.kind !== 'user' || (tx.card_no !== null && rb.cardNo !== tx.card_no)) return ok(expected, { ...rb });
    return fail('read-back still holds the user card', expected, { ...rb });
  }
  const withKind = tx.base_op === 'issue' || tx.base_op === 'reissue';
  const expected = {
    kind: 'user',
    cardNo: tx.card_no,
    count: tx.count,
    gas: tx.gas,
    ...(withKind ? { meterKind: tx.meter_kind } : {}),
  };
  if (rb.kind !== 'user') return fail(`read-back is not a user card (${rb.kind})`, expected, { ...rb });
  const actual = {
    kind: 'user',
    cardNo: rb.cardNo,
    count: rb.count,
    gas: rb.gas,
    ...(withKind ? { meterKind: rb.meterKind } : {}),
  };
  const diffs = Object.entries(expected)
    .filter(([k, v]) => (actual as Record<string, unknown>)[k] !== v)
    .map(([k]) => k);
  if (diffs.length) return fail(`read-back differs in ${diffs.join(', ')}`, expected, actual);
  return ok(expected, actual);
}

/** The card as it was before this CPU write (blank for issue/reissue/tool), or null when the ledger cannot say. */
function cpuBefore(tx: LedgerTxRow): NormalReadBack | null {
  if (tx.base_op === 'issue' || tx.base_op === 'reissue' || tx.base_op === 'tool') return { kind: 'blank' };
  if (!tx.card_observed) return null;
  const o = JSON.parse(tx.card_observed) as CpuObserved;
  return { kind: 'user', cardNo: o.cardNo, gas: o.gas, count: o.count, meterKind: o.meterKind ?? null };
}

function sameCard(a: NormalReadBack, b: NormalReadBack): boolean {
  if (a.kind !== 'user' || b.kind !== 'user') return a.kind === b.kind;
  return a.cardNo === b.cardNo && a.gas === b.gas && a.count === b.count;
}

/** Validates the hex length for the card type; upper-cases (libraries output upper case). */
export function cardData(cardType: MemoryCardType, data: string, allowPublicZone = false): string {
  const len = CARD_HEX_LENGTH[cardType];
  const ok = data.length === len || (allowPublicZone && cardType === '102' && data.length === PUBLIC_ZONE_102_HEX);
  if (!ok || !/^[0-9A-Fa-f]+$/.test(data)) {
    const want = allowPublicZone && cardType === '102' ? `${PUBLIC_ZONE_102_HEX} / ${len}` : String(len);
    throw CardDataLength(
      { field: 'data', cardType, length: data.length, expected: want },
      {
        zh: `data：${cardType} 卡数据应为 ${want} 个十六进制字符，实际 ${data.length}`,
        en: `data: ${cardType} card data must be ${want} hex characters, got ${data.length}`,
      },
    );
  }
  return data.toUpperCase();
}
