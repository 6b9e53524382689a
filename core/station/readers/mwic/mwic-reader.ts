/**
 * The `mwic` reader: a Mingwah (明华) contact reader through its SDK mwic_32.dll, bound with koffi in a
 * supervised driver-host child process (host.ts + core/driver/supervisor.ts). The SDK may crash or hang;
 * that kills only the host, and the reader reports READER_GONE and re-initialises on the next call.
 *
 * Mingwah semantics we could not confirm are options (card-domain.md §3, README):
 * - chk_card codes (21 = SLE4442, 51 = AT88SC102 in one SDK sample; 7 = 4442 in another).
 * - rsct_4442 / rsct_102: raw counter bits or a count of attempts left.
 * - 102 zone addressing: zone 0 absolute, zones 1/2 relative to AZ1/AZ2 (default), or another mapping.
 * - sam_slt_protocol framing: a T=1 block `00 40 LEN APDU LRC` (one wrapper) or the raw APDU.
 * - cpu_reset / cpu_protocol return the ATR / response length (stand-in convention).
 * Memory cards do not report refused writes, so every write is read back (see ReaderDriver).
 */
import { EventEmitter } from 'node:events';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DriverSupervisor, type DriverLogger } from '../../../driver/supervisor.ts';
import { isDriverFailure } from '../../../driver/driver-errors.ts';
import { at, equalBytes, fromHex, popcount8, toHex } from '../../chips/hex.ts';
import { identifyCard } from '../identity.ts';
import type {
  AppZone102,
  AttemptsInfo,
  CardIdentity,
  CardType,
  Ec2Info,
  ReaderDriver,
  ReaderEventMap,
  ReaderEventName,
  SamSlot,
  Zone102,
} from '../reader-driver.ts';
import {
  ReaderBadData,
  ReaderCardLocked,
  ReaderCardRemoved,
  ReaderCommandFailed,
  ReaderEraseExhausted,
  ReaderGone,
  ReaderNoCard,
  ReaderNotOpen,
  ReaderNotVerified,
  ReaderUnsupported,
  ReaderWriteFailed,
  ReaderWrongCardType,
  ReaderWrongEraseKey,
  ReaderWrongPassword,
} from '../reader-errors.ts';
import { assertWritten } from '../write-check.ts';

const HERE = dirname(fileURLToPath(import.meta.url));
export const MWIC_HOST_ENTRY = join(HERE, 'host.ts');

/** Where a 102 area is addressed through srd_102/swr_102: SDK zone number + offset of the area's byte 0. */
export interface ZoneAddress {
  zone: number;
  base: number;
}

export interface MwicReaderOptions {
  /** mwic_32.dll (or the stand-in library). */
  libraryPath: string;
  /** ic_init port: 0 = COM1 …; newer USB models use 100 (single source). Default 100. */
  port?: number;
  /** Default 115200. */
  baud?: number;
  /** Node executable for the host (a 32-bit node.exe for the 32-bit DLL). */
  execPath?: string;
  env?: NodeJS.ProcessEnv;
  callTimeoutMs?: number;
  startTimeoutMs?: number;
  logger?: DriverLogger;
  /** chk_card return codes per card type. Default { '4442': [21], '102': [51] }. */
  chkCodes?: { '4442': number[]; '102': number[] };
  /** rsct_4442/rsct_102 return raw counter bits (default) or a count. */
  counterMode?: 'bits' | 'count';
  /** Default: AZ1 = zone 1 base 0, AZ2 = zone 2 base 0, absolute addresses = zone 0. */
  zones102?: { absolute: ZoneAddress; az1: ZoneAddress; az2: ZoneAddress };
  /** Default 't1'. */
  samFraming?: 't1' | 'raw';
  /** Card-presence polling for inserted/removed events (ms); 0 = off. Default 300. */
  pollMs?: number;
}

const DEFAULT_ZONES = { absolute: { zone: 0, base: 0 }, az1: { zone: 1, base: 0 }, az2: { zone: 2, base: 0 } };
const AZ_START = { 1: 22, 2: 92 } as const;
const EC2EN_BYTE = 191;
const EC2EN_MASK = 0x40;

interface CallResult {
  rc: number;
  out: Record<string, unknown>;
}

