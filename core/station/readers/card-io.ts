/**
 * The gas-card procedures the counter station runs on any ReaderDriver (sdk/SPEC.zh-CN.md §11):
 * - readRawCard: the raw card in the interface's data format (4442: 512 hex; 102: public zone, then with the
 *   SC the 300-hex public + AZ1 + AZ2).
 * - writeCard: verify the password ONCE (a wrong password is never retried), write only what must change
 *   (4442: bytes 0x20-0xFF; 102: IZ/CPZ words, AZ1/AZ2 erased with their keys only when a bit must go back
 *   to 1), change the password if asked, read back and compare. The result says which step failed and in
 *   what state the card was left.
 * - formatCard: 擦卡 — blank the application area and put the factory password back.
 */
import { isMeterHubError, type MeterHubError } from '../../errors/meterhub-error.ts';
import { at, equalBytes, fromHex, isHex, toHex } from '../chips/hex.ts';
import { FACTORY_PSC_4442, FACTORY_SC_102, parseKey102, parsePsc4442, type Key102 } from './card-keys.ts';
import { identityOf102, identityOf4442 } from './identity.ts';
import { CARD_LAYOUT, type CardType, type ReaderDriver } from './reader-driver.ts';
import {
  ReaderBadData,
  ReaderCardLocked,
  ReaderCardRemoved,
  ReaderEraseExhausted,
  ReaderGone,
  ReaderNoCard,
  ReaderUnknownCard,
  ReaderVerifyMismatch,
  ReaderWrongCardType,
} from './reader-errors.ts';

const L4 = CARD_LAYOUT.sle4442;
const L2 = CARD_LAYOUT.at88sc102;
/** Card byte ranges of the 102 public zone the station may write (FZ, SC, SCAC never from data). */
const IZ: [number, number] = [2, 10];
const CPZ: [number, number] = [14, 22];

// ---- readRawCard ----------------------------------------------------------------------------------------

export type RawCard =
  | { cardType: '4442'; data: string; chipSerial: string | null; attemptsLeft: number; protection: string }
  | {
      cardType: '102';
      /** Card bytes 0-21 as read before any verification (44 hex); SC bytes read as the card masks them. */
      publicZone: string;
      /** Public zone + AZ1 + AZ2 (300 hex) when a key was given, else null. */
      data: string | null;
      chipSerial: string | null;
      attemptsLeft: number;
      ec2Left: number;
    }
  | { cardType: 'cpu'; atr: string; chipSerial: string | null };

export interface ReadRawOptions {
  /** 102 only: the password (SC or SC:EZ1:EZ2) from Check102Card, to read AZ1 and AZ2. Verified once. */
  key102?: string;
  /** What a detectCard of this same step just answered: the card is not asked again. */
  type?: CardType;
}

export async function readRawCard(reader: ReaderDriver, o: ReadRawOptions = {}): Promise<RawCard> {
  const key = o.key102 === undefined ? undefined : parseKey102(o.key102, 'key102');
  const type = o.type ?? (await reader.detectCard());
  if (type === 'none') throw ReaderNoCard({ reader: reader.kind });
  if (type === 'unknown') throw ReaderUnknownCard({ reader: reader.kind });
  // Memory cards: the identity (per-card code / issuer zone) is taken from the bytes read anyway, not read twice.
  if (type === '4442') {
    const data = await reader.read4442(0, L4.bytes);
    const id = identityOf4442(data, 0);
    const ec = await reader.readErrorCounter4442();
    const prot = await reader.readProtection4442();
    return {
      cardType: '4442',
      data: toHex(data),
      chipSerial: id.chipSerial,
      attemptsLeft: ec.attemptsLeft,
      protection: toHex(prot),
    };
  }
  if (type === 'cpu') {
    const id = await reader.identify();
    return { cardType: 'cpu', atr: toHex(await reader.cpuReset()), chipSerial: id.chipSerial };
  }
  const pub = await reader.read102(0, 0, L2.publicBytes);
  const id = identityOf102(pub, 0);
  const scac = await reader.readScac102();
  const ec2 = await reader.readEc2102();
  let data: string | null = null;
  let attemptsLeft = scac.attemptsLeft;
  if (key) {
    if (scac.attemptsLeft === 0) throw ReaderCardLocked({ cardType: '102', attemptsLeft: 0 });
    attemptsLeft = (await reader.verify102(key.sc)).attemptsLeft;
    const az1 = await reader.read102(1, 0, L2.zoneBytes);
    const az2 = await reader.read102(2, 0, L2.zoneBytes);
    data = toHex(pub) + toHex(az1) + toHex(az2);
  }
  return { cardType: '102', publicZone: toHex(pub), data, chipSerial: id.chipSerial, attemptsLeft, ec2Left: ec2.left };
}

