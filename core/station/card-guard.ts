/**
 * "Is this still the card we read?" (reference §4.6: the counter re-reads the card before writing).
 *
 * Two checks, both before anything is written:
 * - `assertSameCard`: presence, card type, chip identity and the bytes readable without a password
 *   (4442: the whole card; 102: the public zone except SC/SCAC, which change with verification).
 * - `guardedReader`: card-io's writeCard reads the card once more right before it writes (after the
 *   single password check on a 102, when the application zones become readable). The guard compares that
 *   read with the snapshot and stops the write, leaving the card untouched, if it differs.
 * For a recovery (retry on a half-written card) every byte must be either the old or the new value.
 *
 * The quick form (`assertSameCardQuick`, 4442 only): when the reader vouches that no card left the slot since just
 * before the snapshot was read (its `insertionId` unchanged), the card type and the 6-byte per-card code are read
 * again instead of all 256 bytes; the write then starts from the snapshot's bytes. A swap the reader saw changes the
 * insertion id and gets the full check; a swap too fast for a polling reader to see still has to carry this card's
 * per-card code; a card without a meaningful code always gets the full check.
 */
import { equalBytes, fromHex, toHex } from './chips/hex.ts';
import type { RawCard } from './readers/card-io.ts';
import { CODE_4442, identityOf4442 } from './readers/identity.ts';
import type { ReaderDriver } from './readers/reader-driver.ts';
import { ReaderNoCard } from './readers/reader-errors.ts';
import { StationCardSwapped } from './station-errors.ts';

/** What the station remembers about the card it read, to recognise it later. */
export interface CardSnapshot {
  cardType: '4442' | '102';
  chipSerial: string | null;
  /** 4442: 512 hex; 102: 300 hex or null when the zones were not read (blank card). */
  data: string | null;
  /** 102: 44 hex public zone as read before any verification. */
  publicZone?: string;
  /** The reader's insertionId taken just before the card was read (null: the reader cannot tell). */
  insertion?: number | null;
}

export function snapshotOf(raw: RawCard, insertion: number | null = null): CardSnapshot {
  if (raw.cardType === '4442') return { cardType: '4442', chipSerial: raw.chipSerial, data: raw.data, insertion };
  if (raw.cardType === '102')
    return { cardType: '102', chipSerial: raw.chipSerial, data: raw.data, publicZone: raw.publicZone };
  throw new Error('CPU cards have no memory snapshot');
}

/** 102 card bytes that the station compares (FZ, IZ, CPZ): SC and SCAC change with every verification. */
const PUB_COMPARED: Array<[number, number]> = [
  [0, 10],
  [14, 22],
];

function pubEqual(a: string, b: string): boolean {
  const x = fromHex(a.slice(0, 44));
  const y = fromHex(b.slice(0, 44));
  return PUB_COMPARED.every(([s, e]) => {
    for (let i = s; i < e; i++) if (x[i] !== y[i]) return false;
    return true;
  });
}

const swapped = (why: string) => StationCardSwapped({ why }, { zh: WHY_ZH[why] ?? why, en: why });
const WHY_ZH: Record<string, string> = {
  'no card': '读卡器中已没有卡',
  'card type': '卡型不同',
  'chip identity': '芯片标识不同',
  'card data': '卡上数据不同',
  'public zone': '102 卡公共区不同',
};

/**
 * The quick same-card check (see the header). Resolves true when the same card is shown to be in the slot, false
 * when the quick form does not apply (then the caller runs `assertSameCard`); throws STATION_CARD_SWAPPED for another
 * card type or per-card code, READER_NO_CARD for an empty slot.
 */
export async function assertSameCardQuick(reader: ReaderDriver, snap: CardSnapshot): Promise<boolean> {
  const ins = snap.insertion ?? null;
  if (snap.cardType !== '4442' || !snap.data || snap.chipSerial === null || ins === null) return false;
  if (reader.insertionId() !== ins) return false;
  const type = await reader.detectCard();
  if (type === 'none') throw ReaderNoCard({ reader: reader.kind });
  if (type !== snap.cardType) throw swapped('card type');
  const code = await reader.read4442(CODE_4442.offset, CODE_4442.length);
  if (!equalBytes(code, fromHex(snap.chipSerial))) throw swapped('chip identity');
  // A card taken out during these two calls: the full check decides.
  return reader.insertionId() === ins;
}

/**
 * Throws STATION_CARD_SWAPPED (or READER_* when the reader fails) unless the same card is in the reader. For a
 * 4442 it resolves the 256 bytes it read, so the write can start from them instead of reading the card again.
 */