export class MwicReader extends EventEmitter implements ReaderDriver {
  readonly kind = 'mwic';
  private readonly o: Required<Omit<MwicReaderOptions, 'execPath' | 'env' | 'logger' | 'startTimeoutMs'>> &
    MwicReaderOptions;
  private sup: DriverSupervisor | undefined;
  private handle: number | undefined;
  private opened = false;
  private verified = false;
  private lastPresent: boolean | undefined;
  private poll: NodeJS.Timeout | undefined;
  private polling = false;
  private goneReported = false;
  /**
   * Bumped whenever get_status shows an empty slot, on open/close, and when the host is respawned or the reader
   * goes away. With polling on, get_status runs every pollMs even between the clerk's calls, so a card taken out
   * and another put in is seen unless both happen within one poll interval (the station's same-card check still
   * re-reads the per-card code then: card-guard.ts).
   */
  private insertion = 0;

  constructor(o: MwicReaderOptions) {
    super();
    this.o = {
      port: 100,
      baud: 115200,
      callTimeoutMs: 5_000,
      chkCodes: { '4442': [21], '102': [51] },
      counterMode: 'bits',
      zones102: DEFAULT_ZONES,
      samFraming: 't1',
      pollMs: 300,
      ...o,
    };
  }

  override on<E extends ReaderEventName>(event: E, listener: (...args: ReaderEventMap[E]) => void): this {
    return super.on(event, listener as (...a: unknown[]) => void);
  }
  override off<E extends ReaderEventName>(event: E, listener: (...args: ReaderEventMap[E]) => void): this {
    return super.off(event, listener as (...a: unknown[]) => void);
  }

  get isOpen(): boolean {
    return this.opened;
  }

  /** Driver-host health (pid, restarts, last error) for the station's status page. */
  health(): ReturnType<DriverSupervisor['health']> | null {
    return this.sup?.health() ?? null;
  }

  async open(): Promise<void> {
    if (this.opened) return;
    this.sup = new DriverSupervisor({
      libraryPath: this.o.libraryPath,
      hostEntry: MWIC_HOST_ENTRY,
      callTimeoutMs: this.o.callTimeoutMs,
      name: 'mwic',
      ...(this.o.execPath ? { execPath: this.o.execPath } : {}),
      ...(this.o.env ? { env: this.o.env } : {}),
      ...(this.o.startTimeoutMs ? { startTimeoutMs: this.o.startTimeoutMs } : {}),
      ...(this.o.logger ? { logger: this.o.logger } : {}),
    });
    // A respawned host has a fresh SDK: the handle and the chip's verification are gone.
    this.sup.on('spawn', () => {
      this.handle = undefined;
      this.verified = false;
      this.insertion++;
    });
    this.opened = true;
    this.goneReported = false;
    try {
      await this.ensureHandle();
      this.lastPresent = await this.cardPresent();
    } catch (e) {
      await this.close();
      throw e;
    }
    if (this.o.pollMs > 0) {
      this.poll = setInterval(() => void this.pollOnce(), this.o.pollMs);
      this.poll.unref();
    }
  }

  async close(): Promise<void> {
    this.insertion++;
    if (this.poll) clearInterval(this.poll);
    this.poll = undefined;
    const sup = this.sup;
    if (sup && this.handle !== undefined) await sup.call('ic_exit', { icdev: this.handle }).catch(() => undefined);
    this.handle = undefined;
    this.verified = false;
    this.opened = false;
    this.sup = undefined;
    await sup?.close();
  }

  // ---- plumbing -------------------------------------------------------------------------------------

  private async raw(fn: string, params: Record<string, unknown>): Promise<CallResult> {
    const sup = this.sup;
    if (!this.opened || !sup) throw ReaderNotOpen({ reader: this.kind });
    try {
      const r = await sup.call(fn, params);
      return { rc: Number(r.rc), out: (r.out ?? {}) as Record<string, unknown> };
    } catch (e) {
      if (isDriverFailure(e)) throw this.gone(e.code, fn);
      throw e;
    }
  }

  private gone(cause: string, fn?: string) {
    this.insertion++;
    this.handle = undefined;
    this.verified = false;
    if (!this.goneReported) {
      this.goneReported = true;
      this.emit('gone', { code: 'READER_GONE' });
    }
    return ReaderGone({ reader: this.kind, cause, ...(fn ? { function: fn } : {}) });
  }

