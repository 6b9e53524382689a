/**
 * CPU-card (Tancy) counter operations. The maker's library drives the reader itself (company spec §4
 * "对cpu卡：直接调用表厂动态库"), so the station calls it locally through the plugin host's driver (a
 * supervised child process — the .NET bridge for Tancy's assembly). The ledger is the central server's, as for
 * memory cards. Order for every write:
 *   PSAM present? → 判卡 + read the card → server PREPARE (the server checks and sets the count, records
 *   PREPARED durably, no card data or keys) → library writes with the server's values → read back through the
 *   library → server confirm with the read-back (CONFIRMED, or FAILED with the reason).
 * Server unreachable → nothing is written to the card and nothing is kept locally. A library that fails after
 * PREPARED leaves the transaction PREPARED; the operator is told the card's state and the recoveries, which
 * read the card first and are checked by the server again (confirm · retry · rewrite 掉气补气 · reverse 冲正).
 * No local journal: every fact a recovery needs (operation, card number, gas, count) is on the server.
 */
import type { Logger } from 'pino';
import type { CardDriver } from '../driver/card-driver.ts';
import { isMeterHubError, type MeterHubError } from '../errors/meterhub-error.ts';
import { LedgerCardNotFound } from '../ledger/ledger-errors.ts';
import { isLive, recoveryFor, type RecoveryAction, type StationSituation } from '../wire/tx-states.ts';
import { CardUnknown } from '../plugins/plugin-errors.ts';
import { STAND_IN_LABEL } from '../plugins/plugin-host.ts';
import type { PluginHost } from '../plugins/plugin-types.ts';
import type { CentralClient, ServerWrite } from './central-client.ts';
import type { ReaderDriver, SamSlot } from './readers/reader-driver.ts';
import {
  StationBadInput,
  StationCardNotBlank,
  StationCpuRefused,
  StationNoCard,
  StationNoCpuPlugin,
  StationNotUserCard,
  StationPsamMissing,
  StationRecoveryRefused,
  StationWriteFailed,
} from './station-errors.ts';
import type { OperationProgress } from './station-events.ts';
import {
  adminCall,
  confirmOnServer,
  doneMessage,
  prepareOnServer,
  sha,
  UnansweredPrepares,
  writeReadBackConfirm,
  type ConfirmFamily,
  type PrepareRequest,
  type RecoverResult,
  type RecoveryDone,
  type WriteDone,
  type WriteFamily,
} from './write-flow.ts';

/** gascard.h: maker-defined code the stand-in (and our catalogue) use for "PSAM not present". */
export const RC_PSAM_MISSING = -100;
const RC_NO_CARD = -4;

export interface CpuOpsDeps {
  reader: ReaderDriver;
  host: PluginHost;
  central: CentralClient;
  logger: Logger;
  /** Port number the maker library is given (company spec: from 0). */
  com: number;
  /** Reader SAM slot holding the PSAM (checked through the station's reader). */
  psamSlot: SamSlot;
  /** Close the station's reader handle while the maker library drives the reader (a port opens once). */
  yieldReader: boolean;
  /** Optional ops token for recoveries of transactions this station's token did not create. */
  supervisorToken?: string | undefined;
}

type CpuOp = 'issue' | 'reissue' | 'purchase' | 'refund' | 'format' | 'tool';

/** The card as the maker library reads it (what the server is told, before and after a write). */
export type CpuView =
  | { kind: 'user'; cardNo: string; gas: number; count: number; meterKind: number }
  | { kind: 'tool' }
  | { kind: 'blank' };

interface CpuCard {
  maker: string;
  driver: CardDriver;
  cardNo: string;
  gas: number;
  count: number;
  meterKind: number;
  written: boolean;
}

