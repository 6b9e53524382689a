import type { Cjt188Frame, DialectProfile, ReadingAlarm, ReadingSource, UnifiedReading } from './frame-types.ts';
import { CONTROL, DI, FUNCTION, STANDARD_DIS, VOLUME_UNITS, isHistoryDi } from './constants.ts';
import { readBcdLe, scaleDecimal, toHex } from './bytes.ts';
import { readClock } from './clock.ts';
import { decodeStatus, type DecodedStatus } from './status.ts';
import { encodeFrame } from './codec.ts';
import { profileReadsMeterType, resolveProfile } from './profiles.ts';
import { DiByteOrder, LayoutUndefined, MeterTypeUnsupported, NotAReading } from './errors.ts';
import { isHeatMeterType } from './heat.ts';
import type { MeterHubError } from '../errors/meterhub-error.ts';

export interface ReadingContext {
  source: ReadingSource;
  /** When the gateway received the frame; Date or ISO string; default now. */
  receivedAt?: string | Date;
  /** Maker id; default profile.maker, else 'unknown'. */
  maker?: string;
  /** The frame bytes as received (68…16); default: re-encoded from the frame without preamble. */
  raw?: Uint8Array;
  /** Bytes after 16H taken by the profile's `trailer` option (DecodeResult/DecodedFrameEvent `trailer`). */
  trailer?: Uint8Array;
}

const dataAlarm = (code: string, zh: string, en: string): ReadingAlarm => ({ code, zh, en, kind: 'data' });

const FIELD_NAMES = {
  cumulative: { zh: '当前累计量', en: 'current cumulative' },
  settlement: { zh: '结算日累计量', en: 'settlement-day cumulative' },
  history: { zh: '历史月累计量', en: 'monthly history' },
} as const;

/**
 * 4-byte BCD (LE, 2 implied decimals) + unit → exact m³ decimal string, or null with a data alarm.
 * FF nibbles mean "no data"; units other than L/m³ volume steps are not volumes and give null.
 */
export function readVolume(
  b: Uint8Array,
  offset: number,
  field: keyof typeof FIELD_NAMES,
  alarms: ReadingAlarm[],
): string | null {
  const name = FIELD_NAMES[field];
  const v = readBcdLe(b, offset, 4);
  if (!v.ok) {
    if (v.reason === 'no-data')
      alarms.push(dataAlarm('VALUE_NO_DATA', `${name.zh}：表计无数据（FF）`, `${name.en}: meter reports no data (FF)`));
    else alarms.push(dataAlarm('VALUE_INVALID_BCD', `${name.zh}：BCD 码无效`, `${name.en}: invalid BCD`));
    return null;
  }
  const unitCode = b[offset + 4]!;
  const unit = VOLUME_UNITS[unitCode];
  if (!unit) {
    const h = unitCode.toString(16).toUpperCase().padStart(2, '0');
    alarms.push(
      dataAlarm(
        'UNIT_UNKNOWN',
        `${name.zh}：单位代码 ${h}H 不是体积单位`,
        `${name.en}: unit code ${h}H is not a volume unit`,
      ),
    );
    return null;
  }
  return scaleDecimal(v.digits, 2, unit.exp);
}

function isReadReply(frame: Cjt188Frame): boolean {
  return (
    (frame.control & (CONTROL.DIR_REPLY | CONTROL.ERROR)) === CONTROL.DIR_REPLY &&
    (frame.control & CONTROL.FUNCTION_MASK) === FUNCTION.READ_DATA
  );
}

/** Whether frameToReading accepts this frame: a normal read reply (81H/A1H) for 901F or D120–D12B. */
export function isReadingFrame(frame: Cjt188Frame): boolean {
  return isReadReply(frame) && frame.di !== undefined && (frame.di === DI.CURRENT || isHistoryDi(frame.di));
}

const h2 = (n: number) => n.toString(16).toUpperCase().padStart(2, '0');
const h4 = (n: number) => n.toString(16).toUpperCase().padStart(4, '0');
const swapDi = (di: number) => ((di & 0xff) << 8) | (di >> 8);
const isKnownDi = (di: number, profile: DialectProfile) =>
  STANDARD_DIS[di] !== undefined || profile.privateDis?.[h4(di)] !== undefined;