  private async ensureHandle(): Promise<number> {
    if (this.handle !== undefined) return this.handle;
    const r = await this.raw('ic_init', { port: this.o.port, baud: this.o.baud });
    if (r.rc < 0) throw this.gone('ic_init', 'ic_init');
    this.handle = r.rc;
    this.goneReported = false;
    return r.rc;
  }

  /** One SDK call on the open handle; a negative rc is explained by asking the reader what happened. */
  private async call(fn: string, params: Record<string, unknown> = {}, expectCard = true): Promise<CallResult> {
    const icdev = await this.ensureHandle();
    const r = await this.raw(fn, { icdev, ...params });
    if (r.rc < 0 && expectCard) await this.explainFailure(fn, r.rc);
    return r;
  }

  private async explainFailure(fn: string, rc: number): Promise<never> {
    if (!(await this.presence())) {
      this.verified = false;
      throw ReaderCardRemoved({ reader: this.kind, function: fn });
    }
    throw ReaderCommandFailed({ reader: this.kind, function: fn, rc });
  }

  private async presence(): Promise<boolean> {
    const icdev = await this.ensureHandle();
    const r = await this.raw('get_status', { icdev });
    if (r.rc < 0) throw this.gone('get_status', 'get_status');
    const present = Number(r.out.state) !== 0;
    if (!present) {
      this.verified = false;
      this.insertion++;
    }
    return present;
  }

  private async pollOnce(): Promise<void> {
    if (this.polling || !this.opened) return;
    this.polling = true;
    try {
      const now = await this.presence();
      if (now !== this.lastPresent) {
        this.lastPresent = now;
        if (now) this.emit('inserted', { cardType: await this.detectCard() });
        else this.emit('removed');
      }
    } catch {
      // 'gone' has been emitted by presence(); the poll keeps trying so a reconnected reader comes back.
    } finally {
      this.polling = false;
    }
  }

  private async requireCard(want: CardType): Promise<void> {
    const t = await this.detectCard();
    if (t === 'none') throw ReaderNoCard({ reader: this.kind });
    if (t !== want) throw ReaderWrongCardType({ expected: want, found: t });
  }

  private counter(raw: number, bits: number): number {
    return this.o.counterMode === 'count' ? raw : popcount8(raw & ((1 << bits) - 1));
  }

  private where102(zone: Zone102, offset: number, length: number): { zone: number; offset: number } {
    if (zone === 0) {
      check(offset, length, 196);
      return { zone: this.o.zones102.absolute.zone, offset: this.o.zones102.absolute.base + offset };
    }
    if (zone !== 1 && zone !== 2) throw ReaderBadData({ field: 'zone' });
    check(offset, length, 64);
    const a = zone === 1 ? this.o.zones102.az1 : this.o.zones102.az2;
    return { zone: a.zone, offset: a.base + offset };
  }

  private async read102abs(addr: number, len: number): Promise<Uint8Array> {
    return this.read102(0, addr, len);
  }

  // ---- common ------------------------------------------------------------------------------------------

  async cardPresent(): Promise<boolean> {
    if (!this.opened) throw ReaderNotOpen({ reader: this.kind });
    return this.presence();
  }

  /** Only while polling: without it nothing watches the slot between calls. */
  insertionId(): number | null {
    return this.opened && this.poll !== undefined && this.lastPresent === true ? this.insertion : null;
  }

  async detectCard(): Promise<CardType> {
    if (!(await this.cardPresent())) return 'none';
    const r = await this.call('chk_card', {}, false);
    if (this.o.chkCodes['4442'].includes(r.rc)) return '4442';
    if (this.o.chkCodes['102'].includes(r.rc)) return '102';
    // chk_card knows memory cards only; a CPU card answers a reset with an ATR.
    const cpu = await this.call('cpu_reset', {}, false);
    if (cpu.rc > 0) return 'cpu';
    if (!(await this.presence())) return 'none';
    return 'unknown';
  }

  async identify(): Promise<CardIdentity> {
    return identifyCard(this);
  }

  // ---- SLE4442 -----------------------------------------------------------------------------------------

  async read4442(offset: number, length: number): Promise<Uint8Array> {
    check(offset, length, 256);
    await this.requireCard('4442');
    const r = await this.call('srd_4442', { offset, len: length });
    return fromHex(String(r.out.buf)).slice(0, length);
  }

