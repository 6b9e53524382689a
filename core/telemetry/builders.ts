import type { Cjt188Frame, DialectProfile } from './frame-types.ts';
import { CONTROL, DI, FUNCTION, METER_TYPE, UNIT_M3, VALVE_ACTION, VOLUME_UNITS, isHistoryDi } from './constants.ts';
import { decimalToBcdDigits, writeBcdLe } from './bytes.ts';
import { encodeFrame } from './codec.ts';
import { resolveProfile } from './profiles.ts';
import { writeClock } from './clock.ts';
import { encodeStatus, type StatusInput } from './status.ts';
import { BadDi, BadFrame, BadValue } from './errors.ts';

export interface BuildOptions {
  /** Default 0x30 (gas); read-address defaults to 0xAA. */
  meterType?: number;
  /** Number of 0xFE before the frame; default profile.preamble. */
  preamble?: number;
}

const WILDCARD_ADDRESS = 'AAAAAAAAAAAAAA';

function checkDi(di: number): void {
  if (!Number.isInteger(di) || di < 0 || di > 0xffff) throw BadDi({ di });
}

function build(frame: Cjt188Frame, profile: DialectProfile | string, opts: BuildOptions): Uint8Array {
  return encodeFrame(frame, profile, opts.preamble === undefined ? {} : { preamble: opts.preamble });
}

/** Read-data request (01H): DATA = DI + SER. */
export function buildReadRequest(
  address: string,
  di: number,
  ser: number,
  profile: DialectProfile | string,
  opts: BuildOptions = {},
): Uint8Array {
  checkDi(di);
  return build(
    {
      meterType: opts.meterType ?? METER_TYPE.GAS,
      address,
      control: FUNCTION.READ_DATA,
      di,
      ser,
      payload: new Uint8Array(0),
    },
    profile,
    opts,
  );
}

/** Valve control (04H, DI A017): 55H open, 99H close. */
export function buildValveCommand(
  address: string,
  action: 'open' | 'close',
  ser: number,
  profile: DialectProfile | string,
  opts: BuildOptions = {},
): Uint8Array {
  if (action !== 'open' && action !== 'close')
    throw BadValue({ action }, { zh: '阀门动作必须是 open 或 close', en: 'valve action must be open or close' });
  return build(
    {
      meterType: opts.meterType ?? METER_TYPE.GAS,
      address,
      control: FUNCTION.WRITE_DATA,
      di: DI.VALVE,
      ser,
      payload: Uint8Array.of(VALVE_ACTION[action]),
    },
    profile,
    opts,
  );
}

/** Read address (03H, DI 810A). Defaults to type AA and address AA×7: only for a link with a single meter. */
export function buildReadAddressRequest(
  ser: number,
  profile: DialectProfile | string,
  opts: BuildOptions & { address?: string } = {},
): Uint8Array {
  return build(
    {
      meterType: opts.meterType ?? METER_TYPE.WILDCARD,
      address: opts.address ?? WILDCARD_ADDRESS,
      control: FUNCTION.READ_ADDRESS,
      di: DI.ADDRESS,
      ser,
      payload: new Uint8Array(0),
    },
    profile,
    opts,
  );
}

/** Values a simulated meter answers with. Volumes are decimal strings in m³; null = no data (FF). */
export interface ReadReplyValues {
  /** 901F current cumulative. */
  cumulative?: string | null;
  /** 901F settlement-day cumulative. */
  settlement?: string | null;
  /** 901F meter clock "YYYY-MM-DDTHH:mm:ss" (meter-local); null = FF×7. */
  meterTime?: string | null;
  /** 901F status. */
  status?: StatusInput | readonly [number, number];
  /** D120–D12B settlement-day cumulative of that month. */
  value?: string | null;
  /** Unit code for all volumes; default 2C (m³). */
  unit?: number;
}

function writeVolume(value: string | null | undefined, unit: number, out: Uint8Array, offset: number): void {
  const u = VOLUME_UNITS[unit];
  if (!u) throw BadValue({ unit }, { zh: '不支持的体积单位代码', en: 'unsupported volume unit code' });
  if (value === null || value === undefined) out.fill(0xff, offset, offset + 4);
  else writeBcdLe(decimalToBcdDigits(value, u.exp), out, offset);
  out[offset + 4] = unit;
}