/**
 * Why a reply must not become a reading under this profile, or null. Gateways check it before frameToReading and
 * count/quarantine the frame with the code; a refused frame is never stored as a reading:
 * - TELEMETRY_METER_TYPE_UNSUPPORTED: a read reply of a meter type the profile does not read (heat 20H…);
 * - TELEMETRY_LAYOUT_UNDEFINED: a 901F body longer than the 19-byte layout (some other layout);
 * - TELEMETRY_DI_BYTE_ORDER: a read reply whose DI is unknown but is a known DI in the other byte order.
 */
export function readingRefusal(frame: Cjt188Frame, profileOrName: DialectProfile | string): MeterHubError | null {
  if (!isReadReply(frame) || frame.di === undefined) return null;
  const profile = resolveProfile(profileOrName);
  const di = frame.di;
  if (di === DI.CURRENT || isHistoryDi(di)) {
    if (!profileReadsMeterType(profile, frame.meterType)) {
      const kind = isHeatMeterType(frame.meterType) ? ['热量表', 'heat meter'] : ['表类型', 'meter type'];
      return MeterTypeUnsupported(
        { meterType: h2(frame.meterType), di: h4(di), profile: profile.name },
        {
          zh: `${kind[0]} ${h2(frame.meterType)}H 不按燃气读数处理（方言 ${profile.name}）；可用 meterhub telemetry decode 查看原始内容`,
          en: `${kind[1]} ${h2(frame.meterType)}H is not read as gas by profile ${profile.name}; see it with meterhub telemetry decode`,
        },
      );
    }
    if (di === DI.CURRENT && frame.payload.length > 19) {
      return LayoutUndefined(
        {
          meterType: h2(frame.meterType),
          di: h4(di),
          length: frame.payload.length,
          expected: 19,
          profile: profile.name,
        },
        {
          zh: `901F 数据 ${frame.payload.length} 字节，方言只定义 19 字节格式`,
          en: `901F data is ${frame.payload.length} bytes; the profile defines the 19-byte layout only`,
        },
      );
    }
    return null;
  }
  const swapped = swapDi(di);
  if (!isKnownDi(di, profile) && isKnownDi(swapped, profile)) {
    const other = profile.diOrder === 'le' ? 'be' : 'le';
    const wire = `${h2(di >> 8)} ${h2(di & 0xff)}`;
    return DiByteOrder(
      { di: h4(di), otherOrder: h4(swapped), profile: profile.name, diOrder: profile.diOrder },
      {
        zh: `线上 ${wire} 按方言 ${profile.name}（${profile.diOrder}）是未知 DI ${h4(di)}，按 ${other} 字节序则是 ${h4(swapped)}；请为该表选用 DI 为 ${other} 的方言（如 ${other}）`,
        en: `wire bytes ${wire} are unknown DI ${h4(di)} under profile ${profile.name} (${profile.diOrder}) but ${h4(swapped)} in ${other} order; give this meter a profile with diOrder "${other}" (e.g. ${other})`,
      },
    );
  }
  return null;
}

/**
 * Frame → unified reading. History keys are relative, "M-1" (D120, last month) … "M-12" (D12B), because a D12x
 * reply carries no clock and the month boundary depends on the settlement day; see historyMonthOf().
 * Throws TELEMETRY_NOT_A_READING for frames that are not read replies with 901F/D120–D12B.
 */