  async readProtection4442(): Promise<Uint8Array> {
    await this.requireCard('4442');
    const r = await this.call('prd_4442', { len: 4 });
    return fromHex(String(r.out.buf)).slice(0, 4);
  }

  async readErrorCounter4442(): Promise<AttemptsInfo> {
    await this.requireCard('4442');
    const r = await this.call('rsct_4442');
    const raw = Number(r.out.counter);
    return { attemptsLeft: this.counter(raw, 3), raw };
  }

  async verify4442(psc: Uint8Array): Promise<AttemptsInfo> {
    key(psc, 3, 'psc');
    const before = await this.readErrorCounter4442();
    if (before.attemptsLeft === 0) throw ReaderCardLocked({ cardType: '4442', attemptsLeft: 0 });
    const r = await this.call('csc_4442', { len: 3, psc: toHex(psc) }, false);
    if (r.rc !== 0 && !(await this.presence())) throw ReaderCardRemoved({ reader: this.kind, function: 'csc_4442' });
    const after = await this.readErrorCounter4442();
    if (r.rc !== 0) {
      this.verified = false;
      throw ReaderWrongPassword({
        cardType: '4442',
        attemptsLeft: after.attemptsLeft,
        locked: after.attemptsLeft === 0,
      });
    }
    this.verified = true;
    return after;
  }

  async write4442(offset: number, data: Uint8Array): Promise<void> {
    check(offset, data.length, 256);
    await this.requireCard('4442');
    await this.call('swr_4442', { offset, len: data.length, buf: toHex(data) });
    const back = await this.read4442(offset, data.length);
    // The protection bits only explain a mismatch: read them then, not on every write (5 bytes at 9600 baud).
    if (equalBytes(back, data)) return;
    const prot = await this.readProtection4442();
    assertWritten('4442', offset, data, back, (a) =>
      a < 32 && ((at(prot, a >> 3) >> (a & 7)) & 1) === 0 ? 'protected' : this.verified ? 'refused' : 'not-verified',
    );
  }

  async changePsc4442(psc: Uint8Array): Promise<void> {
    key(psc, 3, 'psc');
    await this.requireCard('4442');
    if (!this.verified) throw ReaderNotVerified({ cardType: '4442' });
    await this.call('wsc_4442', { len: 3, psc: toHex(psc) });
    if (!equalBytes(await this.readPsc4442(), psc))
      throw ReaderWriteFailed({ area: 'psc' }, { zh: '密码', en: 'password' });
  }

  async readPsc4442(): Promise<Uint8Array> {
    await this.requireCard('4442');
    const r = await this.call('rsc_4442', { len: 3 });
    return fromHex(String(r.out.buf)).slice(0, 3);
  }

  async writeProtection4442(offset: number, data: Uint8Array): Promise<void> {
    check(offset, data.length, 32);
    await this.requireCard('4442');
    await this.call('pwr_4442', { offset, len: data.length, buf: toHex(data) });
    const prot = await this.readProtection4442();
    for (let a = offset; a < offset + data.length; a++) {
      if (((at(prot, a >> 3) >> (a & 7)) & 1) !== 0) {
        throw ReaderWriteFailed(
          { area: '4442-protection', offset: a, reason: this.verified ? 'refused' : 'not-verified' },
          { zh: `保护位 ${a}`, en: `protection bit ${a}` },
        );
      }
    }
  }

  // ---- AT88SC102 ------------------------------------------------------------------------------------------

  async read102(zone: Zone102, offset: number, length: number): Promise<Uint8Array> {
    const w = this.where102(zone, offset, length);
    await this.requireCard('102');
    const r = await this.call('srd_102', { zone: w.zone, offset: w.offset, len: length });
    return fromHex(String(r.out.buf)).slice(0, length);
  }

  async verify102(sc: Uint8Array): Promise<AttemptsInfo> {
    key(sc, 2, 'sc');
    const before = await this.readScac102();
    if (before.attemptsLeft === 0) throw ReaderCardLocked({ cardType: '102', attemptsLeft: 0 });
    const r = await this.call('csc_102', { len: 2, sc: toHex(sc) }, false);
    if (r.rc !== 0 && !(await this.presence())) throw ReaderCardRemoved({ reader: this.kind, function: 'csc_102' });
    const after = await this.readScac102();
    if (r.rc !== 0) {
      this.verified = false;
      throw ReaderWrongPassword({
        cardType: '102',
        attemptsLeft: after.attemptsLeft,
        locked: after.attemptsLeft === 0,
      });
    }
    this.verified = true;
    return after;
  }

