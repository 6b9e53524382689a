/**
 * The memory-card (4442/102) counter operations, one call each (company spec §4, ARCHITECTURE "Flows"):
 *  1. read the raw card (102: public zone → password from the server's 判卡 → zones 1 and 2);
 *  2. ask the central server (the ledger records PREPARED before it answers with data and keys);
 *  3-6. make sure the same card is still in the reader, then card-io's writeCard: password checked ONCE,
 *     only what changes is written, password changed if asked, read back and compared;
 *  7. confirm to the server with the read-back.
 * Any failure leaves a PendingWrite and an operator message saying exactly what state the card and the
 * ledger are in; `recover` offers what the ledger allows (retry / rewrite 掉气补气 / reverse 冲正 / confirm).
 */
import type { Logger } from 'pino';
import { isMeterHubError, type MeterHubError } from '../errors/meterhub-error.ts';
import { CardUnknown } from '../plugins/plugin-errors.ts';
import { ACTIONS, isLive, recoveryFor } from '../wire/tx-states.ts';
import { assertSameCard, assertSameCardQuick, guardedReader, snapshotOf, type CardSnapshot } from './card-guard.ts';
import type { CentralClient, ServerWrite } from './central-client.ts';
import { toHex } from './chips/hex.ts';
import { confirmPendingMessage, writeFailureMessage } from './operator-messages.ts';
import type { PendingWrite, PendingWrites } from './pending-writes.ts';
import { formatCard, readRawCard, writeCard, type RawCard, type WriteCardResult } from './readers/card-io.ts';
import { FACTORY_SC_102 } from './readers/card-keys.ts';
import type { CardType, ReaderDriver } from './readers/reader-driver.ts';
import { ReaderCardLocked, ReaderWrongPassword } from './readers/reader-errors.ts';
import {
  StationBadInput,
  StationCardNotBlank,
  StationNoPending,
  StationNotUserCard,
  StationPasswordBlocked,
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
  type ReverseDone,
  type WriteDone,
  type WriteFamily,
} from './write-flow.ts';

export interface MemoryOpsDeps {
  reader: ReaderDriver;
  central: CentralClient;
  pending: PendingWrites;
  logger: Logger;
  /**
   * An ops token configured on this station for rewrite/reverse of transactions its own token did not create
   * (usually absent). Its own transactions are recovered with the station's counter token.
   */
  supervisorToken?: string | undefined;
}

interface Identity {
  maker: string;
  makerName?: unknown;
  kind: 'user' | 'tool';
  oldKey?: string;
  standIn?: boolean;
  library?: string;
}

interface MemoryRead {
  cardType: '4442' | '102';
  raw: RawCard;
  /** Full card data (4442: 512 hex; 102: 300 hex, or null when the zones could not be read). */
  data: string | null;
  snapshot: CardSnapshot;
  id: Identity | null;
  blank: boolean;
  attemptsLeft: number;
  fingerprint: string;
}

/** A memory-card write's result (the one typed result of the station's write flow, core/station/write-flow.ts). */
export type OperationResult = WriteDone;

/** A memory card's server PREPARE: the server computes the card data and keys (POST /v1/cards/<operation>). */
export function memoryPrepare(path: string, body: Record<string, unknown>): PrepareRequest {
  return {
    path,
    body,
    keyName: path.split('/').pop() ?? 'op',
    summary: (r) => ({ transactionId: r.transactionId, state: r.state }),
  };
}

/** How a memory card's confirm errors read; the card state and recoveries are kept on the pending write. */
export function memoryConfirm(pending: PendingWrites): ConfirmFamily<PendingWrite, string> {
  return {
    transactionId: (pw) => pw.transactionId,
    body: (data) => ({ body: { data }, keyText: data }),
    details: {},
    pending: 'confirmPending',
    refused: 'memoryConfirmRefused',
    pendingText: (id) => {
      const { zh, en } = confirmPendingMessage(id);
      return { zh, en };
    },
    refusedText: (e, id) => ({
      zh: `${e.zh}；交易 ${id} 为 FAILED，可重试写卡（retry）、掉气补气（rewrite）或冲正（reverse）`,
      en: `${e.en}; transaction ${id} is FAILED: retry, rewrite or reverse it`,
    }),
    onConfirmed: (pw) => pending.delete(pw.transactionId),
    onUnconfirmed: (pw, cardState, recovery) => {
      if (cardState === 'written-unverified') pw.cardState = cardState;
      pw.recovery = recovery;
    },
  };
}

