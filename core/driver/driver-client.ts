/**
 * CardDriver over a supervised driver host. The typed methods validate their input before anything reaches
 * the library (a vendor library given bad input may crash or, worse, compute a card); `invoke` is the raw
 * door for the conformance kit: no validation, the whole host result including the `$out` guard report.
 */
import {
  CARD_HEX_LENGTH,
  CARD_TYPES,
  LIMITS,
  PUBLIC_ZONE_102_HEX,
  type CardType,
  type MemoryCardType,
} from '../cards/card-types.ts';
import { isToolKindName } from '../cards/tool-kinds.ts';
import { BadInput } from '../errors/common-errors.ts';
import type {
  CardDriver,
  CheckResult,
  DriverCallOptions,
  DriverInfo,
  RcResult,
  ReadResult,
  UsageResult,
  WriteResult,
} from './card-driver.ts';
import type { OutReport } from './protocol.ts';
import { DriverOutputInvalid } from './driver-errors.ts';
import { DriverSupervisor, type BackoffOptions, type DriverLogger, type SupervisorHealth } from './supervisor.ts';

export interface CreateCardDriverOptions {
  /** Absolute path of the maker library (DLL / .so). */
  libraryPath: string;
  /** Libraries by platform-arch: the host loads the one for its own platform-arch (SupervisorOptions). */
  libraries?: Record<string, string>;
  /** Interface function name -> exported name (manifest `symbols`). */
  symbols?: Record<string, string>;
  /** Runtime for the host, e.g. a 32-bit node.exe for 32-bit DLLs (manifest `driver.execPath`). */
  execPath?: string;
  /** Default per-call timeout in ms (manifest `driver.callTimeoutMs`); 5000 when absent. */
  callTimeoutMs?: number;
  logger?: DriverLogger;
  /** Host entry (default core/driver/host/main.ts) and, for non-Node hosts, its full argument list. */
  hostEntry?: string;
  hostArgs?: string[];
  /** false: start a TypeScript host entry through tsx even when its bundle is fresh. */
  useBundle?: boolean;
  /** Node/V8 flags for a Node host (default HOST_NODE_FLAGS in supervisor.ts). */
  nodeFlags?: readonly string[];
  /** Environment of the host process (default: this process's). */
  env?: NodeJS.ProcessEnv;
  startTimeoutMs?: number;
  backoff?: BackoffOptions;
  maxQueue?: number;
  /** Requests written ahead to the host (default 16, 1 = one at a time); see SupervisorOptions. */
  pipelineDepth?: number;
  name?: string;
  /** Start the host at creation (default) or at the first call. */
  lazy?: boolean;
}

/** What the host returns for one interface call: rc, every output by parameter name, `$out`, `$ms`. */
export interface RawCallResult {
  rc: number;
  $out: Record<string, OutReport>;
  /** Time spent inside the library call, measured by the host (ms). */
  $ms?: number;
  [output: string]: unknown;
}

export interface HostedCardDriver extends CardDriver {
  /** Calls one interface function as-is (conformance kit). Host errors (crash, timeout, missing) still throw. */
  invoke(fn: string, params: Record<string, unknown>, o?: DriverCallOptions): Promise<RawCallResult>;
  health(): SupervisorHealth;
  readonly supervisor: DriverSupervisor;
}

// ---- validation -------------------------------------------------------------------------------------

function bad(field: string, zh: string, en: string): never {
  throw BadInput({ field }, { zh: `${field}：${zh}`, en: `${field}: ${en}` });
}

function cardTypeOf(t: unknown, memoryOnly: boolean): CardType {
  if (typeof t !== 'string' || !(CARD_TYPES as readonly string[]).includes(t) || (memoryOnly && t === 'cpu')) {
    bad(
      'cardType',
      memoryOnly ? '必须是 4442 或 102' : '必须是 4442、102 或 cpu',
      memoryOnly ? 'must be "4442" or "102"' : 'must be "4442", "102" or "cpu"',
    );
  }
  return t as CardType;
}