  async readScac102(): Promise<AttemptsInfo> {
    await this.requireCard('102');
    const r = await this.call('rsct_102');
    const raw = Number(r.out.counter);
    return { attemptsLeft: this.counter(raw, 4), raw };
  }

  async eraseZone102(zone: AppZone102, k: Uint8Array): Promise<void> {
    if (zone !== 1 && zone !== 2) throw ReaderBadData({ field: 'zone' });
    key(k, zone === 1 ? 6 : 4, `ez${zone}`);
    await this.requireCard('102');
    if (!this.verified) throw ReaderNotVerified({ cardType: '102', zone });
    const ec2Before = zone === 2 ? await this.readEc2102() : undefined;
    if (ec2Before && ec2Before.enabled !== false && ec2Before.left === 0)
      throw ReaderEraseExhausted({ zone, ec2Left: 0 });
    const r = await this.call('cesc_102', { zone, len: k.length, key: toHex(k) }, false);
    if (r.rc !== 0) {
      if (!(await this.presence())) throw ReaderCardRemoved({ reader: this.kind, function: 'cesc_102' });
      const ec2 = zone === 2 ? await this.readEc2102() : undefined;
      if (ec2 && ec2.enabled !== false && ec2.left === 0 && ec2Before?.left === 0)
        throw ReaderEraseExhausted({ zone, ec2Left: 0 });
      throw ReaderWrongEraseKey({ zone, ...(ec2 ? { ec2Left: ec2.left } : {}) });
    }
    const w = this.where102(zone, 0, 64);
    await this.call('ser_102', { zone: w.zone, offset: w.offset, len: 64 });
    assertWritten(
      `102-AZ${zone}-erase`,
      AZ_START[zone],
      new Uint8Array(64).fill(0xff),
      await this.read102(zone, 0, 64),
      () => 'refused',
    );
  }

  async eraseWords102(offset: number, length: number): Promise<void> {
    check(offset, length, 196);
    await this.requireCard('102');
    const start = offset & ~1;
    const end = (offset + length + 1) & ~1;
    const w = this.where102(0, start, end - start);
    await this.call('ser_102', { zone: w.zone, offset: w.offset, len: end - start });
    assertWritten(
      '102-erase',
      start,
      new Uint8Array(end - start).fill(0xff),
      await this.read102abs(start, end - start),
      () => (this.verified ? 'refused' : 'not-verified'),
    );
  }

  async write102(zone: Zone102, offset: number, data: Uint8Array): Promise<void> {
    const w = this.where102(zone, offset, data.length);
    await this.requireCard('102');
    await this.call('swr_102', { zone: w.zone, offset: w.offset, len: data.length, buf: toHex(data) });
    const back = await this.read102(zone, offset, data.length);
    const base = zone === 0 ? 0 : AZ_START[zone];
    assertWritten(`102-zone${zone}`, base + offset, data, back, (_a, wanted, got) =>
      !this.verified ? 'not-verified' : (wanted & ~got) !== 0 ? 'needs-erase' : 'refused',
    );
  }

  async changeSc102(sc: Uint8Array): Promise<void> {
    key(sc, 2, 'sc');
    await this.requireCard('102');
    if (!this.verified) throw ReaderNotVerified({ cardType: '102' });
    await this.call('wsc_102', { len: 2, sc: toHex(sc) });
    if (!equalBytes(await this.readSc102(), sc))
      throw ReaderWriteFailed({ area: 'sc' }, { zh: '密码', en: 'password' });
  }

  async readSc102(): Promise<Uint8Array> {
    await this.requireCard('102');
    const r = await this.call('rsc_102', { len: 2 });
    return fromHex(String(r.out.buf)).slice(0, 2);
  }

  async readEc2102(): Promise<Ec2Info> {
    await this.requireCard('102');
    const r = await this.call('resct_102', { zone: 2 });
    // EC2EN lives in the fuse area; not every SDK may let srd_102 read it (UNCONFIRMED): null then.
    let enabled: boolean | null = null;
    try {
      enabled = (at(await this.read102abs(EC2EN_BYTE, 1), 0) & EC2EN_MASK) !== 0;
    } catch (e) {
      if (!ReaderCommandFailed.is(e)) throw e;
    }
    return { enabled, left: Number(r.out.counter) };
  }