/** A PREPARED CPU transaction as the server answered it. */
interface CpuTx {
  transactionId: string;
  /** What the write does (for a rewrite: the operation it repeats). */
  op: CpuOp;
  operation: string;
  state: string;
  maker: string;
  cardNo: string | null;
  gas: number | null;
  count: number | null;
  meterKind: number | null;
  tool?: string | undefined;
  params: Record<string, string>;
  standIn?: boolean | undefined;
}

/** What is known about the card after a write that did not finish. */
type CpuCardState = 'not-written' | 'unknown' | 'written-unverified';

/** A CPU card's server PREPARE: the ledger row only (no card data or keys); the maker library writes at the station. */
export function cpuPrepare(body: Record<string, unknown> & { operation: string }): PrepareRequest {
  return {
    path: '/v1/cards/cpu/prepare',
    body,
    keyName: `cpu-${body.operation}`,
    summary: (r) => ({ transactionId: r.transactionId, state: r.state, count: r.count }),
  };
}

/** How a CPU card's confirm errors read (the card is read back through the maker library). */
export const CPU_CONFIRM: ConfirmFamily<CpuTx, CpuView> = {
  transactionId: (tx) => tx.transactionId,
  body: (rb) => ({ body: { readBack: rb }, keyText: JSON.stringify(rb) }),
  details: { cardType: 'cpu' },
  pending: 'confirmPending',
  refused: 'cpuConfirmRefused',
  pendingText: (id) => ({
    zh: `CPU 卡已写好，但中心服务器暂时无法确认；台账交易 ${id} 仍为 PREPARED。网络恢复后请执行确认（recover confirm），不要重新售气`,
    en: `the CPU card is written but the server could not be told; ledger transaction ${id} is PREPARED. When the network is back run recover confirm; do not sell again`,
  }),
  refusedText: (e, id) => ({
    zh: `${e.zh}；交易 ${id} 为 FAILED：请掉气补气（rewrite，表厂库按同样的值再写一次），或确认卡上没有这次写入后冲正（reverse）`,
    en: `${e.en}; transaction ${id} is FAILED: rewrite it (the library writes the same values again) or, if the card does not show it, reverse it`,
  }),
};

/** Which recoveries a CPU card's state after an unfinished write allows (core/wire/tx-states.ts). */
const CPU_SITUATION: Record<CpuCardState, StationSituation> = {
  'not-written': 'cpuNotWritten',
  unknown: 'cpuUnknown',
  'written-unverified': 'cpuWrittenUnverified',
};

const FN: Record<CpuOp, string> = {
  issue: 'WriteNewCpuCard',
  reissue: 'WriteNewCpuCard',
  purchase: 'BuyCpuCard',
  refund: 'BuyCpuCard',
  format: 'FormatCpuCard',
  tool: 'MakeToolCpu',
};

export class CpuCardOps {
  /** Idempotency keys of prepares that got no answer, reused when the operator repeats the same request. */
  private readonly unanswered = new UnansweredPrepares();

  constructor(private readonly d: CpuOpsDeps) {}

  private cpuMakers(): string[] {
    return this.d.host.enabledFor('cpu');
  }

  /** Runs a library call with the reader released (mwic). */
  private async lib<T>(fn: () => Promise<T>): Promise<T> {
    const r = this.d.reader;
    const release = this.d.yieldReader && r.isOpen;
    if (release) await r.close();
    try {
      return await fn();
    } finally {
      if (release) await r.open();
    }
  }

  private async refused(driver: CardDriver, maker: string, fn: string, rc: number): Promise<MeterHubError> {
    if (rc === RC_PSAM_MISSING) return StationPsamMissing({ maker, function: fn, rc });
    let text: string | null = this.d.host.returnCodes(maker).find((c) => c.code === String(rc))?.zh ?? null;
    try {
      const t = await driver.errorText(rc);
      if (t.rc === 0 && t.text) text = t.text;
    } catch {
      /* optional extension */
    }
    return StationCpuRefused(
      { maker, function: fn, rc, meaning: text },
      { zh: `${fn} 返回 ${rc}${text ? `（${text}）` : ''}`, en: `${fn} returned ${rc}${text ? ` (${text})` : ''}` },
    );
  }