export class MemoryCardOps {
  /** Cards (by fingerprint) that refused a password in this session: never checked again blindly. */
  private readonly blocked = new Map<string, { attemptsLeft: number | undefined; at: string }>();
  /** Idempotency keys of prepares that got no answer, reused when the operator repeats the same request. */
  private readonly unanswered = new UnansweredPrepares();
  private readonly confirmFamily: ConfirmFamily<PendingWrite, string>;
  /**
   * The last 4442 read (GET /v1/station/card), for the purchase or refund that follows while the same card stays in
   * the reader (its insertionId unchanged): the clerk reads, then sells, and the card is not read twice. Used once;
   * any other operation reads the card afresh. Only this station writes the card, and every write drops it.
   */
  private lastRead: MemoryRead | undefined;
  /** The card image a write just read back (card-io writeCard's readBack), for the confirm that follows. */
  private readonly written = new WeakMap<PendingWrite, string>();

  constructor(private readonly d: MemoryOpsDeps) {
    this.confirmFamily = memoryConfirm(d.pending);
  }

  // ------------------------------------------------------------------------------------------- reading

  private fingerprint(raw: RawCard): string {
    if (raw.cardType === '4442') return `4442:${raw.chipSerial ?? ''}:${sha(raw.data)}`;
    if (raw.cardType === '102') {
      const p = raw.publicZone;
      return `102:${raw.chipSerial ?? ''}:${sha(p.slice(0, 20) + p.slice(28, 44))}`;
    }
    return `cpu:${raw.chipSerial ?? ''}`;
  }

  private assertNotBlocked(fp: string): void {
    const b = this.blocked.get(fp);
    if (b) throw StationPasswordBlocked({ attemptsLeft: b.attemptsLeft ?? null, since: b.at });
  }

  private block(fp: string, e: MeterHubError): void {
    const left = e.details?.attemptsLeft;
    this.blocked.set(fp, { attemptsLeft: typeof left === 'number' ? left : undefined, at: new Date().toISOString() });
  }

  private async identify(cardType: '4442' | '102', data: string): Promise<Identity | null> {
    try {
      return await this.d.central.call<Identity>('POST', '/v1/cards/identify', { body: { cardType, data } });
    } catch (e) {
      if (CardUnknown.is(e)) return null;
      throw e;
    }
  }

  /** Steps 1 (and the 判卡 part of 2): raw card, identification, 102 zones with the password from Check. */
  async readMemory(p: OperationProgress, o: { zones: boolean; type?: CardType; reuse?: boolean }): Promise<MemoryRead> {
    const last = this.lastRead;
    this.lastRead = undefined;
    const ins = this.d.reader.insertionId();
    if (o.reuse && last && ins !== null && last.snapshot.insertion === ins) {
      p.note('read-card', 'ok', { reused: true });
      return last;
    }
    // Taken before the read: a card swapped during the read changes it, and the image is never reused.
    const raw0 = await p.step('read-card', () => readRawCard(this.d.reader, o.type ? { type: o.type } : {}));
    if (raw0.cardType === 'cpu') throw new Error('readMemory called for a CPU card');
    const fp = this.fingerprint(raw0);
    if (raw0.cardType === '4442') {
      const app = raw0.data.slice(64);
      const blank = /^F+$/i.test(app);
      const id = blank ? null : await p.step('identify', () => this.identify('4442', raw0.data));
      const m: MemoryRead = {
        cardType: '4442',
        raw: raw0,
        data: raw0.data,
        snapshot: snapshotOf(raw0, ins),
        id,
        blank,
        attemptsLeft: raw0.attemptsLeft,
        fingerprint: fp,
      };
      this.lastRead = m;
      return m;
    }
    const pub = raw0.publicZone;
    // Blank = nothing in the code-protected zone (a formatted card keeps its issuer zone) and no maker claims it.
    const blank = /^F+$/i.test(pub.slice(28, 44));
    const id = await p.step('identify', () => this.identify('102', pub));
    if (!id || !o.zones || !id.oldKey) {
      return {
        cardType: '102',
        raw: raw0,
        data: null,
        snapshot: snapshotOf(raw0),
        id,
        blank,
        attemptsLeft: raw0.attemptsLeft,
        fingerprint: fp,
      };
    }
    this.assertNotBlocked(fp);
    if (raw0.attemptsLeft === 0) throw ReaderCardLocked({ cardType: '102', attemptsLeft: 0 });
    let raw: RawCard;
    try {
      raw = await p.step('read-zones', () => readRawCard(this.d.reader, { key102: id.oldKey! }));
    } catch (e) {
      if (isMeterHubError(e) && ReaderWrongPassword.is(e)) this.block(fp, e);
      throw e;
    }
    if (raw.cardType !== '102') throw new Error('card type changed while reading');
    return {
      cardType: '102',
      raw,
      data: raw.data,
      snapshot: snapshotOf(raw),
      id,
      blank,
      attemptsLeft: raw.attemptsLeft,
      fingerprint: fp,
    };
  }