export async function assertSameCard(
  reader: ReaderDriver,
  snap: CardSnapshot,
  o: { allowTarget?: string } = {},
): Promise<Uint8Array | undefined> {
  const type = await reader.detectCard();
  if (type === 'none') throw ReaderNoCard({ reader: reader.kind });
  if (type !== snap.cardType) throw swapped('card type');
  const target = o.allowTarget;
  if (snap.cardType === '4442') {
    // The per-card code is part of the 256 bytes: one read answers both questions.
    const bytes = await reader.read4442(0, 256);
    if (snap.chipSerial !== null && identityOf4442(bytes, 0).chipSerial !== snap.chipSerial)
      throw swapped('chip identity');
    if (snap.data && !mixOf(toHex(bytes), snap.data, target, 0)) throw swapped('card data');
    return bytes;
  }
  const id = await reader.identify();
  if (snap.chipSerial !== null && id.chipSerial !== snap.chipSerial) throw swapped('chip identity');
  const pub = toHex(await reader.read102(0, 0, 22));
  const ref = snap.publicZone ?? snap.data?.slice(0, 44);
  if (ref && !pubEqual(pub, ref) && !(target && pubMix(pub, ref, target))) throw swapped('public zone');
  return undefined;
}

/**
 * Every byte of `now` (from byte `from`) equals the old byte or, when given, the target byte — or, for a
 * 102 application zone that a recovery may find mid-rewrite, an erased FF.
 */
function mixOf(now: string, old: string, target: string | undefined, from: number, erasedOk = false): boolean {
  const n = fromHex(now);
  const a = fromHex(old);
  const t = target ? fromHex(target) : undefined;
  for (let i = from; i < n.length; i++) {
    if (n[i] === a[i] || (t && n[i] === t[i]) || (t && erasedOk && n[i] === 0xff)) continue;
    return false;
  }
  return true;
}

function pubMix(now: string, old: string, target: string): boolean {
  const n = fromHex(now);
  const a = fromHex(old.slice(0, 44));
  const t = fromHex(target.slice(0, 44));
  return PUB_COMPARED.every(([s, e]) => {
    for (let i = s; i < e; i++) if (n[i] !== a[i] && n[i] !== t[i]) return false;
    return true;
  });
}

/**
 * A reader whose first full read inside writeCard (the "read-card" step) must match the snapshot; later
 * reads (the read-back) pass through. With `allowTarget`, bytes may also already hold the new data.
 */
export function guardedReader(
  reader: ReaderDriver,
  snap: CardSnapshot,
  o: { allowTarget?: string; onWrite?: (bytes: number) => void } = {},
): ReaderDriver {
  const checked = new Set<string>();
  const az =
    snap.cardType === '102' && snap.data ? { 1: snap.data.slice(44, 172), 2: snap.data.slice(172, 300) } : undefined;
  const tAz =
    snap.cardType === '102' && o.allowTarget
      ? { 1: o.allowTarget.slice(44, 172), 2: o.allowTarget.slice(172, 300) }
      : undefined;
  return new Proxy(reader, {
    get(target, prop, receiver) {
      const v = Reflect.get(target, prop, receiver);
      if (typeof v !== 'function') return v;
      if (prop === 'read4442') {
        return async (offset: number, length: number) => {
          const r: Uint8Array = await v.call(target, offset, length);
          if (offset === 0 && length === 256 && !checked.has('4442') && snap.data) {
            checked.add('4442');
            if (!mixOf(toHex(r), snap.data, o.allowTarget, 0)) throw swapped('card data');
          }
          return r;
        };
      }
      if (prop === 'read102') {
        return async (zone: 0 | 1 | 2, offset: number, length: number) => {
          const r: Uint8Array = await v.call(target, zone, offset, length);
          if ((zone === 1 || zone === 2) && offset === 0 && length === 64 && az && !checked.has(`az${zone}`)) {
            checked.add(`az${zone}`);
            const want = az[zone];
            const alt = tAz?.[zone];
            if (!mixOf(toHex(r), want, alt, 0, true)) throw swapped('card data');
          }
          return r;
        };
      }
      if ((prop === 'write4442' || prop === 'write102') && o.onWrite) {
        return async (...args: unknown[]) => {
          const r = await (v as (...a: unknown[]) => Promise<void>).apply(target, args);
          const data = args[args.length - 1] as Uint8Array;
          o.onWrite!(data.length);
          return r;
        };
      }
      return v.bind(target);
    },
  });
}