  /** PSAM first, as Tancy requires it for every card operation. */
  async assertPsam(p: OperationProgress): Promise<void> {
    const present = await p.step('check-psam', () => this.d.reader.samPresent(this.d.psamSlot));
    if (!present) throw StationPsamMissing({ slot: this.d.psamSlot });
  }

  /** 判卡 across the enabled CPU plugins; null for a card no maker claims (blank or foreign). */
  private async identify(p: OperationProgress): Promise<{ maker: string; kind: 'user' | 'tool' } | null> {
    if (!this.cpuMakers().length) throw StationNoCpuPlugin();
    try {
      return await p.step('identify', () => this.lib(() => this.d.host.identify('cpu', String(this.d.com))));
    } catch (e) {
      if (CardUnknown.is(e)) return null;
      throw e;
    }
  }

  private async readCard(p: OperationProgress, maker: string): Promise<CpuCard> {
    const driver = this.d.host.driver(maker);
    const r = await p.step('read-card', () => this.lib(() => driver.read('cpu', { com: this.d.com })));
    if (r.rc !== 0) throw await this.refused(driver, maker, 'ReadCpuCard', r.rc);
    let written = false;
    try {
      const u = await this.lib(() => driver.readUsage('cpu', { com: this.d.com }));
      written = u.rc === 0 && u.written;
    } catch {
      /* ReadUsage is an extension */
    }
    return { maker, driver, cardNo: r.cardNo, gas: r.gas, count: r.count, meterKind: r.meterKind, written };
  }

  /** The card through one maker's library: user (with its values), tool or blank. A missing card is an error. */
  private async view(driver: CardDriver, maker: string): Promise<CpuView> {
    const c = await this.lib(() => driver.check('cpu', { com: this.d.com }));
    if (c.rc === RC_NO_CARD) throw StationNoCard({ reader: this.d.reader.kind, maker });
    if (c.rc === RC_PSAM_MISSING) throw StationPsamMissing({ maker, function: 'CheckCpuCard', rc: c.rc });
    if (c.rc === 1) return { kind: 'tool' };
    if (c.rc !== 0) return { kind: 'blank' };
    const r = await this.lib(() => driver.read('cpu', { com: this.d.com }));
    if (r.rc !== 0) throw await this.refused(driver, maker, 'ReadCpuCard', r.rc);
    return { kind: 'user', cardNo: r.cardNo, gas: r.gas, count: r.count, meterKind: r.meterKind };
  }

  // ------------------------------------------------------------------------------------------- reading

  async show(p: OperationProgress): Promise<Record<string, unknown>> {
    await this.assertPsam(p);
    const id = await this.identify(p);
    if (!id)
      return {
        cardType: 'cpu',
        kind: 'blank-or-unknown',
        maker: null,
        cardNo: null,
        gas: null,
        count: null,
        meterKind: null,
        writeBack: null,
      };
    const st = this.d.host.get(id.maker);
    const base = {
      cardType: 'cpu',
      maker: id.maker,
      makerName: st?.name ?? null,
      kind: id.kind,
      standIn: st?.standIn === true,
      ...(st?.standIn ? { library: STAND_IN_LABEL } : {}),
    };
    if (id.kind !== 'user') return { ...base, cardNo: null, gas: null, count: null, meterKind: null, writeBack: null };
    const c = await this.readCard(p, id.maker);
    const driver = c.driver;
    let writeBack: Record<string, unknown> | null = null;
    try {
      const u = await this.lib(() => driver.readUsage('cpu', { com: this.d.com }));
      if (u.rc === 0) {
        const entry = this.d.host.returnCodes(id.maker).find((e) => e.code === String(u.lastCode));
        writeBack = {
          written: u.written,
          status: u.status,
          lastCode: { code: u.lastCode, known: !!entry, zh: entry?.zh ?? null, en: entry?.en ?? null },
          months: u.months.map((m) => ({
            month: `${String(m.yyyymm).slice(0, 4)}-${String(m.yyyymm).slice(4)}`,
            usage: (m.usage / 100).toFixed(2),
          })),
        };
      }
    } catch {
      /* extension */
    }
    return {
      ...base,
      cardNo: c.cardNo,
      gas: c.gas,
      count: c.count,
      meterKind: c.meterKind,
      writeBack,
      ledger: await this.ledgerView(id.maker, c.cardNo),
    };
  }