  /** GET /v1/station/card for a memory card. */
  async show(p: OperationProgress, type?: CardType): Promise<Record<string, unknown>> {
    const m = await this.readMemory(p, { zones: true, ...(type ? { type } : {}) });
    const base = {
      cardType: m.cardType,
      chipSerial: m.raw.cardType === 'cpu' ? null : m.raw.chipSerial,
      attemptsLeft: m.attemptsLeft,
      ...(m.raw.cardType === '102' ? { ec2Left: m.raw.ec2Left } : {}),
    };
    if (!m.id) {
      return {
        ...base,
        kind: m.blank ? 'blank' : 'unknown',
        maker: null,
        cardNo: null,
        gas: null,
        count: null,
        meterKind: null,
        writeBack: null,
      };
    }
    if (m.id.kind !== 'user' || !m.data) {
      return {
        ...base,
        kind: m.id.kind,
        maker: m.id.maker,
        makerName: m.id.makerName ?? null,
        standIn: m.id.standIn === true,
        cardNo: null,
        gas: null,
        count: null,
        meterKind: null,
        writeBack: null,
      };
    }
    const data = m.data;
    const r = await p.step('server-read', () =>
      this.d.central.call<Record<string, unknown>>('POST', '/v1/cards/read', { body: { cardType: m.cardType, data } }),
    );
    return { ...base, ...r, kind: 'user' };
  }

  // ------------------------------------------------------------------------------------------- operations

  async issue(
    p: OperationProgress,
    b: { maker: string; cardNo: string; gas: number; meterKind: number },
  ): Promise<OperationResult> {
    const m = await this.readMemory(p, { zones: false });
    this.requireBlank(m);
    return this.serverThenWrite(p, m, 'POST', '/v1/cards/issue', {
      maker: b.maker,
      cardType: m.cardType,
      cardNo: b.cardNo,
      gas: b.gas,
      meterKind: b.meterKind,
    });
  }

  async reissue(
    p: OperationProgress,
    b: { maker: string; cardNo: string; gas: number; meterKind: number },
  ): Promise<OperationResult> {
    const m = await this.readMemory(p, { zones: false });
    this.requireBlank(m);
    const count = await p.step(
      'ledger-count',
      () => this.ledgerCount(b.maker, b.cardNo),
      (c) => ({ count: c }),
    );
    return this.serverThenWrite(p, m, 'POST', '/v1/cards/reissue', {
      maker: b.maker,
      cardType: m.cardType,
      cardNo: b.cardNo,
      gas: b.gas,
      meterKind: b.meterKind,
      count,
    });
  }

  async purchase(p: OperationProgress, b: { gas: number }, type?: CardType): Promise<OperationResult> {
    const { m, cardNo, maker } = await this.userCard(p, type);
    // The maker the server's read named: a server that has not cached that read asks only its Check.
    return this.serverThenWrite(p, m, 'POST', '/v1/cards/purchase', {
      cardType: m.cardType,
      data: m.data,
      cardNo,
      gas: b.gas,
      maker,
    });
  }

  async refund(p: OperationProgress, type?: CardType): Promise<OperationResult> {
    const { m, cardNo } = await this.userCard(p, type);
    return this.serverThenWrite(p, m, 'POST', '/v1/cards/refund', { cardType: m.cardType, data: m.data, cardNo });
  }

