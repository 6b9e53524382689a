/**
 * CPU-card (Tancy) counter operations. The maker's library drives the reader itself (company spec §4
 * "对cpu卡：直接调用表厂动态库"), so the station calls it locally through the plugin host's driver (a
 * supervised child process — the .NET bridge for Tancy's assembly). Order for every write:
 * PSAM present? → 判卡 + read the card → local CPU ledger checks → ledger PREPARED (fsynced) → library
 * writes → read back through the library → CONFIRMED (or FAILED with the reason).
 */
import type { Logger } from 'pino';
import type { CardDriver } from '../driver/card-driver.ts';
import { isMeterHubError } from '../errors/meterhub-error.ts';
import { STAND_IN_LABEL } from '../plugins/plugin-host.ts';
import type { PluginHost } from '../plugins/plugin-types.ts';
import type { CpuLedger, CpuOp, CpuTx } from './cpu-ledger.ts';
import type { ReaderDriver, SamSlot } from './readers/reader-driver.ts';
import { StationCardNotBlank, StationCpuRefused, StationNoCpuPlugin, StationNotUserCard, StationPsamMissing } from './station-errors.ts';
import type { OperationProgress } from './station-events.ts';

/** gascard.h: maker-defined code the stand-in (and our catalogue) use for "PSAM not present". */
export const RC_PSAM_MISSING = -100;
const RC_NO_CARD = -4;

export interface CpuOpsDeps {
  reader: ReaderDriver;
  host: PluginHost;
  ledger: CpuLedger;
  logger: Logger;
  /** Port number the maker library is given (company spec: from 0). */
  com: number;
  /** Reader SAM slot holding the PSAM (checked through the station's reader). */
  psamSlot: SamSlot;
  /** Close the station's reader handle while the maker library drives the reader (a port opens once). */
  yieldReader: boolean;
}

interface CpuCard {
  maker: string;
  kind: 'user' | 'tool';
  driver: CardDriver;
  cardNo: string;
  gas: number;
  count: number;
  meterKind: number;
  written: boolean;
}

export class CpuCardOps {
  constructor(private readonly d: CpuOpsDeps) {}

  private cpuMakers(): string[] {
    return this.d.host.list().filter((p) => p.enabled && p.cardTypes.includes('cpu')).map((p) => p.id);
  }

  /** Runs a library call with the reader released (mwic) and maps PSAM/no-card codes. */
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