  /** The server's ledger row for the card; a display, so an unreachable server is shown, not thrown. */
  private async ledgerView(maker: string, cardNo: string): Promise<Record<string, unknown>> {
    try {
      const row = await this.d.central.call<{
        count: number;
        status: string;
        reissues: number;
        openGas: number;
        pendingTransaction: { transactionId: string } | null;
      }>('GET', `/v1/cards/${encodeURIComponent(maker)}/${encodeURIComponent(cardNo)}`);
      return {
        known: true,
        where: 'central-server',
        count: row.count,
        status: row.status,
        reissues: row.reissues,
        openGas: row.openGas,
        pendingTransactionId: row.pendingTransaction?.transactionId ?? null,
      };
    } catch (e) {
      if (LedgerCardNotFound.is(e)) return { known: false, where: 'central-server' };
      return { known: null, where: 'central-server', error: isMeterHubError(e) ? e.code : 'ERROR' };
    }
  }

  /** A card's CPU transactions in the central ledger (GET /v1/station/cpu-ledger). */
  async history(maker: string, cardNo: string): Promise<Record<string, unknown>> {
    const h = await this.d.central.call<{ transactions: Array<{ cardType: string }> }>(
      'GET',
      `/v1/transactions?maker=${encodeURIComponent(maker)}&cardNo=${encodeURIComponent(cardNo)}`,
    );
    return { where: 'central-server', transactions: h.transactions.filter((t) => t.cardType === 'cpu') };
  }

  // ------------------------------------------------------------------------------------------- operations

  async issue(
    p: OperationProgress,
    b: { maker: string; cardNo: string; gas: number; meterKind: number },
    reissue = false,
  ): Promise<WriteDone> {
    await this.assertPsam(p);
    const id = await this.identify(p);
    if (id) throw StationCardNotBlank({ maker: id.maker, kind: id.kind });
    const driver = this.d.host.driver(b.maker);
    // Reissue: the server takes the count from its ledger; the station does not send one.
    const tx = await this.prepare(p, {
      operation: reissue ? 'reissue' : 'issue',
      maker: b.maker,
      cardNo: b.cardNo,
      gas: b.gas,
      meterKind: b.meterKind,
      observed: null,
    });
    return this.write(p, tx, driver);
  }

  async purchase(p: OperationProgress, b: { gas: number }): Promise<WriteDone> {
    const c = await this.userCard(p);
    const tx = await this.prepare(p, {
      operation: 'purchase',
      maker: c.maker,
      cardNo: c.cardNo,
      gas: b.gas,
      observed: observedOf(c),
    });
    return this.write(p, tx, c.driver);
  }

  async refund(p: OperationProgress): Promise<WriteDone> {
    const c = await this.userCard(p);
    const tx = await this.prepare(p, {
      operation: 'refund',
      maker: c.maker,
      cardNo: c.cardNo,
      observed: observedOf(c),
    });
    return this.write(p, tx, c.driver);
  }

  async format(p: OperationProgress): Promise<WriteDone> {
    const c = await this.userCard(p);
    const tx = await this.prepare(p, {
      operation: 'format',
      maker: c.maker,
      cardNo: c.cardNo,
      observed: observedOf(c),
    });
    return this.write(p, tx, c.driver);
  }