  // ---- CPU / PSAM ---------------------------------------------------------------------------------------------

  async cpuReset(): Promise<Uint8Array> {
    if (!(await this.cardPresent())) throw ReaderNoCard({ reader: this.kind });
    const r = await this.call('cpu_reset', {}, false);
    if (r.rc <= 0) {
      if (!(await this.presence())) throw ReaderCardRemoved({ reader: this.kind, function: 'cpu_reset' });
      throw ReaderWrongCardType({ expected: 'cpu', found: await this.detectCard() });
    }
    return fromHex(String(r.out.atr)).slice(0, r.rc);
  }

  async cpuApdu(apdu: Uint8Array): Promise<Uint8Array> {
    apduCheck(apdu);
    await this.requireCard('cpu');
    const r = await this.call('cpu_protocol', { len: apdu.length, cmd: toHex(apdu) });
    return fromHex(String(r.out.resp)).slice(0, r.rc);
  }

  async samPresent(slot: SamSlot): Promise<boolean> {
    samSlot(slot);
    const r = await this.call('sam_slt_reset', { slot }, false);
    return r.rc === 0;
  }

  async samReset(slot: SamSlot): Promise<Uint8Array> {
    samSlot(slot);
    const r = await this.call('sam_slt_reset', { slot }, false);
    if (r.rc !== 0) throw ReaderNoCard({ reader: this.kind, samSlot: slot });
    return fromHex(String(r.out.atr)).slice(0, Number(r.out.len));
  }

  async samApdu(slot: SamSlot, apdu: Uint8Array): Promise<Uint8Array> {
    samSlot(slot);
    apduCheck(apdu);
    const cmd = this.o.samFraming === 't1' ? t1Frame(apdu) : apdu;
    const r = await this.call('sam_slt_protocol', { slot, slen: cmd.length, cmd: toHex(cmd) }, false);
    if (r.rc !== 0) throw ReaderNoCard({ reader: this.kind, samSlot: slot });
    const resp = fromHex(String(r.out.resp)).slice(0, Number(r.out.rlen));
    return this.o.samFraming === 't1' ? t1Unframe(resp) : resp;
  }
}

function check(offset: number, length: number, size: number): void {
  if (!Number.isInteger(offset) || !Number.isInteger(length) || offset < 0 || length < 1 || offset + length > size) {
    throw ReaderBadData({ field: 'offset/length', offset, length, size });
  }
}

function key(k: Uint8Array, len: number, field: string): void {
  if (!(k instanceof Uint8Array) || k.length !== len) throw ReaderBadData({ field, expectedBytes: len });
}

function apduCheck(apdu: Uint8Array): void {
  if (!(apdu instanceof Uint8Array) || apdu.length < 4 || apdu.length > 261) throw ReaderBadData({ field: 'apdu' });
}

function samSlot(slot: number): void {
  if (slot !== 1 && slot !== 2 && slot !== 3) throw ReaderBadData({ field: 'slot' });
}

/** `00 40 LEN APDU LRC` (NAD, PCB, LEN, INF, XOR of all previous bytes): the one wrapper seen (§3.4). */
export function t1Frame(apdu: Uint8Array): Uint8Array {
  const f = new Uint8Array(apdu.length + 4);
  f.set([0x00, 0x40, apdu.length], 0);
  f.set(apdu, 3);
  let lrc = 0;
  for (let i = 0; i < f.length - 1; i++) lrc ^= at(f, i);
  f[f.length - 1] = lrc;
  return f;
}

export function t1Unframe(f: Uint8Array): Uint8Array {
  let lrc = 0;
  for (let i = 0; i < f.length - 1; i++) lrc ^= at(f, i);
  if (f.length < 4 || at(f, 2) !== f.length - 4 || lrc !== at(f, f.length - 1)) {
    throw ReaderUnsupported(
      { reader: 'mwic', reason: 'bad T=1 block from sam_slt_protocol' },
      {
        zh: 'PSAM 响应帧格式不符，请检查 samFraming 设置',
        en: 'PSAM response frame does not match; check the samFraming option',
      },
    );
  }
  return f.slice(3, f.length - 1);
}