  private async refused(driver: CardDriver, maker: string, fn: string, rc: number): Promise<Error> {
    if (rc === RC_PSAM_MISSING) return StationPsamMissing({ maker, function: fn, rc });
    let text: string | null = this.d.host.returnCodes(maker).find((c) => c.code === String(rc))?.zh ?? null;
    try {
      const t = await driver.errorText(rc);
      if (t.rc === 0 && t.text) text = t.text;
    } catch { /* optional extension */ }
    return StationCpuRefused({ maker, function: fn, rc, meaning: text }, { zh: `${fn} 返回 ${rc}${text ? `（${text}）` : ''}`, en: `${fn} returned ${rc}${text ? ` (${text})` : ''}` });
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
      if (isMeterHubError(e) && e.code === 'CARD_UNKNOWN') return null;
      throw e;
    }
  }

  private async readCard(p: OperationProgress, maker: string, kind: 'user' | 'tool'): Promise<CpuCard> {
    const driver = this.d.host.driver(maker);
    const r = await p.step('read-card', () => this.lib(() => driver.read('cpu', { com: this.d.com })));
    if (r.rc !== 0) throw await this.refused(driver, maker, 'ReadCpuCard', r.rc);
    let written = false;
    try {
      const u = await this.lib(() => driver.readUsage('cpu', { com: this.d.com }));
      written = u.rc === 0 && u.written;
    } catch { /* ReadUsage is an extension */ }
    return { maker, kind, driver, cardNo: r.cardNo, gas: r.gas, count: r.count, meterKind: r.meterKind, written };
  }

  async show(p: OperationProgress): Promise<Record<string, unknown>> {
    await this.assertPsam(p);
    const id = await this.identify(p);
    if (!id) return { cardType: 'cpu', kind: 'blank-or-unknown', maker: null, cardNo: null, gas: null, count: null, meterKind: null, writeBack: null };
    const st = this.d.host.get(id.maker);
    const base = { cardType: 'cpu', maker: id.maker, makerName: st?.name ?? null, kind: id.kind, standIn: st?.standIn === true, ...(st?.standIn ? { library: STAND_IN_LABEL } : {}) };
    if (id.kind !== 'user') return { ...base, cardNo: null, gas: null, count: null, meterKind: null, writeBack: null };
    const c = await this.readCard(p, id.maker, id.kind);
    const driver = c.driver;
    let writeBack: Record<string, unknown> | null = null;
    try {
      const u = await this.lib(() => driver.readUsage('cpu', { com: this.d.com }));
      if (u.rc === 0) {
        const entry = this.d.host.returnCodes(id.maker).find((e) => e.code === String(u.lastCode));
        writeBack = {
          written: u.written, status: u.status,
          lastCode: { code: u.lastCode, known: !!entry, zh: entry?.zh ?? null, en: entry?.en ?? null },
          months: u.months.map((m) => ({ month: `${String(m.yyyymm).slice(0, 4)}-${String(m.yyyymm).slice(4)}`, usage: (m.usage / 100).toFixed(2) })),
        };
      }
    } catch { /* extension */ }
    const row = this.d.ledger.card(id.maker, c.cardNo);
    return {
      ...base, cardNo: c.cardNo, gas: c.gas, count: c.count, meterKind: c.meterKind, writeBack,
      ledger: row ? { known: true, where: 'station-local', count: row.count, status: row.status, pendingTransactionId: row.pending } : { known: false, where: 'station-local' },
    };
  }

  async issue(p: OperationProgress, b: { maker: string; cardNo: string; gas: number; meterKind: number }, reissue = false): Promise<Record<string, unknown>> {
    await this.assertPsam(p);
    const id = await this.identify(p);
    if (id) throw StationCardNotBlank({ maker: id.maker, kind: id.kind });
    const driver = this.d.host.driver(b.maker);
    const op: CpuOp = reissue ? 'reissue' : 'issue';
    const count = await p.step('ledger-check', async () => this.d.ledger.check(op, b.maker, b.cardNo, { gas: b.gas }));
    const tx = this.d.ledger.prepare({ operation: op, maker: b.maker, cardNo: b.cardNo, gas: b.gas, count, meterKind: b.meterKind });
    return this.write(p, tx, driver, () => driver.cpu.writeNew({ com: this.d.com, cardNo: b.cardNo, gas: b.gas, count, meterKind: b.meterKind }), 'WriteNewCpuCard',
      { cardNo: b.cardNo, gas: b.gas, count, meterKind: b.meterKind });
  }

  async purchase(p: OperationProgress, b: { gas: number }): Promise<Record<string, unknown>> {
    const c = await this.userCard(p);
    const requireEmpty = this.d.host.manifest(c.maker).rules?.requireEmptyCardBeforePurchase === true;
    const count = await p.step('ledger-check', async () => this.d.ledger.check('purchase', c.maker, c.cardNo, { cardCount: c.count, cardGas: c.written ? 0 : c.gas, requireEmpty }));
    const tx = this.d.ledger.prepare({ operation: 'purchase', maker: c.maker, cardNo: c.cardNo, gas: b.gas, count, meterKind: c.meterKind });
    return this.write(p, tx, c.driver, () => c.driver.cpu.buy({ com: this.d.com, cardNo: c.cardNo, gas: b.gas, count }), 'BuyCpuCard', { cardNo: c.cardNo, gas: b.gas, count });
  }

  async refund(p: OperationProgress): Promise<Record<string, unknown>> {
    const c = await this.userCard(p);
    const count = await p.step('ledger-check', async () => this.d.ledger.check('refund', c.maker, c.cardNo, { cardCount: c.count, cardGas: c.written ? 0 : c.gas }));
    const tx = this.d.ledger.prepare({ operation: 'refund', maker: c.maker, cardNo: c.cardNo, gas: 0, count, meterKind: c.meterKind });
    return this.write(p, tx, c.driver, () => c.driver.cpu.buy({ com: this.d.com, cardNo: c.cardNo, gas: 0, count }), 'BuyCpuCard', { cardNo: c.cardNo, gas: 0, count });
  }

  async format(p: OperationProgress): Promise<Record<string, unknown>> {
    const c = await this.userCard(p);
    const count = await p.step('ledger-check', async () => this.d.ledger.check('format', c.maker, c.cardNo, { cardCount: c.count, cardGas: c.written ? 0 : c.gas }));
    const tx = this.d.ledger.prepare({ operation: 'format', maker: c.maker, cardNo: c.cardNo, gas: 0, count, meterKind: c.meterKind });
    return this.write(p, tx, c.driver, () => c.driver.cpu.format({ com: this.d.com, cardNo: c.cardNo }), 'FormatCpuCard', null);
  }

  async tool(p: OperationProgress, b: { maker: string; tool: string; params?: Record<string, string> | undefined }): Promise<Record<string, unknown>> {
    await this.assertPsam(p);
    const id = await this.identify(p);
    if (id) throw StationCardNotBlank({ maker: id.maker, kind: id.kind });
    const driver = this.d.host.driver(b.maker);
    const tx = this.d.ledger.prepare({ operation: 'tool', maker: b.maker, cardNo: null, gas: null, count: null, meterKind: null, tool: b.tool });
    return this.write(p, tx, driver, () => driver.cpu.makeTool({ com: this.d.com, kind: b.tool, params: b.params ?? {} }), 'MakeToolCpu', 'tool');
  }

  private async userCard(p: OperationProgress): Promise<CpuCard> {
    await this.assertPsam(p);
    const id = await this.identify(p);
    if (!id || id.kind !== 'user') throw StationNotUserCard({ kind: id?.kind ?? 'blank-or-unknown', maker: id?.maker ?? null });
    return this.readCard(p, id.maker, id.kind);
  }

  /** Library write, then read back through the library; the local ledger settles either way. */
  private async write(
    p: OperationProgress, tx: CpuTx, driver: CardDriver, call: () => Promise<{ rc: number }>, fn: string,
    expect: { cardNo: string; gas: number; count: number; meterKind?: number } | null | 'tool',
  ): Promise<Record<string, unknown>> {
    p.note('ledger', 'ok', { transactionId: tx.transactionId, state: 'PREPARED', where: 'station-local' });
    let rc: number;
    try {
      rc = (await p.step('write-card', () => this.lib(call))).rc;
    } catch (e) {
      // The library crashed or hung: whether it wrote is unknown until the card is read again.
      this.d.ledger.settle(tx.transactionId, 'FAILED', isMeterHubError(e) ? e.code : 'ERROR');
      throw e;
    }
    if (rc !== 0) {
      this.d.ledger.settle(tx.transactionId, 'FAILED', `${fn}:${rc}`);
      throw await this.refused(driver, tx.maker, fn, rc);
    }
    const check = await p.step('read-back', () => this.lib(() => driver.check('cpu', { com: this.d.com })));
    let ok: boolean;
    if (expect === 'tool') ok = check.rc === 1;
    else if (expect === null) ok = check.rc !== 0 && check.rc !== RC_NO_CARD;
    else {
      const r = await this.lib(() => driver.read('cpu', { com: this.d.com }));
      ok = r.rc === 0 && r.cardNo === expect.cardNo && r.gas === expect.gas && r.count === expect.count && (expect.meterKind === undefined || r.meterKind === expect.meterKind);
    }
    const settled = this.d.ledger.settle(tx.transactionId, ok ? 'CONFIRMED' : 'FAILED', ok ? undefined : 'READ_BACK_MISMATCH');
    if (!ok) {
      throw StationCpuRefused({ transactionId: tx.transactionId, ledgerState: 'FAILED', where: 'station-local' }, {
        zh: `写卡后读回与本次写入不符，本地台账交易 ${tx.transactionId} 记为失败`, en: `the read-back does not show this write; local ledger transaction ${tx.transactionId} is FAILED`,
      });
    }
    const st = this.d.host.get(tx.maker);
    return {
      ok: true, operation: tx.operation, transactionId: tx.transactionId, state: settled.state, ledger: 'station-local', cardType: 'cpu',
      maker: tx.maker, cardNo: tx.cardNo, gas: tx.gas, count: tx.count, meterKind: tx.meterKind,
      ...(st?.standIn ? { standIn: true, library: STAND_IN_LABEL } : {}), ...(tx.tool ? { tool: tx.tool } : {}),
      message: { zh: `CPU 卡操作完成，工作站本地台账交易 ${tx.transactionId} 已确认`, en: `CPU card done; station-local ledger transaction ${tx.transactionId} confirmed` },
    };
  }
}