  async tool(
    p: OperationProgress,
    b: { maker: string; tool: string; params?: Record<string, string> | undefined },
  ): Promise<WriteDone> {
    await this.assertPsam(p);
    const id = await this.identify(p);
    if (id) throw StationCardNotBlank({ maker: id.maker, kind: id.kind });
    const driver = this.d.host.driver(b.maker);
    const tx = await this.prepare(p, {
      operation: 'tool',
      maker: b.maker,
      tool: b.tool,
      ...(b.params ? { params: b.params } : {}),
      observed: null,
    });
    return this.write(p, tx, driver);
  }

  private async userCard(p: OperationProgress): Promise<CpuCard> {
    await this.assertPsam(p);
    const id = await this.identify(p);
    if (!id || id.kind !== 'user')
      throw StationNotUserCard({ kind: id?.kind ?? 'blank-or-unknown', maker: id?.maker ?? null });
    return this.readCard(p, id.maker);
  }

  /** Server PREPARE with an Idempotency-Key that survives an unanswered attempt (a repeat gets the same row). */
  private async prepare(
    p: OperationProgress,
    body: Record<string, unknown> & { operation: CpuOp; maker: string },
  ): Promise<CpuTx> {
    const w = await prepareOnServer(p, this.d.central, this.unanswered, cpuPrepare(body));
    const tx = txOf(w);
    // The library is about to be driven with these values: they must be what was asked.
    const asked = body as { cardNo?: string; gas?: number };
    if (
      tx.op !== body.operation ||
      tx.maker !== body.maker ||
      tx.state !== 'PREPARED' ||
      (asked.cardNo !== undefined && tx.cardNo !== asked.cardNo) ||
      (asked.gas !== undefined && body.operation !== 'refund' && tx.gas !== asked.gas)
    ) {
      throw StationBadInput(
        { field: 'server answer', transactionId: tx.transactionId },
        { zh: '服务器应答与请求不符，未写卡', en: 'the server answer does not match the request; nothing written' },
      );
    }
    p.note('ledger', 'ok', {
      transactionId: tx.transactionId,
      state: 'PREPARED',
      where: 'central-server',
      count: tx.count,
    });
    return tx;
  }

  /** The library call for a transaction, always with the values the server recorded. */
  private call(driver: CardDriver, tx: CpuTx): () => Promise<{ rc: number }> {
    const com = this.d.com;
    switch (tx.op) {
      case 'issue':
      case 'reissue':
        return () =>
          driver.cpu.writeNew({ com, cardNo: tx.cardNo!, gas: tx.gas!, count: tx.count!, meterKind: tx.meterKind! });
      case 'purchase':
      case 'refund':
        return () => driver.cpu.buy({ com, cardNo: tx.cardNo!, gas: tx.gas!, count: tx.count! });
      case 'format':
        return () => driver.cpu.format({ com, cardNo: tx.cardNo! });
      case 'tool':
        return () => driver.cpu.makeTool({ com, kind: tx.tool!, params: tx.params });
    }
  }

  /** Library write, read back through the library, confirm on the server. */
  private async write(p: OperationProgress, tx: CpuTx, driver: CardDriver): Promise<WriteDone> {
    const confirmed = await writeReadBackConfirm(p, this.d.central, this.family(driver), tx);
    return this.result(tx, confirmed.state);
  }

  /** The CPU family of the write flow: the maker library writes with the server's values and reads the card back. */
  private family(driver: CardDriver): WriteFamily<CpuTx, CpuView> {
    return {
      write: async (p, tx) => {
        let rc: number;
        try {
          rc = (await p.step('write-card', () => this.lib(this.call(driver, tx)))).rc;
        } catch (e) {
          // The library crashed or hung: whether it wrote is unknown until the card is read again.
          throw this.unfinished(tx, 'unknown', 'write-card', e);
        }
        if (rc !== 0)
          throw this.unfinished(tx, 'not-written', 'write-card', await this.refused(driver, tx.maker, FN[tx.op], rc));
      },
      readBack: async (p, tx) => {
        try {
          return await p.step('read-back', () => this.view(driver, tx.maker));
        } catch (e) {
          throw this.unfinished(tx, 'written-unverified', 'read-back', e);
        }
      },
      confirm: CPU_CONFIRM,
    };
  }

