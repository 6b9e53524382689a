/**
 * The `sim` reader: a ReaderDriver over the chip emulators, for tests, demos and counter training.
 * Like serialport's MockBinding it is a first-class driver with control functions the station exposes over
 * HTTP (insert a blank or imaged card, remove it, get its image) and fault hooks for tests (pull the card
 * after N EEPROM writes, make the reader disappear). It counts what each call would move over a real reader's
 * serial link (sim-link.ts) and, when asked (`link`), takes that long, so a bench feels the card's speed.
 */
import { EventEmitter } from 'node:events';
import { At88sc102, ZONE, type AppZone, type At88sc102FactoryOptions } from '../../chips/at88sc102.ts';
import {
  chipFromImage,
  loadImageFile,
  saveImageFile,
  summarize,
  type CardImage,
  type ImageSummary,
  type MemoryChip,
} from '../../chips/card-image.ts';
import { at, equalBytes, popcount8 } from '../../chips/hex.ts';
import { Sle4442, SLE4442_PROTECTED_AREA, type Sle4442FactoryOptions } from '../../chips/sle4442.ts';
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
  ReaderEraseExhausted,
  ReaderGone,
  ReaderNoCard,
  ReaderNotOpen,
  ReaderNotVerified,
  ReaderWriteFailed,
  ReaderWrongCardType,
  ReaderWrongEraseKey,
  ReaderWrongPassword,
} from '../reader-errors.ts';
import { assertWritten } from '../write-check.ts';
import { SimCpuCard } from './sim-cpu.ts';
import { LINK_MODEL, linkMs, noCost, type LinkCost, type LinkedMethod, type SimLinkTiming } from './sim-link.ts';

export type SimCardSpec =
  | { type: '4442'; options?: Sle4442FactoryOptions }
  | { type: '102'; options?: At88sc102FactoryOptions }
  | { type: 'cpu'; atr?: string }
  /** A card the reader cannot classify (backwards, damaged, unsupported chip). */
  | { type: 'unknown' }
  | { image: CardImage };

export interface SimReaderOptions {
  name?: string;
  /** PSAMs present at start (default: none). */
  sams?: SamSlot[];
  /**
   * Byte timing: each reader call waits for the bytes it moves at this link speed plus the chip's programming time
   * (sim-link.ts; MINGWAH_9600 is a Mingwah at 9600 baud). Default: none, every call answers at once.
   */
  link?: SimLinkTiming;
}

/** Thrown inside a chip write hook: the card left the slot before the write happened. */
class CardPulled extends Error {}

type Slot = { kind: 'memory'; chip: MemoryChip } | { kind: 'cpu'; card: SimCpuCard } | { kind: 'unknown' };

export class SimReader extends EventEmitter implements ReaderDriver {
  readonly kind = 'sim';
  readonly name: string;
  private opened = false;
  private gone = false;
  private slot: Slot | undefined;
  private present = false;
  /** Bumped on every insert, removal, power-off and disconnect: the sim sees each one as it happens. */
  private insertion = 0;
  private readonly sams = new Map<SamSlot, SimCpuCard>();
  private writesBeforePull: number | undefined;
  private readonly link: SimLinkTiming | undefined;
  private cost: LinkCost = noCost();
  private calls = new Map<LinkedMethod, number>();

  constructor(o: SimReaderOptions = {}) {
    super();
    this.name = o.name ?? 'sim';
    this.link = o.link;
    for (const s of o.sams ?? []) this.sams.set(s, new SimCpuCard());
    // Every card call is charged the bytes it moves (and, with `link`, waits for them). Wrapped here, in one
    // place, so the byte model (LINK_MODEL) is the whole story and no call can be forgotten; calls made inside
    // another call (identify → detectCard, read4442) go through the wrappers and are charged as they happen.
    for (const name of Object.keys(LINK_MODEL) as LinkedMethod[]) {
      const impl = (this[name] as (...a: unknown[]) => Promise<unknown>).bind(this);
      // Configurable and writable like a method: the station wraps readers in proxies (card-guard.ts).
      Object.defineProperty(this, name, {
        configurable: true,
        writable: true,
        value: async (...args: unknown[]) => {
          const w0 = this.chipWrites();
          let result: unknown;
          try {
            result = await impl(...args);
          } catch (e) {
            // A failed call still moved its requests and a status reply each, but no data back.
            await this.charge(name, args, undefined, w0, false);
            throw e;
          }
          await this.charge(name, args, result, w0, true);
          return result;
        },
      });
    }
  }

