/**
 * The Mingwah mwic_32.dll functions MeterHub binds (card-domain.md §3), as data: the driver host declares
 * them with koffi from this table and the client builds calls against it. All are `__stdcall` returning
 * `__int16`, except ic_init which returns a HANDLE (a pointer-sized integer; <0 = error).
 *
 * Parameter kinds: handle (intptr), int16, uint8, ulong (C `unsigned long`, 4 bytes on Windows), bytesIn
 * (hex in the request), bytesOut (a host-allocated buffer of `size` bytes, returned as hex), int16Out.
 * Secret parameters (passwords, erase keys) are marked so nothing ever logs them.
 */

export type MwicParamKind = 'handle' | 'int16' | 'uint8' | 'ulong' | 'bytesIn' | 'bytesOut' | 'int16Out';

export interface MwicParam {
  name: string;
  kind: MwicParamKind;
  /** bytesOut: buffer size allocated by the host (generous: a wrong SDK must not overrun it). */
  size?: number;
  secret?: boolean;
}

export interface MwicFunction {
  ret: 'int16' | 'handle';
  params: MwicParam[];
}

const h: MwicParam = { name: 'icdev', kind: 'handle' };
const i16 = (name: string): MwicParam => ({ name, kind: 'int16' });
const out = (name: string, size: number): MwicParam => ({ name, kind: 'bytesOut', size });
const inp = (name: string, secret = false): MwicParam => ({ name, kind: 'bytesIn', ...(secret ? { secret } : {}) });
const o16 = (name: string): MwicParam => ({ name, kind: 'int16Out' });
const fn = (...params: MwicParam[]): MwicFunction => ({ ret: 'int16', params });

export const MWIC_FUNCTIONS: Record<string, MwicFunction> = {
  ic_init: { ret: 'handle', params: [i16('port'), { name: 'baud', kind: 'ulong' }] },
  ic_exit: fn(h),
  get_status: fn(h, o16('state')),
  chk_card: fn(h),
  // SLE4442
  srd_4442: fn(h, i16('offset'), i16('len'), out('buf', 512)),
  swr_4442: fn(h, i16('offset'), i16('len'), inp('buf')),
  prd_4442: fn(h, i16('len'), out('buf', 64)),
  pwr_4442: fn(h, i16('offset'), i16('len'), inp('buf')),
  csc_4442: fn(h, i16('len'), inp('psc', true)),
  wsc_4442: fn(h, i16('len'), inp('psc', true)),
  rsc_4442: fn(h, i16('len'), out('buf', 64)),
  rsct_4442: fn(h, o16('counter')),
  // AT88SC102
  srd_102: fn(h, i16('zone'), i16('offset'), i16('len'), out('buf', 512)),
  swr_102: fn(h, i16('zone'), i16('offset'), i16('len'), inp('buf')),
  ser_102: fn(h, i16('zone'), i16('offset'), i16('len')),
  csc_102: fn(h, i16('len'), inp('sc', true)),
  wsc_102: fn(h, i16('len'), inp('sc', true)),
  rsc_102: fn(h, i16('len'), out('buf', 64)),
  rsct_102: fn(h, o16('counter')),
  cesc_102: fn(h, i16('zone'), i16('len'), inp('key', true)),
  resct_102: fn(h, i16('zone'), o16('counter')),
  // CPU card / PSAM
  cpu_reset: fn(h, out('atr', 256)),
  cpu_protocol: fn(h, i16('len'), inp('cmd'), out('resp', 1024)),
  sam_slt_reset: fn(h, { name: 'slot', kind: 'uint8' }, o16('len'), out('atr', 256)),
  sam_slt_protocol: fn(h, { name: 'slot', kind: 'uint8' }, i16('slen'), inp('cmd'), o16('rlen'), out('resp', 1024)),
};

const C_TYPE: Record<MwicParamKind, string> = {
  handle: 'intptr_t',
  int16: 'int16_t',
  uint8: 'uint8_t',
  ulong: 'unsigned long',
  bytesIn: 'uint8_t *',
  bytesOut: 'uint8_t *',
  int16Out: '_Out_ int16_t *',
};

/** koffi prototype text for one function. */
export function prototype(name: string, f: MwicFunction): string {
  const ret = f.ret === 'handle' ? 'intptr_t' : 'int16_t';
  return `${ret} __stdcall ${name}(${f.params.map((p) => `${C_TYPE[p.kind]} ${p.name}`).join(', ')})`;
}