  private confirm(p: OperationProgress, tx: CpuTx, rb: CpuView): Promise<{ state: string }> {
    return confirmOnServer(p, this.d.central, CPU_CONFIRM, tx, rb);
  }

  /** The operator's message for a write that did not finish; the transaction stays PREPARED on the server. */
  private unfinished(tx: CpuTx, cardState: CpuCardState, failedStep: string, e: unknown): MeterHubError {
    const cause = isMeterHubError(e) ? e : null;
    const id = tx.transactionId;
    const ledger = {
      zh: `台账交易 ${id} 为“已准备（PREPARED）”，未确认`,
      en: `ledger transaction ${id} is PREPARED (not confirmed)`,
    };
    const recovery: RecoveryAction[] = recoveryFor(CPU_SITUATION[cardState]);
    let card: { zh: string; en: string };
    let next: { zh: string; en: string };
    if (cardState === 'not-written') {
      card = {
        zh: `表厂库拒绝了写卡（${cause?.zh ?? '?'}），据表厂库返回卡片没有被写入`,
        en: `the maker library refused the write (${cause?.en ?? '?'}); per the library the card was not written`,
      };
      next = {
        zh: '排除原因后把同一张卡留在读卡器中重试（retry，同一笔交易），或冲正（reverse，工作站先读卡核实卡上没有这次写入）',
        en: 'fix the cause and, with the same card in the reader, retry (same transaction), or reverse it (the station reads the card first to show the write is not on it)',
      };
    } else if (cardState === 'unknown') {
      card = {
        zh: `表厂库在写卡过程中崩溃或无响应（${cause?.code ?? '?'}），卡上是否已写入未知`,
        en: `the maker library crashed or hung during the write (${cause?.code ?? '?'}); whether the card was written is unknown`,
      };
      next = {
        zh: '请把同一张卡留在读卡器中，先确认（confirm：读卡核对，写好了即确认）；卡上没有这次写入时掉气补气（rewrite）或冲正（reverse）。不要重新售气',
        en: 'keep the same card in the reader and confirm first (the card is read and, if written, confirmed); if the write is not on it, rewrite or reverse. Do not sell again',
      };
    } else {
      card = {
        zh: `表厂库已完成写卡，但读回失败（${cause?.code ?? '?'}）`,
        en: `the maker library finished the write but the read-back failed (${cause?.code ?? '?'})`,
      };
      next = {
        zh: '请把同一张卡留在读卡器中确认（confirm）；读回不符时掉气补气（rewrite）。不要重新售气',
        en: 'keep the same card in the reader and confirm; if it does not read back right, rewrite. Do not sell again',
      };
    }
    this.d.logger.warn(
      { transactionId: id, cardType: 'cpu', cardState, failedStep, cause: cause?.code ?? String(e) },
      'CPU card write did not complete',
    );
    return StationWriteFailed(
      {
        transactionId: id,
        operation: tx.operation,
        cardType: 'cpu',
        ledgerState: 'PREPARED',
        ledger: 'central-server',
        cardState,
        failedStep,
        cause: cause
          ? {
              code: cause.code,
              zh: cause.zh,
              en: cause.en,
              ...(typeof cause.details?.rc === 'number' ? { rc: cause.details.rc } : {}),
            }
          : { code: 'ERROR' },
        recovery,
        recoverWith: { route: 'POST /v1/station/recover', body: { transactionId: id, action: recovery[0] } },
      },
      { zh: `${card.zh}；${ledger.zh}。${next.zh}。`, en: `${card.en}; ${ledger.en}. ${next.en}.` },
    );
  }

