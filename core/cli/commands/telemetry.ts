import { Command, CommanderError } from 'commander';
import { isMeterHubError, type MeterHubError } from '../../errors/meterhub-error.ts';
import {
  CONTROL,
  COMPANY_PROFILE,
  STANDARD_DIS,
  BadDi,
  BadValue,
  buildReadAddressRequest,
  buildReadRequest,
  buildValveCommand,
  decodeFrame,
  decodeHeatMetering,
  frameStatus,
  frameToReading,
  fromHex,
  functionName,
  isReadingFrame,
  readingRefusal,
  toHex,
  type Cjt188Frame,
  type HeatMetering,
  type DialectProfile,
  type UnifiedReading,
  ProfileRegistry,
} from '../../telemetry/index.ts';
import { DiByteOrder } from '../../telemetry/errors.ts';
import { registerPluginProfiles } from '../../plugins/plugin-profiles.ts';
import { dataOption } from '../options.ts';
import { DEFAULT_DATA_DIR } from '../../config/defaults.ts';

/**
 * This run's dialects: the built-in ones plus those of the enabled plugins (bundled and METERHUB_PLUGIN_PATH),
 * with the enabled state ops set through `meterhub plugins enable|disable --data <dir>`.
 */
function profilesFor(dataDir: string | undefined): ProfileRegistry {
  const profiles = new ProfileRegistry();
  registerPluginProfiles(profiles, { dataDir: dataDir ?? DEFAULT_DATA_DIR });
  return profiles;
}

/** Exit code for bad input (usage errors and undecodable frames), so field scripts can tell it from crashes. */
const EXIT_BAD_INPUT = 2;

const h2 = (n: number) => n.toString(16).toUpperCase().padStart(2, '0');
const h4 = (n: number) => n.toString(16).toUpperCase().padStart(4, '0');

function fail(e: unknown, json: boolean): void {
  if (isMeterHubError(e)) {
    if (json) process.stdout.write(JSON.stringify({ ok: false, error: e.toJSON(), code: e.code }, null, 2) + '\n');
    else process.stderr.write(`错误 Error [${e.code}]\n  ${e.zh}\n  ${e.en}\n`);
    process.exitCode = EXIT_BAD_INPUT;
    return;
  }
  throw e;
}

function parseDi(text: string): number {
  if (!/^(0x)?[0-9a-fA-F]{4}$/.test(text))
    throw BadDi({ di: text }, { zh: '应为 4 位十六进制，如 901F', en: 'expected 4 hex digits, e.g. 901F' });
  return parseInt(text.replace(/^0x/i, ''), 16);
}

function parseSer(text: string): number {
  const n = /^0x[0-9a-f]{1,2}$/i.test(text) ? parseInt(text, 16) : /^\d{1,3}$/.test(text) ? Number(text) : NaN;
  if (!(n >= 0 && n <= 255)) throw BadValue({ ser: text }, { zh: 'SER 应为 0..255', en: 'SER must be 0..255' });
  return n;
}

function parseByte(text: string, what: string): number {
  const n = /^(0x)?[0-9a-f]{1,2}$/i.test(text) ? parseInt(text.replace(/^0x/i, ''), 16) : NaN;
  if (!(n >= 0 && n <= 255))
    throw BadValue({ [what]: text }, { zh: `${what} 应为十六进制字节`, en: `${what} must be a hex byte` });
  return n;
}

function meterTypeText(t: number): string {
  if (t >= 0x30 && t <= 0x39) return '燃气表 gas';
  if (t >= 0x10 && t <= 0x19) return '水表 water';
  if (t >= 0x20 && t <= 0x29) return '热量表 heat';
  if (t === 0xaa) return '通配 wildcard';
  return '其他 other';
}