/** Reply payload (after DI, SER) for 901F or D120–D12B. */
export function encodeReadPayload(
  di: number,
  values: ReadReplyValues,
  profileOrName: DialectProfile | string,
): Uint8Array {
  const profile = resolveProfile(profileOrName);
  const unit = values.unit ?? UNIT_M3;
  if (di === DI.CURRENT) {
    const p = new Uint8Array(19);
    writeVolume(values.cumulative, unit, p, 0);
    writeVolume(values.settlement, unit, p, 5);
    writeClock(values.meterTime ?? null, profile.clockOrder, p, 10);
    const [st0, st1] = encodeStatus(values.status ?? {}, profile);
    p[17] = st0;
    p[18] = st1;
    return p;
  }
  if (isHistoryDi(di)) {
    const p = new Uint8Array(5);
    writeVolume(values.value, unit, p, 0);
    return p;
  }
  throw BadDi(
    { di },
    { zh: '只能构造 901F 与 D120–D12B 的抄表应答', en: 'read replies can be built for 901F and D120–D12B only' },
  );
}

/** Normal read reply (81H) as a meter would send it; used by simulators so they share this codec. */
export function buildReadReply(
  address: string,
  di: number,
  ser: number,
  values: ReadReplyValues,
  profile: DialectProfile | string,
  opts: BuildOptions & { moreFollows?: boolean } = {},
): Uint8Array {
  const control = CONTROL.DIR_REPLY | FUNCTION.READ_DATA | (opts.moreFollows ? CONTROL.MORE : 0);
  return build(
    {
      meterType: opts.meterType ?? METER_TYPE.GAS,
      address,
      control,
      di,
      ser,
      payload: encodeReadPayload(di, values, profile),
    },
    profile,
    opts,
  );
}

/** Valve reply (84H, DI A017): DATA = DI + SER + ST. */
export function buildValveReply(
  address: string,
  ser: number,
  status: StatusInput | readonly [number, number],
  profileOrName: DialectProfile | string,
  opts: BuildOptions = {},
): Uint8Array {
  const profile = resolveProfile(profileOrName);
  return build(
    {
      meterType: opts.meterType ?? METER_TYPE.GAS,
      address,
      control: CONTROL.DIR_REPLY | FUNCTION.WRITE_DATA,
      di: DI.VALVE,
      ser,
      payload: Uint8Array.from(encodeStatus(status, profile)),
    },
    profile,
    opts,
  );
}

/** Read-address reply (83H): the meter's own address is in the header; DATA = DI 810A + SER. */
export function buildReadAddressReply(
  address: string,
  ser: number,
  profile: DialectProfile | string,
  opts: BuildOptions = {},
): Uint8Array {
  return build(
    {
      meterType: opts.meterType ?? METER_TYPE.GAS,
      address,
      control: CONTROL.DIR_REPLY | FUNCTION.READ_ADDRESS,
      di: DI.ADDRESS,
      ser,
      payload: new Uint8Array(0),
    },
    profile,
    opts,
  );
}

/**
 * Error reply (D7 = 1, D6 = 1) to a request with function `fn`. DATA follows the profile's errorReply layout:
 * company 'di-ser-st' = DI + SER + ST, 'ser-st' = SER + ST, 'st' = ST.
 */
export function buildErrorReply(
  address: string,
  fn: number,
  di: number,
  ser: number,
  status: StatusInput | readonly [number, number],
  profileOrName: DialectProfile | string,
  opts: BuildOptions = {},
): Uint8Array {
  const profile = resolveProfile(profileOrName);
  if (!Number.isInteger(fn) || fn < 0 || fn > 0x1f)
    throw BadFrame({ fn }, { zh: '功能码必须是 0..1F', en: 'function code must be 0..1F' });
  const layout = profile.errorReply ?? 'di-ser-st';
  const st = Uint8Array.from(encodeStatus(status, profile));
  const frame: Cjt188Frame = {
    meterType: opts.meterType ?? METER_TYPE.GAS,
    address,
    control: CONTROL.DIR_REPLY | CONTROL.ERROR | fn,
    payload: st,
  };
  if (layout === 'di-ser-st') {
    checkDi(di);
    frame.di = di;
  }
  if (layout !== 'st') frame.ser = ser;
  return build(frame, profile, opts);
}