function hex(field: string, v: unknown, lengths: number[]): string {
  if (typeof v !== 'string' || !/^[0-9A-Fa-f]*$/.test(v)) bad(field, '必须是十六进制字符串', 'must be a hex string');
  if (!lengths.includes(v.length)) {
    const l = lengths.join(' / ');
    bad(field, `长度必须是 ${l} 个十六进制字符`, `must be ${l} hex characters long`);
  }
  return v;
}

function intIn(field: string, v: unknown, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    bad(field, `必须是 ${min} 到 ${max} 之间的整数`, `must be an integer from ${min} to ${max}`);
  }
  return v;
}

function cardNo(v: unknown): string {
  if (typeof v !== 'string' || !new RegExp(`^[0-9]{1,${LIMITS.cardNoMaxLength}}$`).test(v)) {
    bad(
      'cardNo',
      `必须是 1 到 ${LIMITS.cardNoMaxLength} 位数字`,
      `must be 1 to ${LIMITS.cardNoMaxLength} ASCII digits`,
    );
  }
  return v;
}

const gas = (v: unknown) => intIn('gas', v, 0, LIMITS.gasMax);
const count = (v: unknown) => intIn('count', v, 0, LIMITS.countMax);
const com = (v: unknown) => intIn('com', v, 0, 32767);

function meterKind(v: unknown): number {
  if (v !== 1 && v !== 2) bad('meterKind', '必须是 1（民用）或 2（工业）', 'must be 1 (residential) or 2 (industrial)');
  return v;
}

function toolKind(v: unknown): string {
  if (typeof v !== 'string' || !isToolKindName(v))
    bad(
      'kind',
      '不是已知的工具卡种类（自定义种类以 X_ 开头）',
      'is not a known tool-card kind (maker kinds start with X_)',
    );
  return v;
}

/** Tool-card params are sent as "name=value;name=value" (sdk/include/gascard.h). */
export function serialiseToolParams(params: unknown): string {
  if (typeof params !== 'object' || params === null || Array.isArray(params))
    bad('params', '必须是键值对象', 'must be an object of name/value strings');
  return Object.entries(params as Record<string, unknown>)
    .map(([k, v]) => {
      if (!/^[A-Za-z][A-Za-z0-9_]{0,31}$/.test(k))
        bad(
          'params',
          `参数名 ${JSON.stringify(k).slice(0, 40)} 不合法`,
          `parameter name ${JSON.stringify(k).slice(0, 40)} is not valid`,
        );
      if (typeof v !== 'string' || !/^[\x20-\x7e]*$/.test(v) || /[;=]/.test(v)) {
        bad(
          'params',
          `参数 ${k} 的值必须是不含 ; 和 = 的 ASCII 字符串`,
          `the value of ${k} must be ASCII without ";" or "="`,
        );
      }
      return `${k}=${v}`;
    })
    .join(';');
}

function memoryData(field: string, t: MemoryCardType, v: unknown): string {
  return hex(field, v, [CARD_HEX_LENGTH[t]]);
}

function comOrData(t: CardType, data: unknown): { com: number } | { data: string } {
  if (t === 'cpu') {
    if (typeof data !== 'object' || data === null) bad('com', '读写器端口号必填', 'the reader port is required');
    return { com: com((data as { com?: unknown }).com) };
  }
  return { data: memoryData('data', t, data) };
}

const str = (v: unknown) => (typeof v === 'string' ? v : '');
const num = (v: unknown) => (typeof v === 'number' ? v : 0);

// ---- driver ------------------------------------------------------------------------------------------