export function frameToReading(
  frame: Cjt188Frame,
  profileOrName: DialectProfile | string,
  ctx: ReadingContext,
): UnifiedReading {
  const profile = resolveProfile(profileOrName);
  if (!isReadingFrame(frame)) {
    throw NotAReading(
      { control: frame.control, di: frame.di },
      {
        zh: `控制码 ${frame.control.toString(16)}H`,
        en: `control ${frame.control.toString(16)}H, DI ${frame.di?.toString(16) ?? '-'}`,
      },
    );
  }
  const refusal = readingRefusal(frame, profile);
  if (refusal) throw refusal;
  const di = frame.di!;
  const p = frame.payload;
  const alarms: ReadingAlarm[] = [];
  let cumulative: string | null = null;
  let settlement: string | null = null;
  let meterTime: string | null = null;
  const history: Record<string, string> = {};
  let status: DecodedStatus = { valve: 'unknown', lowBattery: false, alarms: [] };
  let rawStatus: string | null = null;
  const short = (need: number) =>
    alarms.push(
      dataAlarm(
        'PAYLOAD_SHORT',
        `数据域过短：需要 ${need} 字节，实际 ${p.length}`,
        `payload too short: need ${need} bytes, have ${p.length}`,
      ),
    );

  if (di === DI.CURRENT) {
    if (p.length < 19) short(19);
    if (p.length >= 5) cumulative = readVolume(p, 0, 'cumulative', alarms);
    if (p.length >= 10) settlement = readVolume(p, 5, 'settlement', alarms);
    if (p.length >= 17) {
      const c = readClock(p, 10, profile.clockOrder);
      if (c.ok) meterTime = c.time;
      else {
        const why = {
          'no-data': ['无数据（FF）', 'no data (FF)'],
          'invalid-bcd': ['BCD 码无效', 'invalid BCD'],
          'out-of-range': ['日期时间超出范围', 'date/time out of range'],
        }[c.reason];
        alarms.push(
          dataAlarm(
            'CLOCK_INVALID',
            `表内时钟${why[0]}：${toHex(p.subarray(10, 17), ' ')}`,
            `meter clock ${why[1]}: ${toHex(p.subarray(10, 17), ' ')}`,
          ),
        );
      }
    }
    if (p.length >= 19) {
      status = decodeStatus(p[17]!, p[18]!, profile);
      rawStatus = toHex(p.subarray(17, 19));
    }
  } else {
    if (p.length < 5) short(5);
    else {
      const v = readVolume(p, 0, 'history', alarms);
      if (v !== null) history[`M-${di - DI.HISTORY_FIRST + 1}`] = v;
    }
  }
  const receivedAt =
    ctx.receivedAt === undefined
      ? new Date().toISOString()
      : typeof ctx.receivedAt === 'string'
        ? ctx.receivedAt
        : ctx.receivedAt.toISOString();
  const raw = ctx.raw ?? encodeFrame(frame, profile, { preamble: 0 });
  return {
    meterId: frame.address,
    maker: ctx.maker ?? profile.maker ?? 'unknown',
    meterType: frame.meterType,
    meterTime,
    receivedAt,
    cumulative,
    settlement,
    history,
    status: { valve: status.valve, lowBattery: status.lowBattery, alarms: [...status.alarms, ...alarms] },
    source: ctx.source,
    rawFrame: toHex(raw),
    di,
    ...(frame.ser === undefined ? {} : { ser: frame.ser }),
    rawStatus,
    ...(ctx.trailer && profile.trailer ? { trailer: { name: profile.trailer.name, hex: toHex(ctx.trailer) } } : {}),
  };
}

/**
 * ST carried by a valve reply (84H A017), an error reply (D6 = 1) or a 901F reply; null when the frame has none.
 * Gateways use it to confirm a valve command or explain a refusal.
 */
export function frameStatus(frame: Cjt188Frame, profileOrName: DialectProfile | string): DecodedStatus | null {
  const profile = resolveProfile(profileOrName);
  const p = frame.payload;
  if ((frame.control & CONTROL.ERROR) !== 0) {
    return p.length >= 2
      ? decodeStatus(p[0]!, p[1]!, profile)
      : p.length === 1
        ? decodeStatus(p[0]!, 0, profile)
        : null;
  }
  if (frame.di === DI.VALVE && p.length >= 2) return decodeStatus(p[0]!, p[1]!, profile);
  if (frame.di === DI.CURRENT && p.length >= 19) return decodeStatus(p[17]!, p[18]!, profile);
  return null;
}

/**
 * Calendar interpretation of a relative history key: "M-n" → the month n months before the meter time's month
 * ("YYYY-MM"). Only valid when the meter settles on calendar months; billing decides (docs/protocol/wire.md).
 */
export function historyMonthOf(key: string, meterTime: string): string | null {
  const m = /^M-(\d{1,2})$/.exec(key);
  const t = /^(\d{4})-(\d{2})/.exec(meterTime);
  if (!m || !t) return null;
  const n = Number(m[1]);
  if (n < 1 || n > 12) return null;
  const idx = Number(t[1]) * 12 + (Number(t[2]) - 1) - n;
  return `${String(Math.floor(idx / 12)).padStart(4, '0')}-${String((idx % 12) + 1).padStart(2, '0')}`;
}
