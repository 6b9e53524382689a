/**
 * A meter for tests: the stand-in library's test-only StandInMeterWriteBack, called in-process through koffi,
 * leaves a purchase card the way a meter does (written-back flag, status, last code, monthly usage).
 * Stand-in library / 替身库 only — real maker libraries have no such export.
 */
import { join } from 'node:path';
import koffi, { type LibraryHandle } from 'koffi';

const ROOT = join(import.meta.dirname, '..', '..');
type Fn = ReturnType<LibraryHandle['func']>;
const libs = new Map<string, Fn>();

export function standInLibraryPath(maker: string): string {
  return join(
    ROOT,
    'plugins',
    maker,
    'lib',
    `${process.platform}-${process.arch}`,
    `libgascard_${maker}.${process.platform === 'darwin' ? 'dylib' : 'so'}`,
  );
}

function writeBackFn(maker: string): Fn {
  let fn = libs.get(maker);
  if (!fn) {
    const lib = koffi.load(standInLibraryPath(maker));
    fn = lib.func(
      'int StandInMeterWriteBack(const char *cardType, const char *data, int status, int lastCode, const int *months, const int *usage, int count, _Out_ uint8_t *out, int outSize)',
    );
    libs.set(maker, fn);
  }
  return fn;
}

/** Returns the card image after the meter has read it and written back. */
export function meterWriteBack(
  maker: string,
  cardType: '4442' | '102',
  data: string,
  o: {
    status?: number;
    lastCode?: number;
    months?: Array<[number, number]>;
  } = {},
): string {
  const months = o.months ?? [];
  const out = Buffer.alloc(1024);
  const rc = writeBackFn(maker)(
    cardType,
    data,
    o.status ?? 0,
    o.lastCode ?? 0,
    Int32Array.from(months.map((m) => m[0])),
    Int32Array.from(months.map((m) => m[1])),
    months.length,
    out,
    out.length,
  ) as number;
  if (rc !== 0) throw new Error(`StandInMeterWriteBack(${maker}, ${cardType}) returned ${rc}`);
  return out.subarray(0, out.indexOf(0)).toString('ascii');
}

/** What the counter station writes when it erases a card: the library-owned area set to FF. */
export function erased(cardType: '4442' | '102', data: string): string {
  if (cardType === '4442') return data.slice(0, 64) + 'F'.repeat(512 - 64);
  // 102: keep the fabrication zone (bytes 0-1) and SC/SCAC (bytes 10-13); the rest is the library's.
  return data.slice(0, 4) + 'F'.repeat(16) + data.slice(20, 28) + 'F'.repeat(300 - 28);
}

type ReadFn = (data: string, kh: Buffer, ql: number[], cs: number[], klx: number[]) => number;
const readers = new Map<string, ReadFn>();

function readFn(maker: string, cardType: '4442' | '102'): ReadFn {
  const key = `${maker}|${cardType}`;
  let fn = readers.get(key);
  if (!fn) {
    const lib = koffi.load(standInLibraryPath(maker));
    const signature =
      `int Read${cardType}Card(const char *data, _Out_ uint8_t *kh, _Out_ int *ql, _Out_ int16_t *cs, ` +
      '_Out_ int16_t *klx)';
    fn = lib.func(signature) as ReadFn;
    readers.set(key, fn);
  }
  return fn;
}

/**
 * A prepaid meter for go-live tests: it remembers the purchase count it last accepted and takes a card only
 * when the card's count is exactly that + 1 (what the maker's meters do, and why a card at a restarted count is
 * useless). The card is read through the maker's stand-in library in-process; on acceptance the meter writes
 * back (StandInMeterWriteBack). Stand-in library / 替身库 only; the count rule is this model's, not a maker's.
 */
export class StandInMeter {
  constructor(
    readonly maker: string,
    readonly cardType: '4442' | '102',
    public count: number,
  ) {}

  take(data: string): { accepted: boolean; cardCount: number; meterCount: number; gas: number; data: string } {
    const kh = Buffer.alloc(64);
    const ql = [0];
    const cs = [0];
    const klx = [0];
    const rc = readFn(this.maker, this.cardType)(data, kh, ql, cs, klx);
    if (rc !== 0) throw new Error(`Read${this.cardType}Card(${this.maker}) returned ${rc}`);
    const meterCount = this.count;
    if (cs[0] !== meterCount + 1) return { accepted: false, cardCount: cs[0]!, meterCount, gas: ql[0]!, data };
    this.count = cs[0]!;
    const after = meterWriteBack(this.maker, this.cardType, data);
    return { accepted: true, cardCount: cs[0]!, meterCount, gas: ql[0]!, data: after };
  }
}