export function createCardDriver(opts: CreateCardDriverOptions): HostedCardDriver {
  const sup = new DriverSupervisor(opts);
  if (!opts.lazy) sup.start();

  const invoke = async (fn: string, params: Record<string, unknown>, o?: DriverCallOptions): Promise<RawCallResult> => {
    // $load/$shutdown belong to the supervisor; through this door they would desynchronise it.
    if (typeof fn !== 'string' || fn.startsWith('$'))
      bad('fn', '必须是接口函数名', 'must be an interface function name');
    return (await sup.call(
      fn,
      params ?? {},
      o?.timeoutMs !== undefined ? { timeoutMs: o.timeoutMs } : {},
    )) as RawCallResult;
  };

  // A library that says OK but hands back malformed card data must never have it written onto a card.
  const write = (r: RawCallResult, dataName: string, t: MemoryCardType, fn: string): WriteResult => {
    const out: WriteResult = { rc: r.rc, data: str(r[dataName]), oldKey: str(r.oldKey), newKey: str(r.newKey) };
    if (r.rc !== 0) return out;
    const problems: string[] = [];
    if (!new RegExp(`^[0-9A-F]{${CARD_HEX_LENGTH[t]}}$`).test(out.data))
      problems.push(`${dataName}: ${out.data.length} characters, expected ${CARD_HEX_LENGTH[t]} upper-case hex`);
    const keyForm = t === '4442' ? /^[0-9A-F]{6}$/ : /^[0-9A-F]{4}(:[0-9A-F]{12}:[0-9A-F]{8})?$/;
    for (const k of ['oldKey', 'newKey'] as const)
      if (!keyForm.test(out[k])) problems.push(`${k}: malformed (${out[k].length} characters)`);
    for (const [name, rep] of Object.entries(r.$out ?? {})) {
      if ('beyondSpecBytes' in rep && (rep.beyondSpecBytes ?? 0) > 0)
        problems.push(`${name}: ${rep.beyondSpecBytes} byte(s) written past the spec`);
    }
    if (problems.length) throw DriverOutputInvalid({ function: fn, problems }, { en: `${fn}: ${problems.join('; ')}` });
    return out;
  };

  const driver: HostedCardDriver = {
    supervisor: sup,
    invoke,

    async info(): Promise<DriverInfo> {
      const { ready, load, library } = await sup.ready();
      let interfaceVersion: string | undefined;
      if (load.functions.includes('GasCardInterfaceVersion')) {
        const r = await invoke('GasCardInterfaceVersion', {});
        if (r.rc === 0) interfaceVersion = str(r.out);
      }
      return {
        functions: [...load.functions],
        missing: [...load.missing],
        ...(interfaceVersion !== undefined ? { interfaceVersion } : {}),
        pid: ready.pid,
        runtime: ready.runtime,
        arch: ready.arch,
        library,
        ...(ready.platform ? { platform: ready.platform } : {}),
      };
    },

    async check(cardType, data, o): Promise<CheckResult> {
      const t = cardTypeOf(cardType, false);
      if (t === 'cpu') return { rc: (await invoke('CheckCpuCard', comOrData(t, data), o)).rc };
      if (t === '4442') return { rc: (await invoke('Check4442Card', { source: memoryData('data', t, data) }, o)).rc };
      // Check102Card takes the public zone; a whole card image is accepted and cut to it.
      const source = hex('data', data, [PUBLIC_ZONE_102_HEX, CARD_HEX_LENGTH['102']]).slice(0, PUBLIC_ZONE_102_HEX);
      const r = await invoke('Check102Card', { source }, o);
      return { rc: r.rc, oldKey: str(r.oldKey) };
    },

    async read(cardType, data, o): Promise<ReadResult> {
      const t = cardTypeOf(cardType, false);
      const fn = t === 'cpu' ? 'ReadCpuCard' : `Read${t}Card`;
      const r = await invoke(fn, comOrData(t, data), o);
      return { rc: r.rc, cardNo: str(r.kh), gas: num(r.ql), count: num(r.cs), meterKind: num(r.klx) };
    },

    async writeNew(cardType, v, o): Promise<WriteResult> {
      const t = cardTypeOf(cardType, true) as MemoryCardType;
      const params = { kh: cardNo(v?.cardNo), ql: gas(v.gas), cs: count(v.count), klx: meterKind(v.meterKind) };
      return write(await invoke(`WriteNew${t}Card`, params, o), 'data', t, `WriteNew${t}Card`);
    },

    async buy(cardType, v, o): Promise<WriteResult> {
      const t = cardTypeOf(cardType, true) as MemoryCardType;
      const params = {
        source: memoryData('source', t, v?.source),
        kh: cardNo(v.cardNo),
        ql: gas(v.gas),
        cs: count(v.count),
      };
      return write(await invoke(`Buy${t}Card`, params, o), 'dest', t, `Buy${t}Card`);
    },

    async format(cardType, source, o) {
      const t = cardTypeOf(cardType, true) as MemoryCardType;
      const r = await invoke(`Format${t}Card`, { source: memoryData('source', t, source) }, o);
      return { rc: r.rc, oldKey: str(r.oldKey) };
    },

    async listTools(cardType, o) {
      const t = cardTypeOf(cardType, false);
      const r = await invoke('ListToolCards', { cardType: t }, o);
      const kinds =
        r.rc === 0
          ? str(r.out)
              .split(',')
              .map((k) => k.trim())
              .filter((k) => k !== '')
          : [];
      return { rc: r.rc, kinds };
    },

    async makeTool(cardType, v, o): Promise<WriteResult> {
      const t = cardTypeOf(cardType, true) as MemoryCardType;
      const params = {
        kind: toolKind(v?.kind),
        params: serialiseToolParams(v.params ?? {}),
        source: memoryData('source', t, v.source),
      };
      return write(await invoke(`MakeTool${t}`, params, o), 'data', t, `MakeTool${t}`);
    },

    async readUsage(cardType, data, o): Promise<UsageResult> {
      const t = cardTypeOf(cardType, false);
      const fn = t === 'cpu' ? 'ReadUsageCpu' : `ReadUsage${t}`;
      const r = await invoke(fn, comOrData(t, data), o);
      const months = Array.isArray(r.months) ? (r.months as number[]) : [];
      const usage = Array.isArray(r.usage) ? (r.usage as number[]) : [];
      return {
        rc: r.rc,
        written: num(r.written) !== 0,
        status: num(r.status),
        lastCode: num(r.lastCode),
        months: months.map((yyyymm, i) => ({ yyyymm, usage: usage[i] ?? 0 })),
      };
    },

    async errorText(code, o) {
      const r = await invoke('GasCardErrorText', { code: intIn('code', code, -2147483648, 2147483647) }, o);
      return { rc: r.rc, text: str(r.out) };
    },

    cpu: {
      async writeNew(v, o): Promise<RcResult> {
        const params = {
          com: com(v?.com),
          kh: cardNo(v.cardNo),
          ql: gas(v.gas),
          cs: count(v.count),
          klx: meterKind(v.meterKind),
        };
        return { rc: (await invoke('WriteNewCpuCard', params, o)).rc };
      },
      async buy(v, o): Promise<RcResult> {
        const params = { com: com(v?.com), kh: cardNo(v.cardNo), ql: gas(v.gas), cs: count(v.count) };
        return { rc: (await invoke('BuyCpuCard', params, o)).rc };
      },
      async format(v, o): Promise<RcResult> {
        return { rc: (await invoke('FormatCpuCard', { com: com(v?.com), kh: cardNo(v.cardNo) }, o)).rc };
      },
      async makeTool(v, o): Promise<RcResult> {
        const params = { com: com(v?.com), kind: toolKind(v.kind), params: serialiseToolParams(v.params ?? {}) };
        return { rc: (await invoke('MakeToolCpu', params, o)).rc };
      },
    },

    health: (): SupervisorHealth => sup.health(),
    close: () => sup.close(),
  };
  return driver;
}