// ---- writeCard ------------------------------------------------------------------------------------------

export type WriteStep =
  | 'check-card'
  | 'read-counter'
  | 'read-card'
  | 'verify-password'
  | 'erase-zone1'
  | 'write-zone1'
  | 'erase-zone2'
  | 'write-zone2'
  | 'write-public'
  | 'write'
  | 'change-password'
  | 'read-back';

/**
 * untouched: nothing on the card changed (a failed verification still costs one attempt: see attemptsLeft).
 * partially-written: some data was written/erased, not all — the card holds neither the old nor the new data.
 * written-password-unchanged: all data written, the password change failed and the old password is still valid.
 * written-password-unknown: all data written, the card left during the password change: the password may be torn.
 * written-unverified: everything was done but the read-back failed or differed.
 * written-verified: done and read back equal.
 */
export type CardState =
  | 'untouched'
  | 'partially-written'
  | 'written-password-unchanged'
  | 'written-password-unknown'
  | 'written-unverified'
  | 'written-verified';

export interface StepRecord {
  step: WriteStep;
  ok: boolean;
  /** Bytes written (write steps), erases (erase steps). */
  count?: number;
}

export interface WriteCardRequest {
  cardType: '4442' | '102';
  /** 512 hex (4442) or 300 hex (102), as the maker library returned it. */
  data: string;
  oldKey: string;
  /** Password after writing; omitted or equal to oldKey = unchanged. */
  newKey?: string;
  /**
   * 4442 only: the card as the caller has just read it and shown to be the card in the slot (512 hex), right before
   * this write. The write then neither asks the card type nor reads the whole card again (card-guard.ts).
   */
  current?: string;
}

export interface WriteCardResult {
  ok: boolean;
  cardState: CardState;
  failedStep?: WriteStep;
  error?: MeterHubError;
  steps: StepRecord[];
  bytesWritten: number;
  passwordChanged: boolean;
  attemptsLeft?: number;
  ec2Left?: number;
  /**
   * 4442, when the read-back matched: the card after the write (512 hex) — the written span as read back from the
   * card, every other byte as the card was read before the write (a 4442 byte changes only when it is written).
   */
  readBack?: string;
}

/** Internal: a failed step with its error. */
class StepFailed extends Error {
  readonly step: WriteStep;
  readonly cause2: MeterHubError;
  constructor(step: WriteStep, cause: MeterHubError) {
    super(cause.message);
    this.step = step;
    this.cause2 = cause;
  }
}

interface Progress {
  steps: StepRecord[];
  bytesWritten: number;
  /** A data write/erase was attempted (so the card may have changed). */
  mutated: boolean;
  dataDone: boolean;
  passwordChanged: boolean;
  /** Set when a password change failed: is the old password known to be still valid? */
  passwordIntact?: boolean;
  attemptsLeft?: number;
  ec2Left?: number;
  readBack?: Uint8Array;
}

/**
 * Changes the password; on failure finds out, without any new verification, whether the old one still
 * holds: while the card is present and verified it shows its real password.
 */
async function changePassword(
  p: Progress,
  change: () => Promise<void>,
  readBack: () => Promise<Uint8Array>,
  old: Uint8Array,
): Promise<void> {
  try {
    await change();
    p.passwordChanged = true;
  } catch (e) {
    const lost = isMeterHubError(e) && (ReaderCardRemoved.is(e) || ReaderGone.is(e));
    const now = lost ? undefined : await readBack().catch(() => undefined);
    p.passwordIntact = now !== undefined && equalBytes(now, old);
    throw e;
  }
}

async function step<T>(p: Progress, name: WriteStep, fn: () => Promise<T>, count?: () => number): Promise<T> {
  try {
    const r = await fn();
    p.steps.push({ step: name, ok: true, ...(count ? { count: count() } : {}) });
    return r;
  } catch (e) {
    p.steps.push({ step: name, ok: false });
    if (isMeterHubError(e)) throw new StepFailed(name, e);
    throw e;
  }
}

