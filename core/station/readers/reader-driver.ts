/**
 * The reader driver contract: one interface for every counter card reader (sim, mwic, later pcsc), in the
 * spirit of serialport's BindingInterface. The station only ever talks to this; readRawCard/writeCard
 * (card-io) build the gas-card procedures on top of it.
 *
 * Contract (checked by reader-contract.ts for every driver):
 * - Every failure is a MeterHubError from reader-errors.ts; none carries a password, key or card data.
 * - Card operations need an open reader (READER_NOT_OPEN), a card (READER_NO_CARD) of the right type
 *   (READER_WRONG_CARD_TYPE). A card that disappears during an operation gives READER_CARD_REMOVED; a reader
 *   that stops answering gives READER_GONE (and the 'gone' event).
 * - Passwords are checked exactly once per verify call; a driver never retries a compare on its own.
 * - Writes resolve only when the bytes read back as written; otherwise READER_WRITE_FAILED with the first
 *   offset that differs (a protected byte, a bit that needs an erase, a refused zone…). Memory cards have no
 *   status line, so read-back is the only honest way to know.
 * - A verification lasts until the card is removed or the reader is closed (chip power-off).
 */

export type CardType = '4442' | '102' | 'cpu' | 'none' | 'unknown';

/** 0 = absolute card byte address (public zone, CPZ…), 1 = AZ1, 2 = AZ2 (offsets relative to the zone). */
export type Zone102 = 0 | 1 | 2;
export type AppZone102 = 1 | 2;
export type SamSlot = 1 | 2 | 3;

/**
 * Best-effort card identity. Memory cards have no chip serial: a 4442 may carry a seller's per-card code at
 * 0x15-0x1A; a personalised 102 carries issuer data in IZ. Neither is guaranteed unique (`unique: false`).
 */
export interface CardIdentity {
  chipSerial: string | null;
  source: 'factory-code' | 'issuer-zone' | 'atr' | 'none';
  unique: boolean;
}

export interface AttemptsInfo {
  /** Password compares still possible; 0 = locked. */
  attemptsLeft: number;
  /** The raw counter as the card/reader reports it (4442 EC bits, 102 SCAC nibble), when known. */
  raw?: number;
}

export interface Ec2Info {
  /** EC2 function enabled (EC2EN fuse intact); null when the reader cannot tell. */
  enabled: boolean | null;
  /** AZ2 erases left (0..128). */
  left: number;
}

export interface ReaderEventMap {
  inserted: [{ cardType: CardType }];
  removed: [];
  /** The reader stopped answering (unplugged, driver host died). */
  gone: [{ code: string }];
}
export type ReaderEventName = keyof ReaderEventMap;

export interface ReaderDriver {
  readonly kind: string;
  readonly isOpen: boolean;

  open(): Promise<void>;
  close(): Promise<void>;

  on<E extends ReaderEventName>(event: E, listener: (...args: ReaderEventMap[E]) => void): this;
  off<E extends ReaderEventName>(event: E, listener: (...args: ReaderEventMap[E]) => void): this;

  cardPresent(): Promise<boolean>;
  /**
   * Which card presence this is: a number that changes whenever the reader has seen the slot empty, a card go in,
   * the chip powered off (close) or the reader go away; null when the reader cannot tell (then the station treats
   * every call as a possibly different card). Equal values across two calls mean the reader vouches that no card
   * left the slot in between — the station uses it to reuse a card image it read moments ago (card-guard.ts).
   */
  insertionId(): number | null;
  /** 'none' when the slot is empty; 'unknown' for a card the reader cannot classify. */
  detectCard(): Promise<CardType>;
  identify(): Promise<CardIdentity>;

  // ---- SLE4442 ----
  read4442(offset: number, length: number): Promise<Uint8Array>;
  /** 4 bytes: bit j of byte k = main byte 8k+j; 1 = writable, 0 = protected for good. */
  readProtection4442(): Promise<Uint8Array>;
  readErrorCounter4442(): Promise<AttemptsInfo>;
  /** One compare sequence. Wrong: READER_WRONG_PASSWORD {attemptsLeft}; EC already 0: READER_CARD_LOCKED. */
  verify4442(psc: Uint8Array): Promise<AttemptsInfo>;
  write4442(offset: number, data: Uint8Array): Promise<void>;
  /** Needs a verified card. */
  changePsc4442(psc: Uint8Array): Promise<void>;
  /** The PSC as the card shows it: the real one after verification, 00 00 00 before. */
  readPsc4442(): Promise<Uint8Array>;
  /** Protects bytes offset..offset+len-1 (< 32) for good; `data` must equal what they hold. */
  writeProtection4442(offset: number, data: Uint8Array): Promise<void>;

  // ---- AT88SC102 ----
  read102(zone: Zone102, offset: number, length: number): Promise<Uint8Array>;
  verify102(sc: Uint8Array): Promise<AttemptsInfo>;
  readScac102(): Promise<AttemptsInfo>;
  /** Presents EZ1 (6 B) / EZ2 (4 B) and erases the whole zone. Wrong key: READER_WRONG_ERASE_KEY. */
  eraseZone102(zone: AppZone102, key: Uint8Array): Promise<void>;
  /** Erases the 16-bit words covering the range outside the AZs (needs SV). */
  eraseWords102(offset: number, length: number): Promise<void>;
  /** Clears bits only (AZ data needs an erased zone to set bits back to 1). */
  write102(zone: Zone102, offset: number, data: Uint8Array): Promise<void>;
  changeSc102(sc: Uint8Array): Promise<void>;
  /** The SC as the card shows it (real only after SV). */
  readSc102(): Promise<Uint8Array>;
  readEc2102(): Promise<Ec2Info>;

  // ---- CPU card and PSAM slots ----
  cpuReset(): Promise<Uint8Array>;
  cpuApdu(apdu: Uint8Array): Promise<Uint8Array>;
  samPresent(slot: SamSlot): Promise<boolean>;
  samReset(slot: SamSlot): Promise<Uint8Array>;
  samApdu(slot: SamSlot, apdu: Uint8Array): Promise<Uint8Array>;
}

/** Byte ranges of the data formats in sdk/include/gascard.h. */
export const CARD_LAYOUT = {
  sle4442: { bytes: 256, appStart: 0x20 },
  at88sc102: { publicBytes: 22, zoneBytes: 64, dataBytes: 150, az1Start: 22, az2Start: 92 },
} as const;
