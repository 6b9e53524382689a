/**
 * The station's local ledger for CPU cards (Tancy). The central server does not record CPU-card operations
 * yet (it answers 422 CPU_CARD_AT_STATION), so the station keeps the same rules locally until it does:
 * an append-only JSON-lines journal, fsynced BEFORE the maker's library touches the card, with the same
 * states (PREPARED → CONFIRMED / FAILED) and the same count rules as the server's ledger (purchase count =
 * ledger count + 1, refund at the same count, reissue with the ledger count, no sale over an unconfirmed
 * write). docs/station.md says what the server must add to take this over.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { StationCpuLedger } from './station-errors.ts';

export type CpuTxState = 'PREPARED' | 'CONFIRMED' | 'FAILED';
export type CpuOp = 'issue' | 'reissue' | 'purchase' | 'refund' | 'format' | 'tool';

export interface CpuTx {
  transactionId: string;
  operation: CpuOp;
  state: CpuTxState;
  maker: string;
  cardNo: string | null;
  gas: number | null;
  count: number | null;
  meterKind: number | null;
  tool?: string;
  error?: string;
  createdAt: string;
  updatedAt: string;
}

export interface CpuCardRow {
  maker: string;
  cardNo: string;
  count: number;
  openGas: number;
  meterKind: number;
  status: 'active' | 'formatted';
  pending: string | null;
}

type Line = { t: 'tx'; tx: CpuTx } | { t: 'state'; id: string; state: CpuTxState; error?: string; at: string };

export class CpuLedger {
  private readonly txs = new Map<string, CpuTx>();

  constructor(readonly file: string) {
    if (!existsSync(file)) return;
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      if (!line.trim()) continue;
      try {
        this.apply(JSON.parse(line) as Line);
      } catch {
        // A torn last line (power loss mid-append) is ignored; every complete line before it stands.
      }
    }
  }

  private apply(l: Line): void {
    if (l.t === 'tx') this.txs.set(l.tx.transactionId, l.tx);
    else {
      const tx = this.txs.get(l.id);
      if (tx) this.txs.set(l.id, { ...tx, state: l.state, updatedAt: l.at, ...(l.error ? { error: l.error } : {}) });
    }
  }

  private append(l: Line): void {
    mkdirSync(dirname(this.file), { recursive: true });
    const fd = openSync(this.file, 'a');
    try {
      writeSync(fd, JSON.stringify(l) + '\n');
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    this.apply(l);
  }

  history(maker: string, cardNo: string): CpuTx[] {
    return [...this.txs.values()].filter((t) => t.maker === maker && t.cardNo === cardNo);
  }

  get(id: string): CpuTx | undefined { return this.txs.get(id); }

  /** The card's sequence row, derived from its history (confirmed and live rows; failed ones never count). */
  card(maker: string, cardNo: string): CpuCardRow | undefined {
    const h = this.history(maker, cardNo);
    if (!h.length) return undefined;
    let row: CpuCardRow | undefined;
    for (const t of h) {
      if (t.state === 'FAILED') continue;
      if (t.operation === 'issue' || t.operation === 'reissue') {
        row = { maker, cardNo, count: t.count ?? 1, openGas: t.gas ?? 0, meterKind: t.meterKind ?? 1, status: 'active', pending: null };
      } else if (row && t.operation === 'purchase') { row.count = t.count ?? row.count; row.openGas = t.gas ?? 0; }
      else if (row && t.operation === 'refund') row.openGas = 0;
      else if (row && t.operation === 'format') row.status = 'formatted';
      if (row) row.pending = t.state === 'PREPARED' ? t.transactionId : null;
    }
    return row;
  }

  /** The checks of the server's ledger, applied before anything is recorded or written. */
  check(op: CpuOp, maker: string, cardNo: string, o: { cardCount?: number; cardGas?: number; count?: number; gas?: number; requireEmpty?: boolean } = {}): number {
    const card = this.card(maker, cardNo);
    const refuse = (code: string, zh: string, en: string, extra: Record<string, unknown> = {}) =>
      StationCpuLedger({ reason: code, maker, cardNo, ...extra }, { zh, en });
    if (op === 'issue') {
      if (card) throw refuse('CARD_ALREADY_ISSUED', '该卡号已发过卡；丢卡请用补卡', 'this card number was already issued; use reissue for a lost card', { ledgerCount: card.count });
      return 1;
    }
    if (!card) throw refuse('CARD_NOT_IN_LEDGER', '本工作站的 CPU 卡台账中没有这张卡的发卡记录', 'the station\'s CPU ledger has no issue record for this card');
    if (card.pending) throw refuse('LAST_WRITE_UNCONFIRMED', `上一笔写卡 ${card.pending} 尚未确认`, `the last write ${card.pending} is unconfirmed`, { transactionId: card.pending });
    if (op === 'reissue') {
      if (o.gas !== undefined && o.gas !== 0 && o.gas !== card.openGas) throw refuse('REISSUE_GAS_MISMATCH', `补卡气量只能为 0 或 ${card.openGas}`, `reissue gas must be 0 or ${card.openGas}`);
      return card.count;
    }
    if (card.status === 'formatted') throw refuse('CARD_FORMATTED', '该卡已擦除，请先补卡', 'the card was formatted; reissue it first');
    if (o.cardCount !== undefined && o.cardCount !== card.count) {
      throw refuse('COUNT_MISMATCH', `卡上次数 ${o.cardCount}，台账次数 ${card.count}`, `card count ${o.cardCount}, ledger count ${card.count}`, { cardCount: o.cardCount, ledgerCount: card.count });
    }
    if (op === 'purchase') {
      if (o.requireEmpty && (o.cardGas ?? 0) > 0) throw refuse('CARD_NOT_EMPTY', '卡内有气量，不能购气（请先插表或退气）', 'the card still holds gas; put it in the meter or refund first', { cardGas: o.cardGas });
      return card.count + 1;
    }
    if (op === 'refund') {
      if ((o.cardGas ?? 0) <= 0) throw refuse('NOTHING_TO_REFUND', '卡内没有气量，无可退', 'the card holds no gas; nothing to refund');
      return card.count;
    }
    if (op === 'format') {
      if ((o.cardGas ?? 0) > 0) throw refuse('CARD_NOT_EMPTY', '卡内有气量，不能擦卡（请先退气）', 'the card still holds gas; refund first');
      return card.count;
    }
    return card.count;
  }

  prepare(tx: Omit<CpuTx, 'transactionId' | 'state' | 'createdAt' | 'updatedAt'>): CpuTx {
    const at = new Date().toISOString();
    const full: CpuTx = { ...tx, transactionId: `cpu_${Date.now().toString(36)}${randomBytes(5).toString('hex')}`, state: 'PREPARED', createdAt: at, updatedAt: at };
    this.append({ t: 'tx', tx: full });
    return full;
  }

  settle(id: string, state: 'CONFIRMED' | 'FAILED', error?: string): CpuTx {
    this.append({ t: 'state', id, state, at: new Date().toISOString(), ...(error ? { error } : {}) });
    return this.txs.get(id)!;
  }
}
