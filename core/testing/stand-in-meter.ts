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
  return join(ROOT, 'plugins', maker, 'lib', `${process.platform}-${process.arch}`, `libgascard_${maker}.${process.platform === 'darwin' ? 'dylib' : 'so'}`);
}

function writeBackFn(maker: string): Fn {
  let fn = libs.get(maker);
  if (!fn) {
    const lib = koffi.load(standInLibraryPath(maker));
    fn = lib.func('int StandInMeterWriteBack(const char *cardType, const char *data, int status, int lastCode, const int *months, const int *usage, int count, _Out_ uint8_t *out, int outSize)');
    libs.set(maker, fn);
  }
  return fn;
}

/** Returns the card image after the meter has read it and written back. */
export function meterWriteBack(maker: string, cardType: '4442' | '102', data: string, o: {
  status?: number; lastCode?: number; months?: Array<[number, number]>;
} = {}): string {
  const months = o.months ?? [];
  const out = Buffer.alloc(1024);
  const rc = writeBackFn(maker)(cardType, data, o.status ?? 0, o.lastCode ?? 0,
    Int32Array.from(months.map((m) => m[0])), Int32Array.from(months.map((m) => m[1])), months.length, out, out.length) as number;
  if (rc !== 0) throw new Error(`StandInMeterWriteBack(${maker}, ${cardType}) returned ${rc}`);
  return out.subarray(0, out.indexOf(0)).toString('ascii');
}

/** What the counter station writes when it erases a card: the library-owned area set to FF. */
export function erased(cardType: '4442' | '102', data: string): string {
  if (cardType === '4442') return data.slice(0, 64) + 'F'.repeat(512 - 64);
  // 102: keep the fabrication zone (bytes 0-1) and SC/SCAC (bytes 10-13); the rest is the library's.
  return data.slice(0, 4) + 'F'.repeat(16) + data.slice(20, 28) + 'F'.repeat(300 - 28);
}