  async format(p: OperationProgress): Promise<OperationResult> {
    const m = await this.readMemory(p, { zones: true });
    if (!m.id || !m.data) {
      throw StationNotUserCard(
        { kind: m.blank ? 'blank' : 'unknown' },
        {
          zh: m.blank ? '这是空白卡，无需擦卡' : '无法识别的卡片，不能擦卡',
          en: m.blank ? 'the card is already blank' : 'unknown card; it cannot be formatted',
        },
      );
    }
    return this.serverThenWrite(
      p,
      m,
      'POST',
      '/v1/cards/format',
      { cardType: m.cardType, data: m.data },
      { format: true },
    );
  }

  async tool(
    p: OperationProgress,
    b: { maker: string; tool: string; params?: Record<string, string> | undefined },
  ): Promise<OperationResult> {
    const m = await this.readMemory(p, { zones: false });
    this.requireBlank(m);
    const data = m.cardType === '4442' ? m.data! : (m.raw as { publicZone: string }).publicZone + 'F'.repeat(256);
    return this.serverThenWrite(p, m, 'POST', '/v1/cards/tool', {
      maker: b.maker,
      cardType: m.cardType,
      tool: b.tool,
      ...(b.params ? { params: b.params } : {}),
      data,
    });
  }

  private requireBlank(m: MemoryRead): void {
    if (m.id || !m.blank) {
      throw StationCardNotBlank(
        { maker: m.id?.maker ?? null, kind: m.id?.kind ?? 'unknown' },
        m.id
          ? {
              zh: `卡上是 ${m.id.maker} 的${m.id.kind === 'user' ? '用户卡' : '工具卡'}`,
              en: `the card is a ${m.id.maker} ${m.id.kind} card`,
            }
          : { zh: '卡上有无法识别的数据', en: 'the card holds data no maker recognises' },
      );
    }
    if (m.attemptsLeft === 0) throw ReaderCardLocked({ cardType: m.cardType, attemptsLeft: 0 });
  }

  private async userCard(
    p: OperationProgress,
    type?: CardType,
  ): Promise<{ m: MemoryRead; cardNo: string; maker: string }> {
    const m = await this.readMemory(p, { zones: true, reuse: true, ...(type ? { type } : {}) });
    if (!m.id || m.id.kind !== 'user' || !m.data) {
      throw StationNotUserCard({ kind: m.id?.kind ?? (m.blank ? 'blank' : 'unknown'), maker: m.id?.maker ?? null });
    }
    if (m.attemptsLeft === 0) throw ReaderCardLocked({ cardType: m.cardType, attemptsLeft: 0 });
    this.assertNotBlocked(m.fingerprint);
    const data = m.data;
    const r = await p.step('server-read', () =>
      this.d.central.call<{ cardNo: string; maker: string }>('POST', '/v1/cards/read', {
        body: { cardType: m.cardType, data },
      }),
    );
    return { m, cardNo: r.cardNo, maker: r.maker };
  }

  /** 补卡 carries the real count: the highest count of the card's live or confirmed ledger rows. */
  private async ledgerCount(maker: string, cardNo: string): Promise<number> {
    const h = await this.d.central.call<{ transactions: Array<{ count: number | null; state: string }> }>(
      'GET',
      `/v1/transactions?maker=${encodeURIComponent(maker)}&cardNo=${encodeURIComponent(cardNo)}`,
    );
    const counts = h.transactions
      .filter((t) => (isLive(t.state) || t.state === ACTIONS.confirm.to) && typeof t.count === 'number')
      .map((t) => t.count as number);
    // No history: the server explains (CARD_NOT_IN_LEDGER) when asked with count 1.
    return counts.length ? Math.max(...counts) : 1;
  }