  private result(tx: CpuTx, state: string): WriteDone {
    return {
      ok: true,
      operation: tx.operation,
      transactionId: tx.transactionId,
      state,
      ledger: 'central-server',
      cardType: 'cpu',
      maker: tx.maker,
      cardNo: tx.cardNo,
      gas: tx.gas,
      count: tx.count,
      meterKind: tx.meterKind,
      ...(tx.standIn ? { standIn: true as const, library: STAND_IN_LABEL } : {}),
      ...(tx.tool ? { tool: tx.tool } : {}),
      message: doneMessage(tx.operation, tx.transactionId),
    };
  }

  // ------------------------------------------------------------------------------------------- recovery

  /** Is this a CPU transaction (asked of the server; false when it cannot say)? */
  async isCpuTransaction(id: string): Promise<boolean> {
    try {
      return (
        (await this.d.central.call<{ cardType: string }>('GET', `/v1/transactions/${encodeURIComponent(id)}`))
          .cardType === 'cpu'
      );
    } catch {
      return false;
    }
  }

  /**
   * Recovery of an unfinished CPU write. The card is read through the library first, every time: nothing is
   * written unless the card in the reader is this transaction's card (or the blank card it was meant for).
   *  - confirm: the read-back goes to the server (CONFIRMED if it shows the write, else FAILED);
   *  - retry: the same transaction, the library called again with the same values;
   *  - rewrite (掉气补气): a new server transaction with the same values replaces it, then the library writes;
   *  - reverse (冲正): the read-back goes along; the server refuses unless it shows the card as before the write.
   * Rewrite and reverse go with the station's own token (the server allows a counter its own transactions);
   * `supervisorToken` overrides it for another token's transaction.
   */
  async recover(
    p: OperationProgress,
    b: { transactionId: string; action: string; supervisorToken?: string | undefined },
  ): Promise<RecoverResult> {
    const id = b.transactionId;
    const tx = txOf(
      await p.step('server-transaction', () =>
        this.d.central.call<ServerWrite>('GET', `/v1/transactions/${encodeURIComponent(id)}`),
      ),
    );
    if (!isLive(tx.state)) {
      throw StationRecoveryRefused(
        { transactionId: id, state: tx.state, recovery: [] },
        {
          zh: `交易状态为 ${tx.state}，无需恢复`,
          en: `the transaction is ${tx.state}; there is nothing to recover`,
        },
      );
    }
    await this.assertPsam(p);
    const driver = this.d.host.driver(tx.maker);
    if ((await this.d.reader.detectCard()) !== 'cpu')
      throw StationNoCard({ reader: this.d.reader.kind, transactionId: id });
    const card = await p.step('read-card', () => this.view(driver, tx.maker));
    const token = b.supervisorToken ?? this.d.supervisorToken;
    switch (b.action) {
      case 'confirm': {
        const c = await this.confirm(p, tx, card);
        return this.recovered('confirm', tx, c.state);
      }
      case 'retry':
      case 'rewrite': {
        if (matches(tx, card)) {
          // The write is already on the card: confirming is all that is left (writing again is pointless).
          const c = await this.confirm(p, tx, card);
          return {
            ...this.recovered('confirm', tx, c.state),
            requested: b.action,
            note: {
              zh: '卡上已有这次写入，已直接确认',
              en: 'the card already shows this write; confirmed without writing again',
            },
          };
        }
        this.assertOwnCard(tx, card);
        let next = tx;
        if (b.action === 'rewrite') {
          next = txOf(
            await p.step(
              'server-rewrite',
              () =>
                adminCall<ServerWrite>(
                  this.d.central,
                  `/v1/transactions/${id}/rewrite`,
                  token,
                  {},
                  `station-rewrite-${id}`,
                ),
              (r) => ({ transactionId: r.transactionId }),
            ),
          );
          p.note('ledger', 'ok', { transactionId: next.transactionId, state: 'PREPARED', replaces: id });
        }
        const r = await this.write(p, next, driver);
        return { ...r, action: b.action, ...(next.transactionId !== id ? { replacedTransactionId: id } : {}) };
      }
      case 'reverse': {
        const r = await p.step(
          'server-reverse',
          () =>
            adminCall<{ state: string }>(
              this.d.central,
              `/v1/transactions/${id}/reverse`,
              token,
              { readBack: card },
              `station-reverse-${id}-${sha(JSON.stringify(card)).slice(0, 12)}`,
            ),
          (t) => ({ state: t.state }),
        );
        return {
          ok: true,
          action: 'reverse',
          transactionId: id,
          state: r.state,
          cardType: 'cpu',
          cardSent: true,
          message: {
            zh: `冲正成功：交易 ${id} 已作废（读卡核实卡上没有这次写入），可重新办理`,
            en: `Reversed: transaction ${id} is void (the card read shows the write is not on it); the operation can be done again`,
          },
        };
      }
      default:
        throw StationBadInput(
          { field: 'action' },
          {
            zh: 'action 应为 retry、confirm、rewrite 或 reverse',
            en: 'action must be retry, confirm, rewrite or reverse',
          },
        );
    }
  }