export async function writeCard(reader: ReaderDriver, req: WriteCardRequest): Promise<WriteCardResult> {
  // Everything about the input is checked before the card is touched.
  if (req.cardType === '4442') {
    const target = parseData(req.data, L4.bytes, 'data');
    const oldPsc = parsePsc4442(req.oldKey, 'oldKey');
    const newPsc = req.newKey === undefined ? undefined : parsePsc4442(req.newKey, 'newKey');
    const current = req.current === undefined ? undefined : parseData(req.current, L4.bytes, 'current');
    return run(reader, (p) => write4442(reader, p, target, oldPsc, newPsc, current));
  }
  if (req.cardType === '102') {
    const target = parseData(req.data, L2.dataBytes, 'data');
    const oldKey = parseKey102(req.oldKey, 'oldKey');
    const newKey = req.newKey === undefined ? undefined : parseKey102(req.newKey, 'newKey');
    if (newKey && (!equalBytes(newKey.ez1, oldKey.ez1) || !equalBytes(newKey.ez2, oldKey.ez2))) {
      throw ReaderBadData(
        { field: 'newKey' },
        {
          zh: '柜台程序不改写擦除密钥，newKey 中的 EZ1/EZ2 必须与 oldKey 相同',
          en: 'the station never rewrites erase keys: EZ1/EZ2 in newKey must equal those in oldKey',
        },
      );
    }
    return run(reader, (p) => write102(reader, p, target, oldKey, newKey));
  }
  throw ReaderBadData({ field: 'cardType' });
}

/** 擦卡: blank 0x20-0xFF (4442) or CPZ + AZ1 + AZ2 (102) and restore the factory password. */
export async function formatCard(
  reader: ReaderDriver,
  req: { cardType: '4442' | '102'; oldKey: string },
): Promise<WriteCardResult> {
  if (req.cardType === '4442') {
    parsePsc4442(req.oldKey, 'oldKey');
    await expectType(reader, '4442');
    const cur = await reader.read4442(0, L4.bytes);
    const target = new Uint8Array(L4.bytes).fill(0xff);
    target.set(cur.subarray(0, L4.appStart), 0);
    return writeCard(reader, { cardType: '4442', data: toHex(target), oldKey: req.oldKey, newKey: FACTORY_PSC_4442 });
  }
  const key = parseKey102(req.oldKey, 'oldKey');
  await expectType(reader, '102');
  const pub = await reader.read102(0, 0, L2.publicBytes);
  const target = new Uint8Array(L2.dataBytes).fill(0xff);
  target.set(pub.subarray(0, CPZ[0]), 0);
  const hasEz = req.oldKey.includes(':');
  const newKey = hasEz ? `${FACTORY_SC_102}:${toHex(key.ez1)}:${toHex(key.ez2)}` : FACTORY_SC_102;
  return writeCard(reader, { cardType: '102', data: toHex(target), oldKey: req.oldKey, newKey });
}

async function run(reader: ReaderDriver, body: (p: Progress) => Promise<void>): Promise<WriteCardResult> {
  const p: Progress = { steps: [], bytesWritten: 0, mutated: false, dataDone: false, passwordChanged: false };
  const out = (ok: boolean, cardState: CardState, extra: Partial<WriteCardResult> = {}): WriteCardResult => ({
    ok,
    cardState,
    steps: p.steps,
    bytesWritten: p.bytesWritten,
    passwordChanged: p.passwordChanged,
    ...(p.attemptsLeft !== undefined ? { attemptsLeft: p.attemptsLeft } : {}),
    ...(p.ec2Left !== undefined ? { ec2Left: p.ec2Left } : {}),
    ...(p.readBack ? { readBack: toHex(p.readBack) } : {}),
    ...extra,
  });
  try {
    await body(p);
    return out(true, 'written-verified');
  } catch (e) {
    if (!(e instanceof StepFailed)) throw e;
    const err = e.cause2;
    const failed = { failedStep: e.step, error: err };
    if (err.details && typeof err.details.attemptsLeft === 'number') p.attemptsLeft = err.details.attemptsLeft;
    if (e.step === 'read-back') return out(false, 'written-unverified', failed);
    if (e.step === 'change-password') {
      return out(false, p.passwordIntact ? 'written-password-unchanged' : 'written-password-unknown', failed);
    }
    return out(false, p.mutated ? 'partially-written' : 'untouched', failed);
  }
}

async function expectType(reader: ReaderDriver, want: '4442' | '102'): Promise<void> {
  const t = await reader.detectCard();
  if (t === 'none') throw ReaderNoCard({ reader: reader.kind });
  if (t !== want) throw ReaderWrongCardType({ expected: want, found: t });
}