  /** Steps 2-7. */
  private async serverThenWrite(
    p: OperationProgress,
    m: MemoryRead,
    _method: 'POST',
    path: string,
    body: Record<string, unknown>,
    o: { format?: boolean } = {},
  ): Promise<OperationResult> {
    this.lastRead = undefined;
    this.assertNotBlocked(m.fingerprint);
    const w = await prepareOnServer(p, this.d.central, this.unanswered, memoryPrepare(path, body));
    if (!w.oldKey || (!o.format && !w.data))
      throw StationBadInput(
        { field: 'server answer' },
        { zh: '服务器应答缺少卡数据或密码', en: 'the server answer lacks card data or keys' },
      );
    const pw: PendingWrite = {
      transactionId: w.transactionId,
      operation: w.operation,
      cardType: m.cardType,
      maker: w.maker,
      cardNo: w.cardNo,
      data: o.format ? null : w.data,
      oldKey: w.oldKey,
      newKey: w.newKey,
      snapshot: m.snapshot,
      passwordChanged: false,
      cardState: 'untouched',
      recovery: [],
      createdAt: new Date().toISOString(),
    };
    this.d.pending.set(pw);
    p.note('ledger', 'ok', { transactionId: w.transactionId, state: 'PREPARED' });
    await this.writeAndConfirm(p, pw, { fingerprint: m.fingerprint });
    return this.result(pw, w);
  }

  private async writeAndConfirm(
    p: OperationProgress,
    pw: PendingWrite,
    o: { fingerprint?: string; recovering?: boolean },
  ): Promise<{ state: string }> {
    return writeReadBackConfirm(p, this.d.central, this.family(o), pw);
  }

  /** The memory family of the write flow: card-io writes what the server computed; the read-back is the raw card. */
  private family(o: { fingerprint?: string; recovering?: boolean }): WriteFamily<PendingWrite, string> {
    return {
      write: (p, pw) => this.writeCard(p, pw, o),
      readBack: (p, pw) =>
        p.step('read-back', async () => {
          // The write has just read back what it wrote (card-io): that image, not a second read of the card.
          const back = this.written.get(pw);
          this.written.delete(pw);
          return back ?? this.readBack(pw);
        }),
      confirm: this.confirmFamily,
    };
  }

  /** Steps 3-6: the same card, then the write (password checked once); a failure throws the operator's message. */
  private async writeCard(
    p: OperationProgress,
    pw: PendingWrite,
    o: { fingerprint?: string; recovering?: boolean },
  ): Promise<void> {
    const allowTarget = o.recovering && pw.data ? pw.data : undefined;
    this.lastRead = undefined;
    this.written.delete(pw);
    // Step 3 (part): the same card is still in the reader (a swap is caught here, before any password check).
    // A 4442 write starts from the bytes this check vouches for: the snapshot (quick form) or the check's own read.
    let current: string | undefined;
    try {
      await p.step('check-same-card', async () => {
        if (!allowTarget && (await assertSameCardQuick(this.d.reader, pw.snapshot))) {
          current = pw.snapshot.data ?? undefined;
          return;
        }
        const now = await assertSameCard(this.d.reader, pw.snapshot, allowTarget ? { allowTarget } : {});
        if (now) current = toHex(now);
      });
    } catch (e) {
      if (!isMeterHubError(e)) throw e;
      this.fail(
        pw,
        {
          ok: false,
          cardState: 'untouched',
          failedStep: 'check-card',
          error: e,
          steps: [],
          bytesWritten: 0,
          passwordChanged: false,
        },
        o.fingerprint,
      );
    }
    let bytes = 0;
    const guarded = guardedReader(this.d.reader, pw.snapshot, {
      ...(allowTarget ? { allowTarget } : {}),
      onWrite: (n) => {
        bytes += n;
        p.note('writing', 'ok', { bytes });
      },
    });
    const currentKey = pw.passwordChanged && pw.newKey ? pw.newKey : pw.oldKey;
    let r: WriteCardResult;
    try {
      r = await p.step('write-card', () =>
        pw.data === null
          ? formatCard(guarded, { cardType: pw.cardType, oldKey: currentKey })
          : writeCard(guarded, {
              cardType: pw.cardType,
              data: pw.data,
              oldKey: currentKey,
              ...(pw.newKey ? { newKey: pw.newKey } : {}),
              ...(pw.cardType === '4442' && current ? { current } : {}),
            }),
      );
    } catch (e) {
      // formatCard's own pre-read (card type, header) failed: nothing was written.
      if (!isMeterHubError(e)) throw e;
      r = {
        ok: false,
        cardState: 'untouched',
        failedStep: 'check-card',
        error: e,
        steps: [],
        bytesWritten: 0,
        passwordChanged: false,
      };
    }
    for (const s of r.steps)
      p.note(`card:${s.step}`, s.ok ? 'ok' : 'failed', s.count !== undefined ? { count: s.count } : undefined);
    if (r.passwordChanged) pw.passwordChanged = true;
    if (!r.ok) this.fail(pw, r, o.fingerprint);
    pw.cardState = 'written-verified';
    if (r.readBack) this.written.set(pw, r.readBack);
  }