function describeFrame(frame: Cjt188Frame, raw: Uint8Array, profile: DialectProfile): string[] {
  const c = frame.control;
  const fn = functionName(c);
  const dir = c & CONTROL.DIR_REPLY ? '应答 reply (slave→master)' : '请求 request (master→slave)';
  const err = c & CONTROL.ERROR ? '异常应答 ERROR reply' : '正常 normal';
  const more = c & CONTROL.MORE ? ', 有后续帧 more follows' : '';
  const lines = [
    `帧 Frame (方言 profile: ${profile.name})`,
    `  原始 Raw:        ${toHex(raw, ' ')}`,
    `  表类型 Type:     ${h2(frame.meterType)}H ${meterTypeText(frame.meterType)}`,
    `  地址 Address:    ${frame.address}`,
    `  控制码 Control:  ${h2(c)}H ${dir}; ${err}${more}; 功能 ${fn.zh} / ${fn.en}`,
    `  长度 Length:     ${raw[10]}`,
  ];
  if (frame.di !== undefined) {
    const key = h4(frame.di);
    const meaning = STANDARD_DIS[frame.di] ?? profile.privateDis?.[key];
    lines.push(`  数据标识 DI:     ${key}${meaning ? ` ${meaning.zh} / ${meaning.en}` : ' (未知 unknown)'}`);
  }
  if (frame.ser !== undefined) lines.push(`  序号 SER:        ${h2(frame.ser)}H`);
  lines.push(`  数据 Payload:    ${frame.payload.length ? toHex(frame.payload, ' ') : '(无 none)'}`);
  return lines;
}

function describeReading(r: UnifiedReading): string[] {
  const v = (x: string | null) => (x === null ? '无 none' : `${x} m³`);
  const valve = { open: '开 open', closed: '关 closed', fault: '异常 fault', unknown: '未知 unknown' }[r.status.valve];
  const lines = [
    '读数 Reading',
    `  表号 Meter ID:          ${r.meterId}`,
    `  当前累计 Cumulative:    ${v(r.cumulative)}`,
    `  结算日累计 Settlement:  ${v(r.settlement)}`,
    `  表内时间 Meter time:    ${r.meterTime ?? '无效 invalid / 无 none'}`,
  ];
  for (const [k, val] of Object.entries(r.history)) lines.push(`  历史 History ${k}:       ${val} m³`);
  lines.push(
    `  阀门 Valve:             ${valve}`,
    `  电池欠压 Low battery:   ${r.status.lowBattery ? '是 yes' : '否 no'}`,
  );
  if (r.rawStatus) lines.push(`  状态字 ST:              ${r.rawStatus}`);
  for (const a of r.status.alarms) lines.push(`  告警 Alarm [${a.code}]: ${a.zh} / ${a.en}`);
  return lines;
}

function describeHeat(h: HeatMetering): string[] {
  const q = (x: { value: string; unit: string } | null) => (x === null ? '无 none' : `${x.value} ${x.unit}`);
  const lines = [
    '热量表计量数据 Heat-meter data (不入燃气读数 / not stored as gas)',
    `  结算日热量 Settlement heat:  ${q(h.settlementHeat)}`,
    `  当前热量 Current heat:       ${q(h.currentHeat)}`,
    `  热功率 Heat power:           ${q(h.heatPower)}`,
    `  流量 Flow rate:              ${q(h.flowRate)}`,
    `  累计流量 Accumulated flow:   ${q(h.accumulatedFlow)}`,
    `  供水温度 Supply:             ${h.supplyTemperature ?? '无 none'} °C`,
    `  回水温度 Return:             ${h.returnTemperature ?? '无 none'} °C`,
    `  累计工作时间 Working time:   ${h.workingHours ?? '无 none'} h`,
    `  表内时间 Meter time:         ${h.meterTime ?? '无效 invalid'}`,
    `  状态字 ST:                   ${h.rawStatus}`,
  ];
  for (const a of [...h.status.alarms, ...h.alarms]) lines.push(`  告警 Alarm [${a.code}]: ${a.zh} / ${a.en}`);
  return lines;
}

interface DecodeOpts {
  profile: string;
  data?: string;
  json?: boolean;
  source: string;
}