  /** What the card calls so far moved (since construction or resetLinkCost). */
  linkCost(): LinkCost {
    return { ...this.cost };
  }

  /** How many times each card call ran (since construction or resetLinkCost): where the bytes went. */
  linkCalls(): Partial<Record<LinkedMethod, number>> {
    return Object.fromEntries(this.calls);
  }

  resetLinkCost(): void {
    this.cost = noCost();
    this.calls = new Map();
  }

  private chipWrites(): number {
    return this.slot?.kind === 'memory' ? this.slot.chip.writes : 0;
  }

  private async charge(
    name: LinkedMethod,
    args: unknown[],
    result: unknown,
    writesBefore: number,
    ok: boolean,
  ): Promise<void> {
    const model = LINK_MODEL[name] as (a: unknown[], r: unknown, ok: boolean) => [number, number, number];
    const [commands, sent, received] = model(args, result, ok);
    const c: LinkCost = {
      commands,
      sent,
      received: ok ? received : 2 * commands,
      programmed: Math.max(0, this.chipWrites() - writesBefore),
    };
    this.cost.commands += c.commands;
    this.cost.sent += c.sent;
    this.cost.received += c.received;
    this.cost.programmed += c.programmed;
    this.calls.set(name, (this.calls.get(name) ?? 0) + 1);
    if (!this.link) return;
    const ms = linkMs(this.link, c);
    await (this.link.sleep ?? ((t: number) => new Promise<void>((r) => setTimeout(r, t))))(ms);
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

  async open(): Promise<void> {
    if (this.gone) throw ReaderGone({ reader: this.kind });
    this.opened = true;
  }

  async close(): Promise<void> {
    this.opened = false;
    this.powerOff();
  }

  // ---- control (what the station exposes for a simulated reader) ---------------------------------

  /** Inserts a card (replacing any card in the slot, which is removed first). */
  insert(spec: SimCardSpec): ImageSummary | { chip: 'cpu' | 'unknown' } {
    let next: Slot;
    try {
      if ('image' in spec) next = { kind: 'memory', chip: chipFromImage(spec.image) };
      else if (spec.type === '4442') next = { kind: 'memory', chip: Sle4442.factory(spec.options) };
      else if (spec.type === '102') next = { kind: 'memory', chip: At88sc102.factory(spec.options) };
      else if (spec.type === 'cpu') next = { kind: 'cpu', card: new SimCpuCard(spec.atr) };
      else if (spec.type === 'unknown') next = { kind: 'unknown' };
      else throw new Error('type must be 4442, 102, cpu or unknown');
    } catch (e) {
      // Chip/image validation messages name fields, never values.
      throw ReaderBadData({ field: 'card' }, { zh: (e as Error).message, en: (e as Error).message });
    }
    if (this.present) this.remove();
    this.insertion++;
    this.slot = next;
    this.present = true;
    this.attachHook();
    this.emit('inserted', { cardType: this.typeOfSlot() });
    return this.slot.kind === 'memory' ? summarize(this.slot.chip) : { chip: this.slot.kind };
  }

  async insertImageFile(path: string): Promise<ImageSummary | { chip: 'cpu' | 'unknown' }> {
    return this.insert({ image: await loadImageFile(path) });
  }

  /** Takes the card out; its image stays available through image() until another card goes in. */
  remove(): CardImage | null {
    if (!this.present) return this.image();
    this.powerOff();
    this.present = false;
    this.emit('removed');
    return this.image();
  }

  /** The image of the card in the slot, or of the card last removed (null for CPU/unknown/none). */
  image(): CardImage | null {
    return this.slot?.kind === 'memory' ? this.slot.chip.toImage() : null;
  }

  summary(): ImageSummary | null {
    return this.slot?.kind === 'memory' ? summarize(this.slot.chip) : null;
  }

  async saveImageFile(path: string): Promise<void> {
    const img = this.image();
    if (!img) throw ReaderNoCard({ reader: this.kind });
    await saveImageFile(path, img);
  }

  insertSam(slot: SamSlot, atr?: string): void {
    this.sams.set(slot, new SimCpuCard(atr));
  }
  removeSam(slot: SamSlot): void {
    this.sams.delete(slot);
  }

  /** Fault: the card is pulled out when the (n+1)th EEPROM write is attempted (n writes succeed). */
  pullCardAfterWrites(n: number): void {
    if (!Number.isInteger(n) || n < 0) throw ReaderBadData({ field: 'n' });
    this.writesBeforePull = n;
  }

  /** Fault: the reader disappears (USB unplugged); every call fails with READER_GONE. */
  disconnect(): void {
    if (this.gone) return;
    this.gone = true;
    this.opened = false;
    this.powerOff();
    this.emit('gone', { code: 'READER_GONE' });
  }

  /** The reader is back; it must be opened again. */
  reconnect(): void {
    this.gone = false;
  }

  // ---- ReaderDriver: common -------------------------------------------------------------------

  async cardPresent(): Promise<boolean> {
    this.ready();
    return this.present;
  }

  insertionId(): number | null {
    return this.opened && this.present ? this.insertion : null;
  }

  async detectCard(): Promise<CardType> {
    this.ready();
    return this.present ? this.typeOfSlot() : 'none';
  }

  async identify(): Promise<CardIdentity> {
    return identifyCard(this);
  }

  // ---- SLE4442 ---------------------------------------------------------------------------------------

  async read4442(offset: number, length: number): Promise<Uint8Array> {
    const c = this.chip4442();
    checkRange(offset, length, 256);
    return c.readMain(offset, length);
  }

  async readProtection4442(): Promise<Uint8Array> {
    return this.chip4442().readProtection();
  }

  async readErrorCounter4442(): Promise<AttemptsInfo> {
    const ec = at(this.chip4442().readSecurity(), 0);
    return { attemptsLeft: popcount8(ec & 7), raw: ec };
  }

  async verify4442(psc: Uint8Array): Promise<AttemptsInfo> {
    const c = this.chip4442();
    checkKey(psc, 3, 'psc');
    if (c.locked) throw ReaderCardLocked({ cardType: '4442', attemptsLeft: 0 });
    const r = this.guardWrite(() => c.verifyPsc(psc));
    if (!r.ok)
      throw ReaderWrongPassword({ cardType: '4442', attemptsLeft: r.attemptsLeft, locked: r.attemptsLeft === 0 });
    return { attemptsLeft: r.attemptsLeft, raw: r.errorCounter };
  }

  async write4442(offset: number, data: Uint8Array): Promise<void> {
    const c = this.chip4442();
    checkRange(offset, data.length, 256);
    this.guardWrite(() => {
      for (let i = 0; i < data.length; i++) c.updateMain(offset + i, at(data, i));
    });
    const prot = c.readProtection();
    assertWritten('4442', offset, data, c.readMain(offset, data.length), (a) =>
      a < SLE4442_PROTECTED_AREA && ((at(prot, a >> 3) >> (a & 7)) & 1) === 0
        ? 'protected'
        : c.verified
          ? 'refused'
          : 'not-verified',
    );
  }

  async changePsc4442(psc: Uint8Array): Promise<void> {
    const c = this.chip4442();
    checkKey(psc, 3, 'psc');
    if (!c.verified) throw ReaderNotVerified({ cardType: '4442' });
    this.guardWrite(() => c.changePsc(psc));
    if (!equalBytes(c.readSecurity().subarray(1), psc))
      throw ReaderWriteFailed({ area: 'psc' }, { zh: '密码', en: 'password' });
  }

  async readPsc4442(): Promise<Uint8Array> {
    return this.chip4442().readSecurity().slice(1);
  }

  async writeProtection4442(offset: number, data: Uint8Array): Promise<void> {
    const c = this.chip4442();
    checkRange(offset, data.length, SLE4442_PROTECTED_AREA);
    this.guardWrite(() => {
      for (let i = 0; i < data.length; i++) c.writeProtection(offset + i, at(data, i));
    });
    const prot = c.readProtection();
    for (let a = offset; a < offset + data.length; a++) {
      if (((at(prot, a >> 3) >> (a & 7)) & 1) !== 0) {
        throw ReaderWriteFailed(
          { area: '4442-protection', offset: a, reason: c.verified ? 'refused' : 'not-verified' },
          { zh: `保护位 ${a}`, en: `protection bit ${a}` },
        );
      }
    }
  }

  // ---- AT88SC102 ------------------------------------------------------------------------------------

  async read102(zone: Zone102, offset: number, length: number): Promise<Uint8Array> {
    const c = this.chip102();
    return c.read(abs102(zone, offset, length), length);
  }

  async verify102(sc: Uint8Array): Promise<AttemptsInfo> {
    const c = this.chip102();
    checkKey(sc, 2, 'sc');
    if (c.locked) throw ReaderCardLocked({ cardType: '102', attemptsLeft: 0 });
    const r = this.guardWrite(() => c.verifySc(sc));
    if (!r.ok)
      throw ReaderWrongPassword({ cardType: '102', attemptsLeft: r.attemptsLeft, locked: r.attemptsLeft === 0 });
    return { attemptsLeft: r.attemptsLeft, raw: at(c.read(ZONE.SCAC[0], 1), 0) >> 4 };
  }

  async readScac102(): Promise<AttemptsInfo> {
    const b = at(this.chip102().read(ZONE.SCAC[0], 1), 0);
    return { attemptsLeft: popcount8(b & 0xf0), raw: b >> 4 };
  }

  async eraseZone102(zone: AppZone102, key: Uint8Array): Promise<void> {
    const c = this.chip102();
    checkKey(key, zone === 1 ? 6 : 4, `ez${zone}`);
    const r = this.guardWrite(() => c.presentEraseKey(zone as AppZone, key));
    if (!r.ok) {
      if (r.reason === 'ec2-exhausted') throw ReaderEraseExhausted({ zone, ec2Left: 0 });
      if (r.reason === 'not-verified') throw ReaderNotVerified({ cardType: '102', zone });
      throw ReaderWrongEraseKey({ zone, ...(zone === 2 ? { ec2Left: r.ec2Left } : {}) });
    }
    this.guardWrite(() => c.eraseZone(zone as AppZone));
    const [s, e] = zone === 1 ? ZONE.AZ1 : ZONE.AZ2;
    assertWritten(`102-AZ${zone}-erase`, s, new Uint8Array(e - s).fill(0xff), c.read(s, e - s), () => 'refused');
  }

  async eraseWords102(offset: number, length: number): Promise<void> {
    const c = this.chip102();
    checkRange(offset, length, 196);
    const start = offset & ~1;
    const end = (offset + length + 1) & ~1;
    this.guardWrite(() => {
      for (let a = start; a < end; a += 2) c.eraseWord(a);
    });
    assertWritten('102-erase', start, new Uint8Array(end - start).fill(0xff), c.read(start, end - start), () =>
      c.verified ? 'refused' : 'not-verified',
    );
  }

  async write102(zone: Zone102, offset: number, data: Uint8Array): Promise<void> {
    const c = this.chip102();
    const a0 = abs102(zone, offset, data.length);
    this.guardWrite(() => {
      for (let i = 0; i < data.length; i++) c.writeByte(a0 + i, at(data, i));
    });
    assertWritten(`102-zone${zone}`, a0, data, c.read(a0, data.length), (_a, wanted, got) =>
      !c.verified ? 'not-verified' : (wanted & ~got) !== 0 ? 'needs-erase' : 'refused',
    );
  }

  async changeSc102(sc: Uint8Array): Promise<void> {
    const c = this.chip102();
    checkKey(sc, 2, 'sc');
    if (!c.verified) throw ReaderNotVerified({ cardType: '102' });
    this.guardWrite(() => c.changeSc(sc));
    if (!equalBytes(c.read(ZONE.SC[0], 2), sc)) throw ReaderWriteFailed({ area: 'sc' }, { zh: '密码', en: 'password' });
  }

  async readSc102(): Promise<Uint8Array> {
    return this.chip102().read(ZONE.SC[0], 2);
  }

  async readEc2102(): Promise<Ec2Info> {
    const c = this.chip102();
    return { enabled: c.ec2Enabled, left: c.ec2Left };
  }

  // ---- CPU / PSAM ----------------------------------------------------------------------------------

  async cpuReset(): Promise<Uint8Array> {
    return this.cpu().atr.slice();
  }
  async cpuApdu(apdu: Uint8Array): Promise<Uint8Array> {
    checkApdu(apdu);
    return this.cpu().apdu(apdu);
  }
  async samPresent(slot: SamSlot): Promise<boolean> {
    this.ready();
    return this.sams.has(slot);
  }
  async samReset(slot: SamSlot): Promise<Uint8Array> {
    return this.sam(slot).atr.slice();
  }
  async samApdu(slot: SamSlot, apdu: Uint8Array): Promise<Uint8Array> {
    checkApdu(apdu);
    return this.sam(slot).apdu(apdu);
  }

  // ---- internals --------------------------------------------------------------------------------------

  private ready(): void {
    if (this.gone) throw ReaderGone({ reader: this.kind });
    if (!this.opened) throw ReaderNotOpen({ reader: this.kind });
  }

  private typeOfSlot(): CardType {
    const s = this.slot;
    if (!s) return 'none';
    if (s.kind === 'memory') return s.chip instanceof Sle4442 ? '4442' : '102';
    return s.kind === 'cpu' ? 'cpu' : 'unknown';
  }

  private card(expected: CardType): Slot {
    this.ready();
    if (!this.present || !this.slot) throw ReaderNoCard({ reader: this.kind });
    const t = this.typeOfSlot();
    if (t !== expected) throw ReaderWrongCardType({ expected, found: t });
    return this.slot;
  }

  private chip4442(): Sle4442 {
    const s = this.card('4442');
    return (s as { chip: Sle4442 }).chip;
  }

  private chip102(): At88sc102 {
    const s = this.card('102');
    return (s as { chip: At88sc102 }).chip;
  }

  private cpu(): SimCpuCard {
    return (this.card('cpu') as { card: SimCpuCard }).card;
  }

  private sam(slot: SamSlot): SimCpuCard {
    this.ready();
    const s = this.sams.get(slot);
    if (!s) throw ReaderNoCard({ reader: this.kind, samSlot: slot });
    return s;
  }

  private powerOff(): void {
    this.insertion++;
    if (this.slot?.kind === 'memory') this.slot.chip.powerOff();
  }

  private attachHook(): void {
    if (this.slot?.kind !== 'memory') return;
    this.slot.chip.beforeWrite = () => {
      if (this.writesBeforePull === undefined) return;
      if (this.writesBeforePull === 0) throw new CardPulled();
      this.writesBeforePull--;
    };
  }

  /** Runs chip work; a pull fault removes the card and surfaces as READER_CARD_REMOVED. */
  private guardWrite<T>(fn: () => T): T {
    try {
      return fn();
    } catch (e) {
      if (!(e instanceof CardPulled)) throw e;
      this.writesBeforePull = undefined;
      this.remove();
      throw ReaderCardRemoved({ reader: this.kind });
    }
  }
}

function checkRange(offset: number, length: number, size: number): void {
  if (!Number.isInteger(offset) || !Number.isInteger(length) || offset < 0 || length < 1 || offset + length > size) {
    throw ReaderBadData({ field: 'offset/length', offset, length, size });
  }
}

function checkKey(key: Uint8Array, len: number, field: string): void {
  if (!(key instanceof Uint8Array) || key.length !== len) throw ReaderBadData({ field, expectedBytes: len });
}

function checkApdu(apdu: Uint8Array): void {
  if (!(apdu instanceof Uint8Array) || apdu.length < 4 || apdu.length > 261) throw ReaderBadData({ field: 'apdu' });
}

/** Zone-relative 102 offsets to card byte addresses (zone 0 = absolute). */
export function abs102(zone: Zone102, offset: number, length: number): number {
  if (zone === 0) {
    checkRange(offset, length, 196);
    return offset;
  }
  if (zone !== 1 && zone !== 2) throw ReaderBadData({ field: 'zone' });
  checkRange(offset, length, 64);
  return (zone === 1 ? ZONE.AZ1[0] : ZONE.AZ2[0]) + offset;
}