  /** Records the failure on the pending write and throws the operator's message. */
  private fail(pw: PendingWrite, r: WriteCardResult, fingerprint?: string): never {
    const cause = r.error;
    // A recovery attempt that did not touch the card (wrong card in the slot…) leaves the card as it was.
    const keep = r.cardState === 'untouched' && pw.cardState !== 'untouched';
    const passwordFailure = !!cause && (ReaderWrongPassword.is(cause) || ReaderCardLocked.is(cause));
    if (!keep) {
      pw.cardState = r.cardState;
      pw.failedStep = r.failedStep;
      pw.causeCode = cause?.code;
    } else if (passwordFailure) {
      pw.failedStep = r.failedStep;
      pw.causeCode = cause.code;
    }
    const attemptsLeft =
      r.attemptsLeft ?? (typeof cause?.details?.attemptsLeft === 'number' ? cause.details.attemptsLeft : undefined);
    if (
      cause &&
      r.failedStep === 'verify-password' &&
      (ReaderWrongPassword.is(cause) || ReaderCardLocked.is(cause)) &&
      fingerprint
    )
      this.block(fingerprint, cause);
    const msg = writeFailureMessage({
      transactionId: pw.transactionId,
      cardState: pw.cardState,
      failedStep: r.failedStep,
      causeCode: cause?.code,
      attemptsLeft,
    });
    pw.recovery = msg.recovery;
    this.d.logger.warn(
      { transactionId: pw.transactionId, cardState: r.cardState, failedStep: r.failedStep, cause: cause?.code },
      'card write did not complete',
    );
    throw StationWriteFailed(
      {
        transactionId: pw.transactionId,
        operation: pw.operation,
        ledgerState: 'PREPARED',
        cardState: pw.cardState,
        failedStep: r.failedStep ?? null,
        bytesWritten: r.bytesWritten,
        passwordChanged: pw.passwordChanged,
        ...(attemptsLeft !== undefined ? { attemptsLeft } : {}),
        cause: cause ? { code: cause.code, zh: cause.zh, en: cause.en } : null,
        recovery: msg.recovery,
        recoverWith: msg.recovery.length
          ? { route: 'POST /v1/station/recover', body: { transactionId: pw.transactionId, action: msg.recovery[0] } }
          : null,
      },
      { zh: msg.zh, en: msg.en },
    );
  }

  /** Reads the card back (no new password check on a 4442; one check with the known-good key on a 102). */
  private async readBack(pw: PendingWrite): Promise<string> {
    if (pw.cardType === '4442') return toHex(await this.d.reader.read4442(0, 256));
    const key =
      pw.data === null && pw.passwordChanged
        ? factoryKey102(pw.oldKey)
        : pw.passwordChanged && pw.newKey
          ? pw.newKey
          : pw.oldKey;
    const raw = await readRawCard(this.d.reader, { key102: key });
    if (raw.cardType !== '102' || !raw.data) throw new Error('read-back of a 102 card gave no data');
    return raw.data;
  }

  /** Read back, then confirm on the server (the card was written earlier, or just now). */
  private async confirm(p: OperationProgress, pw: PendingWrite): Promise<{ state: string }> {
    const data = await p.step('read-back', () => this.readBack(pw));
    return confirmOnServer(p, this.d.central, this.confirmFamily, pw, data);
  }

  private result(pw: PendingWrite, w: ServerWrite): OperationResult {
    return {
      ok: true,
      operation: w.operation,
      transactionId: w.transactionId,
      state: 'CONFIRMED',
      cardType: pw.cardType,
      maker: w.maker,
      cardNo: w.cardNo,
      gas: w.gas,
      count: w.count,
      meterKind: w.meterKind,
      ...(w.standIn ? { standIn: true as const, library: w.library } : {}),
      ...(w.tool ? { tool: w.tool } : {}),
      message: doneMessage(w.operation, w.transactionId),
    };
  }

  // ------------------------------------------------------------------------------------------- recovery