function parseData(data: unknown, bytes: number, field: string): Uint8Array {
  if (typeof data !== 'string' || !isHex(data, bytes)) {
    throw ReaderBadData(
      { field },
      { zh: `${field} 应为 ${bytes * 2} 个十六进制字符`, en: `${field} must be ${bytes * 2} hex digits` },
    );
  }
  return fromHex(data, bytes);
}

/** Maximal runs [start, end) of indexes in [from, to) where `want` differs from `have`. */
function diffRuns(want: Uint8Array, have: Uint8Array, from: number, to: number): [number, number][] {
  const runs: [number, number][] = [];
  for (let i = from; i < to; i++) {
    if (want[i] === have[i]) continue;
    const last = runs[runs.length - 1];
    if (last && last[1] === i) last[1] = i + 1;
    else runs.push([i, i + 1]);
  }
  return runs;
}

// ---- 4442 -------------------------------------------------------------------------------------------------

async function write4442(
  r: ReaderDriver,
  p: Progress,
  target: Uint8Array,
  oldPsc: Uint8Array,
  newPsc?: Uint8Array,
  known?: Uint8Array,
): Promise<void> {
  if (!known) await step(p, 'check-card', () => expectType(r, '4442'));
  await step(p, 'read-counter', async () => {
    const ec = await r.readErrorCounter4442();
    p.attemptsLeft = ec.attemptsLeft;
    if (ec.attemptsLeft === 0) throw ReaderCardLocked({ cardType: '4442', attemptsLeft: 0 });
  });
  const current = known ?? (await step(p, 'read-card', () => r.read4442(0, L4.bytes)));
  const runs = diffRuns(target, current, L4.appStart, L4.bytes);
  const changePsc = newPsc !== undefined && !equalBytes(newPsc, oldPsc);
  if (runs.length > 0 || changePsc) {
    await step(p, 'verify-password', async () => {
      p.attemptsLeft = (await r.verify4442(oldPsc)).attemptsLeft;
    });
    await step(
      p,
      'write',
      async () => {
        for (const [s, e] of runs) {
          p.mutated = true;
          await r.write4442(s, target.subarray(s, e));
          p.bytesWritten += e - s;
        }
      },
      () => p.bytesWritten,
    );
    p.dataDone = true;
    if (changePsc) {
      await step(p, 'change-password', () =>
        changePassword(
          p,
          () => r.changePsc4442(newPsc),
          () => r.readPsc4442(),
          oldPsc,
        ),
      );
    }
  }
  // Read back what was written — one read from the first written byte to the last (per-run reads would pay 7 bytes
  // of call overhead each for gaps that are usually shorter) — and compare the whole application area: bytes not
  // written are as read before the write. Nothing written (the card already held the data): nothing to read.
  await step(p, 'read-back', async () => {
    const back = current.slice();
    const first = runs[0];
    const last = runs[runs.length - 1];
    if (first && last) back.set(await r.read4442(first[0], last[1] - first[0]), first[0]);
    const bad = diffRuns(target, back, L4.appStart, L4.bytes)[0];
    if (bad) throw ReaderVerifyMismatch({ cardType: '4442', offset: bad[0] });
    p.readBack = back;
  });
}

// ---- 102 --------------------------------------------------------------------------------------------------

/** data (150 B) index -> card byte address. */
function cardAddr102(i: number): number {
  return i < L2.az1Start + L2.zoneBytes ? i : i - (L2.az1Start + L2.zoneBytes) + L2.az2Start;
}

function needsErase(want: Uint8Array, have: Uint8Array): boolean {
  for (let i = 0; i < want.length; i++) if ((at(want, i) & ~at(have, i)) !== 0) return true;
  return false;
}