function runDecode(hex: string, opts: DecodeOpts): void {
  const profile = profilesFor(opts.data).get(opts.profile);
  const bytes = fromHex(hex);
  const res = decodeFrame(bytes, profile);
  if (!res.ok) throw res.error;
  const source = opts.source === 'collector' || opts.source === 'mqtt' ? opts.source : 'serial';
  const refusal = readingRefusal(res.frame, profile);
  // A DI that only makes sense in the other byte order cannot be shown under this profile: that is an error.
  if (DiByteOrder.is(refusal)) throw refusal;
  const ctx = { source, raw: res.raw, ...(res.trailer ? { trailer: res.trailer } : {}) } as const;
  const reading = !refusal && isReadingFrame(res.frame) ? frameToReading(res.frame, profile, ctx) : null;
  const heat = decodeHeatMetering(res.frame, profile);
  const status = reading || heat ? null : frameStatus(res.frame, profile);
  if (opts.json) {
    const frame = {
      ...res.frame,
      di: res.frame.di === undefined ? undefined : h4(res.frame.di),
      payload: toHex(res.frame.payload),
    };
    const extra = {
      ...(refusal ? { refusal: refusal.toJSON() } : {}),
      ...(heat ? { heat } : {}),
      ...(res.trailer ? { trailer: toHex(res.trailer) } : {}),
    };
    process.stdout.write(
      JSON.stringify({ ok: true, profile: profile.name, frame, reading, status, ...extra }, null, 2) + '\n',
    );
    return;
  }
  const lines = describeFrame(res.frame, res.raw, profile);
  if (res.offset > 0) lines.push(`已跳过前导/噪声 Skipped before 68H: ${res.offset} 字节 bytes`);
  if (res.trailer) lines.push(`帧后附加 Trailer (${profile.trailer?.name ?? '-'}): ${toHex(res.trailer, ' ')}`);
  if (refusal) lines.push(`未作为读数 Not a reading [${refusal.code}]: ${refusal.zh} / ${refusal.en}`);
  if (heat) lines.push(...describeHeat(heat));
  if (reading) lines.push(...describeReading(reading));
  if (status) {
    lines.push(
      '状态 Status',
      `  阀门 Valve: ${status.valve}; 电池欠压 Low battery: ${status.lowBattery ? 'yes' : 'no'}`,
    );
    for (const a of status.alarms) lines.push(`  告警 Alarm [${a.code}]: ${a.zh} / ${a.en}`);
  }
  process.stdout.write(lines.join('\n') + '\n');
}

interface EncodeOpts {
  address?: string;
  di: string;
  ser: string;
  action?: string;
  profile: string;
  data?: string;
  meterType?: string;
  preamble?: string;
  json?: boolean;
}

function runEncode(kind: string, opts: EncodeOpts): void {
  const profile = profilesFor(opts.data).get(opts.profile);
  const ser = parseSer(opts.ser);
  const build: { meterType?: number; preamble?: number } = {};
  if (opts.meterType !== undefined) build.meterType = parseByte(opts.meterType, 'meter-type');
  if (opts.preamble !== undefined) {
    const n = /^\d{1,2}$/.test(opts.preamble) ? Number(opts.preamble) : NaN;
    if (!(n >= 0 && n <= 16))
      throw BadValue({ preamble: opts.preamble }, { zh: '前导符个数应为 0..16', en: 'preamble must be 0..16' });
    build.preamble = n;
  }
  const needAddress = (): string => {
    if (!opts.address) throw BadValue({}, { zh: '缺少 --address（14 位表号）', en: 'missing --address (14 digits)' });
    return opts.address;
  };
  let bytes: Uint8Array;
  if (kind === 'read') bytes = buildReadRequest(needAddress(), parseDi(opts.di), ser, profile, build);
  else if (kind === 'valve') {
    if (opts.action !== 'open' && opts.action !== 'close')
      throw BadValue(
        { action: opts.action },
        { zh: '--action 应为 open 或 close', en: '--action must be open or close' },
      );
    bytes = buildValveCommand(needAddress(), opts.action, ser, profile, build);
  } else if (kind === 'read-address') {
    bytes = buildReadAddressRequest(ser, profile, opts.address ? { ...build, address: opts.address } : build);
  } else
    throw BadValue(
      { kind },
      { zh: '类型应为 read、valve 或 read-address', en: 'kind must be read, valve or read-address' },
    );
  if (opts.json)
    process.stdout.write(JSON.stringify({ ok: true, profile: profile.name, kind, hex: toHex(bytes, ' ') }) + '\n');
  else process.stdout.write(toHex(bytes, ' ') + '\n');
}