  async recover(
    p: OperationProgress,
    b: { transactionId: string; action: string; supervisorToken?: string | undefined },
  ): Promise<RecoverResult> {
    this.lastRead = undefined;
    const pw = this.d.pending.get(b.transactionId);
    switch (b.action) {
      case 'retry':
        return this.retry(p, pw, b.transactionId);
      case 'confirm':
        return this.recoverConfirm(p, pw, b.transactionId);
      case 'rewrite':
        return this.rewrite(p, pw, b.transactionId, b.supervisorToken ?? this.d.supervisorToken);
      case 'reverse':
        return this.reverse(p, pw, b.transactionId, b.supervisorToken ?? this.d.supervisorToken);
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

  private refuseBlind(pw: PendingWrite): void {
    if (pw.causeCode === 'READER_WRONG_PASSWORD' || pw.causeCode === 'READER_CARD_LOCKED') {
      throw StationRecoveryRefused(
        { transactionId: pw.transactionId, cardState: pw.cardState, recovery: recoveryFor('memoryWrongPassword') },
        {
          zh: '这张卡拒绝了密码，重试就是盲目再核对一次密码，不允许；请运维冲正（reverse）',
          en: 'the card refused the password; retrying would be a blind password retry — have ops reverse it',
        },
      );
    }
    if (pw.cardState === 'written-password-unknown') {
      throw StationRecoveryRefused(
        { transactionId: pw.transactionId, cardState: pw.cardState, recovery: recoveryFor('memoryPasswordUnknown') },
        {
          zh: '卡密码可能只改了一部分，再写卡可能锁卡；请运维联系表厂处理',
          en: 'the card password may be half-changed; writing again may lock the card — ops must handle it with the maker',
        },
      );
    }
  }

  /** Same transaction, same data and keys, onto the same physical card (the station still holds them). */
  private async retry(p: OperationProgress, pw: PendingWrite | undefined, id: string): Promise<RecoveryDone> {
    if (!pw) throw StationNoPending({ transactionId: id });
    this.refuseBlind(pw);
    await this.writeAndConfirm(p, pw, { recovering: true });
    return this.recovered(pw, 'retry', id);
  }

  private async recoverConfirm(p: OperationProgress, pw: PendingWrite | undefined, id: string): Promise<RecoveryDone> {
    if (!pw) throw StationNoPending({ transactionId: id });
    if (pw.cardState !== 'written-verified') {
      throw StationRecoveryRefused(
        { transactionId: id, cardState: pw.cardState, recovery: pw.recovery },
        { zh: '卡还没有写好，不能确认', en: 'the card is not written yet; it cannot be confirmed' },
      );
    }
    await p.step('check-same-card', () =>
      assertSameCard(this.d.reader, pw.snapshot, pw.data ? { allowTarget: pw.data } : {}),
    );
    await this.confirm(p, pw);
    return this.recovered(pw, 'confirm', id);
  }

  /** 掉气补气 through the server: a new PREPARED transaction with the same data and keys, written and confirmed. */
  private async rewrite(
    p: OperationProgress,
    pw: PendingWrite | undefined,
    id: string,
    token: string | undefined,
  ): Promise<RecoveryDone> {
    if (pw) this.refuseBlind(pw);
    const w = await p.step(
      'server-rewrite',
      () =>
        adminCall<ServerWrite>(this.d.central, `/v1/transactions/${id}/rewrite`, token, {}, `station-rewrite-${id}`),
      (r) => ({ transactionId: r.transactionId }),
    );
    if (!w.oldKey) throw StationBadInput({ field: 'server answer' });
    let base = pw;
    if (!base) {
      // The station restarted: the card must show it is this transaction's card before anything is written.
      const m = await this.readMemory(p, { zones: true });
      if (!m.data || (m.data !== w.data && (await this.cardNoOf(m)) !== w.cardNo)) {
        throw StationRecoveryRefused(
          { transactionId: id, newTransactionId: w.transactionId },
          {
            zh: '读卡器中的卡无法确认是这笔交易的卡，未写入',
            en: "the card in the reader cannot be shown to be this transaction's card; nothing written",
          },
        );
      }
      base = {
        transactionId: w.transactionId,
        operation: w.operation,
        cardType: m.cardType,
        maker: w.maker,
        cardNo: w.cardNo,
        data: w.data,
        oldKey: w.oldKey,
        newKey: w.newKey,
        snapshot: m.snapshot,
        passwordChanged: m.data === w.data,
        cardState: 'untouched',
        recovery: [],
        createdAt: new Date().toISOString(),
      };
    }
    this.d.pending.delete(id);
    const next: PendingWrite = {
      ...base,
      transactionId: w.transactionId,
      operation: w.operation,
      oldKey: w.oldKey,
      newKey: w.newKey,
      data: w.data,
    };
    this.d.pending.set(next);
    await this.writeAndConfirm(p, next, { recovering: true });
    return { ...this.recovered(next, 'rewrite', id), replacedTransactionId: id };
  }

  private async cardNoOf(m: MemoryRead): Promise<string | null> {
    try {
      return (
        await this.d.central.call<{ cardNo: string | null }>('POST', '/v1/cards/read', {
          body: { cardType: m.cardType, data: m.data },
        })
      ).cardNo;
    } catch {
      return null;
    }
  }

  /** 冲正: only for a write that never reached the card; the card read-back goes along so the server can refuse. */
  private async reverse(
    p: OperationProgress,
    pw: PendingWrite | undefined,
    id: string,
    token: string | undefined,
  ): Promise<ReverseDone> {
    if (pw && pw.cardState !== 'untouched') {
      throw StationRecoveryRefused(
        { transactionId: id, cardState: pw.cardState, recovery: pw.recovery },
        {
          zh: '卡上已有本次写卡的部分或全部数据，不能冲正；请重试（retry）或掉气补气（rewrite）',
          en: 'part or all of this write is on the card; it cannot be reversed — retry or rewrite instead',
        },
      );
    }
    let data: string | undefined;
    try {
      const type = await this.d.reader.detectCard();
      if (type === '4442' && (!pw || (await this.sameCard(pw)))) data = toHex(await this.d.reader.read4442(0, 256));
      if (
        type === '102' &&
        pw &&
        (await this.sameCard(pw)) &&
        pw.causeCode !== 'READER_WRONG_PASSWORD' &&
        pw.snapshot.data
      )
        data = pw.snapshot.data;
    } catch {
      /* no card or no reader: the server reverses on the ledger's word alone */
    }
    const tx = await p.step(
      'server-reverse',
      () =>
        adminCall<{ state: string }>(
          this.d.central,
          `/v1/transactions/${id}/reverse`,
          token,
          data ? { data } : {},
          `station-reverse-${id}`,
        ),
      (t) => ({ state: t.state }),
    );
    this.d.pending.delete(id);
    return {
      ok: true,
      action: 'reverse',
      transactionId: id,
      state: tx.state,
      cardSent: data !== undefined,
      message: {
        zh: `冲正成功：交易 ${id} 已作废（卡上没有这次写入），可重新办理`,
        en: `Reversed: transaction ${id} is void (the write never reached the card); the operation can be done again`,
      },
    };
  }

  private async sameCard(pw: PendingWrite): Promise<boolean> {
    try {
      await assertSameCard(this.d.reader, pw.snapshot);
      return true;
    } catch {
      return false;
    }
  }

  private recovered(pw: PendingWrite, action: string, id: string): RecoveryDone {
    return {
      ok: true,
      action,
      transactionId: pw.transactionId,
      ...(pw.transactionId !== id ? { replacedTransactionId: id } : {}),
      state: 'CONFIRMED',
      cardType: pw.cardType,
      maker: pw.maker,
      cardNo: pw.cardNo,
      message:
        action === 'rewrite'
          ? {
              zh: `掉气补气成功：新交易 ${pw.transactionId} 已写卡并确认（原交易 ${id} 已被取代）`,
              en: `Rewrite done: new transaction ${pw.transactionId} written and confirmed (replaces ${id})`,
            }
          : {
              zh: `交易 ${pw.transactionId} 已写卡并确认`,
              en: `Transaction ${pw.transactionId} written and confirmed`,
            },
    };
  }
}

/** The factory 102 key after an erase, keeping non-factory erase keys when the maker uses them. */
function factoryKey102(oldKey: string): string {
  const parts = oldKey.split(':');
  return parts.length === 3 ? `${FACTORY_SC_102}:${parts[1]}:${parts[2]}` : FACTORY_SC_102;
}