async function write102(
  r: ReaderDriver,
  p: Progress,
  target: Uint8Array,
  oldKey: Key102,
  newKey?: Key102,
): Promise<void> {
  await step(p, 'check-card', () => expectType(r, '102'));
  await step(p, 'read-counter', async () => {
    const s = await r.readScac102();
    p.attemptsLeft = s.attemptsLeft;
    if (s.attemptsLeft === 0) throw ReaderCardLocked({ cardType: '102', attemptsLeft: 0 });
  });
  const changeSc = newKey !== undefined && !equalBytes(newKey.sc, oldKey.sc);
  // The AZs may only be readable after SV (R bit = 0), so the card is read after the one verification.
  await step(p, 'verify-password', async () => {
    p.attemptsLeft = (await r.verify102(oldKey.sc)).attemptsLeft;
  });
  const cur = await step(p, 'read-card', async () => {
    const pub = await r.read102(0, 0, L2.publicBytes);
    const az1 = await r.read102(1, 0, L2.zoneBytes);
    const az2 = await r.read102(2, 0, L2.zoneBytes);
    return { pub, az1, az2 };
  });
  const want = {
    pub: target.subarray(0, L2.publicBytes),
    az1: target.subarray(L2.az1Start, L2.az1Start + L2.zoneBytes),
    az2: target.subarray(L2.az1Start + L2.zoneBytes, L2.dataBytes),
  };
  const erase1 = needsErase(want.az1, cur.az1);
  const erase2 = needsErase(want.az2, cur.az2);
  const ec2 = await r.readEc2102();
  p.ec2Left = ec2.left;
  if (erase2 && ec2.enabled !== false && ec2.left === 0) {
    // Found before anything is written: the card stays untouched.
    p.steps.push({ step: 'erase-zone2', ok: false });
    throw new StepFailed('erase-zone2', ReaderEraseExhausted({ zone: 2, ec2Left: 0 }));
  }

  for (const zone of [1, 2] as const) {
    const w = zone === 1 ? want.az1 : want.az2;
    let have = zone === 1 ? cur.az1 : cur.az2;
    if (zone === 1 ? erase1 : erase2) {
      await step(
        p,
        zone === 1 ? 'erase-zone1' : 'erase-zone2',
        async () => {
          p.mutated = true;
          await r.eraseZone102(zone, zone === 1 ? oldKey.ez1 : oldKey.ez2);
        },
        () => 1,
      );
      have = new Uint8Array(L2.zoneBytes).fill(0xff);
      if (zone === 2) p.ec2Left = (await r.readEc2102().catch(() => ({ left: p.ec2Left ?? 0 }))).left;
    }
    // The first word holds the P/R control bits: written last so an early P=0 cannot lock the rest out.
    const runs = diffRuns(w, have, 2, L2.zoneBytes);
    const head = diffRuns(w, have, 0, 2);
    await step(
      p,
      zone === 1 ? 'write-zone1' : 'write-zone2',
      async () => {
        for (const [s, e] of [...runs, ...head]) {
          p.mutated = true;
          await r.write102(zone, s, w.subarray(s, e));
          p.bytesWritten += e - s;
        }
      },
      () => p.bytesWritten,
    );
  }

  await step(
    p,
    'write-public',
    async () => {
      for (const [zs, ze] of [IZ, CPZ]) {
        for (let a = zs; a < ze; a += 2) {
          const wantW = want.pub.subarray(a, a + 2);
          const haveW = cur.pub.subarray(a, a + 2);
          if (equalBytes(wantW, haveW)) continue;
          p.mutated = true;
          if (needsErase(wantW, haveW)) {
            await r.eraseWords102(a, 2);
            const runs = diffRuns(wantW, Uint8Array.of(0xff, 0xff), 0, 2);
            for (const [s, e] of runs) await r.write102(0, a + s, wantW.subarray(s, e));
          } else {
            for (const [s, e] of diffRuns(wantW, haveW, 0, 2)) await r.write102(0, a + s, wantW.subarray(s, e));
          }
          p.bytesWritten += 2;
        }
      }
    },
    () => p.bytesWritten,
  );
  p.dataDone = true;

  if (changeSc) {
    await step(p, 'change-password', () =>
      changePassword(
        p,
        () => r.changeSc102(newKey.sc),
        () => r.readSc102(),
        oldKey.sc,
      ),
    );
  }

  await step(p, 'read-back', async () => {
    const back = new Uint8Array(L2.dataBytes);
    back.set(await r.read102(0, 0, L2.publicBytes), 0);
    back.set(await r.read102(1, 0, L2.zoneBytes), L2.az1Start);
    back.set(await r.read102(2, 0, L2.zoneBytes), L2.az1Start + L2.zoneBytes);
    for (const [s, e] of [IZ, CPZ, [L2.az1Start, L2.dataBytes] as [number, number]]) {
      const bad = diffRuns(target, back, s, e)[0];
      if (bad) throw ReaderVerifyMismatch({ cardType: '102', offset: cardAddr102(bad[0]) });
    }
  });
}
