/**
 * The simulated reader's optional byte timing: what each reader call would move over the serial link between
 * the counter PC and a Mingwah reader, and what the chip's EEPROM programming would add, so a bench can feel
 * the card as a clerk does (bench/station-clerk.ts). Off by default: tests and training stay instant.
 *
 * Sources (/work/shared/reference/card-domain.md, cited in the bench's method text):
 * - The SDK calls and their parameters (§3.1–3.3: `srd_4442(icdev, offset, len, buf)`, `swr_4442`, `prd_4442`,
 *   `csc_4442(icdev, 3, psc)`, `rsct_4442`, `srd_102(icdev, zone, offset, len, buf)`, `get_status`, `chk_card`…).
 *   Per call we count: 1 function byte + each `__int16` parameter as 2 bytes + the data sent; the reply is the
 *   `__int16` status (2 bytes) + the data returned. The Mingwah serial frame (start/length/checksum bytes) is not
 *   in our references, so `frameBytes` is 0 by default: the link time is a lower bound.
 * - SLE4442 programming: "2.5 ms per byte for both erasing and writing" (§1 table: seekic.com SLE4432/42 text,
 *   motechno.com) — charged per EEPROM operation the emulated chip performs (its `writes` counter: one per byte
 *   updated, two per PSC verification — clear an EC bit, then erase it — one per PSC byte changed). The AT88SC102's
 *   programming time is not in our references; the same per-operation figure is applied to it.
 * - Every memory-card write is read back (the reader contract, readers/README.md §1), as the mwic driver does
 *   with `srd`/`prd` after `swr`: those reads are charged to the write.
 * - Baud: the counter's Mingwah reader on a COM port at 9600 baud, 8N1 (10 bits a byte); `ic_init(port, baud)`.
 */

/** How a reader call is timed. */
export interface SimLinkTiming {
  /** Serial link speed, bits/s (Mingwah on a COM port: 9600). */
  baud: number;
  /** Bits a byte takes on the wire (8N1: start + 8 + stop = 10). */
  bitsPerByte?: number;
  /** Frame bytes the reader's protocol adds to each request and each reply (not in our references: 0). */
  frameBytes?: number;
  /** Reader processing time per SDK call, ms (not in our references: 0). */
  commandMs?: number;
  /** EEPROM programming time per chip erase/write operation, ms (SLE4442 datasheet: 2.5). */
  programMs?: number;
  /** How to wait (tests hand in a fake clock); default a timer. */
  sleep?: (ms: number) => Promise<void>;
}

/** A Mingwah reader on COM at 9600 8N1 with an SLE4442: the figures above. */
export const MINGWAH_9600: Readonly<Omit<SimLinkTiming, 'sleep'>> = {
  baud: 9600,
  bitsPerByte: 10,
  frameBytes: 0,
  commandMs: 0,
  programMs: 2.5,
};

/** What reader calls moved: SDK calls, bytes each way, chip erase/write operations. */
export interface LinkCost {
  commands: number;
  sent: number;
  received: number;
  programmed: number;
}

export const noCost = (): LinkCost => ({ commands: 0, sent: 0, received: 0, programmed: 0 });

/** ms per byte on the wire. */
export function byteMs(t: Pick<SimLinkTiming, 'baud' | 'bitsPerByte'>): number {
  return ((t.bitsPerByte ?? 10) * 1000) / t.baud;
}

/** The card I/O time of a cost: bytes (and frames) at the link speed, per-call processing, EEPROM programming. */
export function linkMs(t: Omit<SimLinkTiming, 'sleep'>, c: LinkCost): number {
  const frames = 2 * (t.frameBytes ?? 0) * c.commands;
  return (
    (c.sent + c.received + frames) * byteMs(t) + c.commands * (t.commandMs ?? 0) + c.programmed * (t.programMs ?? 0)
  );
}

type Bytes = Uint8Array | undefined;
const len = (x: unknown): number => (x instanceof Uint8Array ? x.length : 0);
/** A length argument as a byte count; a bad one (the call refuses it) moves no data. */
const n = (x: unknown): number => (Number.isInteger(x) && (x as number) > 0 ? (x as number) : 0);
/**
 * [SDK calls, bytes sent, bytes received] of one reader call, from its arguments, (when it returned) its result and
 * whether it succeeded.
 */
type Model = (args: unknown[], result: unknown, ok: boolean) => [number, number, number];

// One SDK call: 1 function byte + params; reply 2 status bytes + data.
const call = (params: number, out = 0, back = 0): [number, number, number] => [1, 1 + params + out, 2 + back];
const add = (...xs: Array<[number, number, number]>): [number, number, number] =>
  xs.reduce((a, b) => [a[0] + b[0], a[1] + b[1], a[2] + b[2]], [0, 0, 0]);

/**
 * The byte model per ReaderDriver call. `open`, `close` and `identify` are not here: the first two are not card
 * I/O, and `identify` is made of calls that are (detectCard, read4442…), each charged as it happens.
 */
export const LINK_MODEL = {
  cardPresent: () => call(0, 0, 2), // get_status → state
  detectCard: () => add(call(0, 0, 2), call(0)), // get_status, then chk_card (its status is the type)
  read4442: (a) => call(4, 0, n(a[1])), // srd_4442(offset, len)
  readProtection4442: () => call(2, 0, 4), // prd_4442(len = 4)
  readErrorCounter4442: () => call(0, 0, 2), // rsct_4442 → counter
  verify4442: () => call(2, 3), // csc_4442(len = 3, psc)
  // swr, read back srd; prd_4442 only when the read-back differs, to explain it (mwic-reader.ts)
  write4442: (a, _r, ok) => add(call(4, len(a[1])), call(4, 0, len(a[1])), ...(ok ? [] : [call(2, 0, 4)])),
  changePsc4442: () => add(call(2, 3), call(2, 0, 3)), // wsc_4442, read back rsc_4442
  readPsc4442: () => call(2, 0, 3), // rsc_4442
  writeProtection4442: (a) => add(call(4, len(a[1])), call(2, 0, 4)), // pwr_4442, read back prd_4442
  read102: (a) => call(6, 0, n(a[2])), // srd_102(zone, offset, len)
  verify102: () => call(2, 2), // csc_102(len = 2, sc)
  readScac102: () => call(0, 0, 2), // rsct_102
  eraseZone102: (a) => add(call(4, len(a[1])), call(6), call(6, 0, 64)), // cesc_102, ser_102, read back
  eraseWords102: (a) => add(call(6), call(6, 0, n(a[1]) + 2)), // ser_102 (whole words), read back
  write102: (a) => add(call(6, len(a[2])), call(6, 0, len(a[2]))), // swr_102, read back srd_102
  changeSc102: () => add(call(2, 2), call(2, 0, 2)), // wsc_102, read back rsc_102
  readSc102: () => call(2, 0, 2), // rsc_102
  readEc2102: () => call(2, 0, 2), // resct_102
  cpuReset: (_a, r) => call(0, 0, len(r as Bytes)), // cpu_reset → ATR
  cpuApdu: (a, r) => call(2, len(a[0]), len(r as Bytes)), // cpu_protocol(len, apdu) → response
  samPresent: () => call(1), // sam_select(slot)
  samReset: (_a, r) => call(1, 0, len(r as Bytes)), // sam_slt_reset(slot) → ATR
  samApdu: (a, r) => call(3, len(a[1]), len(r as Bytes)), // sam_slt_protocol(slot, len, apdu) → response
} satisfies Record<string, Model>;

export type LinkedMethod = keyof typeof LINK_MODEL;