  /** Writing again only onto this transaction's card: the same user card, or a blank one for issue/reissue/tool. */
  private assertOwnCard(tx: CpuTx, card: CpuView): void {
    const blankTarget = tx.op === 'issue' || tx.op === 'reissue' || tx.op === 'tool';
    const ok = blankTarget
      ? card.kind === 'blank' || (tx.op !== 'tool' && card.kind === 'user' && card.cardNo === tx.cardNo)
      : card.kind === 'user' && card.cardNo === tx.cardNo;
    if (!ok) {
      throw StationRecoveryRefused(
        {
          transactionId: tx.transactionId,
          expectedCardNo: tx.cardNo,
          onCard: card.kind === 'user' ? card.cardNo : card.kind,
        },
        {
          zh: '读卡器中的卡不是这笔交易的卡，未写入',
          en: "the card in the reader is not this transaction's card; nothing written",
        },
      );
    }
  }

  private recovered(action: string, tx: CpuTx, state: string): RecoveryDone {
    return {
      ok: true,
      action,
      transactionId: tx.transactionId,
      state,
      cardType: 'cpu',
      maker: tx.maker,
      cardNo: tx.cardNo,
      gas: tx.gas,
      count: tx.count,
      message: {
        zh: `交易 ${tx.transactionId} 已读卡核对并确认`,
        en: `Transaction ${tx.transactionId} checked against the card and confirmed`,
      },
    };
  }
}

function observedOf(c: CpuCard): Record<string, unknown> {
  return { cardNo: c.cardNo, gas: c.gas, count: c.count, meterKind: c.meterKind, written: c.written };
}

function txOf(w: ServerWrite): CpuTx {
  const op = (w.baseOperation as string | undefined) ?? w.operation;
  return {
    transactionId: w.transactionId,
    op: op as CpuOp,
    operation: w.operation,
    state: w.state,
    maker: w.maker,
    cardNo: w.cardNo,
    gas: w.gas,
    count: w.count,
    meterKind: w.meterKind,
    tool: typeof w.tool === 'string' ? w.tool : undefined,
    params: (w.toolParams as Record<string, string> | undefined) ?? {},
    standIn: w.standIn,
  };
}

/**
 * Does the card show what this transaction writes? (The server decides on confirm; this only avoids a
 * needless write.)
 */
function matches(tx: CpuTx, c: CpuView): boolean {
  if (tx.op === 'tool') return c.kind === 'tool';
  if (tx.op === 'format') return c.kind !== 'user' || c.cardNo !== tx.cardNo;
  if (c.kind !== 'user') return false;
  return (
    c.cardNo === tx.cardNo &&
    c.gas === tx.gas &&
    c.count === tx.count &&
    (tx.op !== 'issue' && tx.op !== 'reissue' ? true : c.meterKind === tx.meterKind)
  );
}