function runProfiles(json: boolean, dataDir: string | undefined): void {
  const profiles = profilesFor(dataDir).list();
  if (json) {
    process.stdout.write(JSON.stringify(profiles, null, 2) + '\n');
    return;
  }
  for (const p of profiles) {
    process.stdout.write(
      `${p.name.padEnd(16)} DI ${p.diOrder}  clock ${p.clockOrder}  preamble ${p.preamble}×FE  error ${p.errorReply ?? 'di-ser-st'}` +
        (p.diOrders
          ? `  DI 例外 per-DI ${Object.entries(p.diOrders)
              .map(([k, v]) => `${k}:${v}`)
              .join(',')}`
          : '') +
        (p.meterTypes ? `  types ${p.meterTypes.join(',')}` : '') +
        (p.trailer ? `  trailer ${p.trailer.length}B ${p.trailer.name}` : '') +
        `${p.assumptions?.length ? `  (${p.assumptions.length} 项待确认 assumptions)` : ''}\n`,
    );
    if (p.description) process.stdout.write(`  ${p.description.zh}\n  ${p.description.en}\n`);
  }
}

const guarded =
  <A extends unknown[]>(fn: (...args: A) => void, json: (...args: A) => boolean) =>
  (...args: A) => {
    try {
      fn(...args);
    } catch (e) {
      fail(e as MeterHubError, json(...args));
    }
  };

export function register(program: Command): void {
  const cmd = program
    .command('telemetry')
    .description('CJ/T 188 远传协议编解码 / remote-read protocol codec (docs/protocol/)');
  // Usage errors exit 2 like undecodable input; help and version stay 0. Inherited by the subcommands below.
  cmd.exitOverride((err: CommanderError) => {
    if (err.exitCode === 0) process.exit(0);
    process.exit(EXIT_BAD_INPUT);
  });

  cmd
    .command('decode')
    .description('解码一帧并显示字段与统一读数 / decode one frame, show its fields and the unified reading')
    .argument('<hex>', '帧的十六进制（可含空格与 FE 前导）/ frame hex (spaces and FE preamble allowed)')
    .option('--profile <name>', '方言配置 / dialect profile', COMPANY_PROFILE)
    .option('--source <source>', 'serial | collector | mqtt', 'serial')
    .addOption(dataOption('数据目录（插件启用状态）/ data directory (plugin enabled state)'))
    .option('--json', 'JSON 输出 / JSON output')
    .action(
      guarded(
        (hex: string, opts: DecodeOpts) => runDecode(hex, opts),
        (_h, o) => Boolean(o.json),
      ),
    );

  cmd
    .command('encode')
    .description('生成请求帧（现场调试）/ build a request frame as hex (field work)')
    .argument('<kind>', 'read | valve | read-address')
    .option('--address <digits>', '14 位表号（印在表上的顺序 A6…A0）/ 14-digit address as printed')
    .option('--di <hex>', '数据标识 / data identifier', '901F')
    .option('--ser <n>', '序号 SER 0..255', '0')
    .option('--action <action>', 'valve: open | close')
    .option('--profile <name>', '方言配置 / dialect profile', COMPANY_PROFILE)
    .option('--meter-type <hex>', '表类型，默认 30（燃气）/ meter type, default 30 (gas)')
    .option('--preamble <n>', 'FE 前导个数，默认取方言 / FE count, default from the profile')
    .addOption(dataOption('数据目录（插件启用状态）/ data directory (plugin enabled state)'))
    .option('--json', 'JSON 输出 / JSON output')
    .action(
      guarded(
        (kind: string, opts: EncodeOpts) => runEncode(kind, opts),
        (_k, o) => Boolean(o.json),
      ),
    );

  cmd
    .command('profiles')
    .description('列出方言配置 / list dialect profiles')
    .option('--json', 'JSON 输出 / JSON output')
    .addOption(dataOption('数据目录（插件启用状态）/ data directory (plugin enabled state)'))
    .action(
      guarded(
        (opts: { json?: boolean; data?: string }) => runProfiles(Boolean(opts.json), opts.data),
        (o) => Boolean(o.json),
      ),
    );
}
