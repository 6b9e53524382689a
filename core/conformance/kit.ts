/**
 * The conformance kit: loads a maker library through the product's own driver host (a child process, so
 * the kit survives whatever the library does) and checks it against sdk/SPEC.zh-CN.md.
 *
 * Core checks cover the seed's own functions; a library with only those is core-conformant. Extensions
 * are reported separately and fail the run only with `strict`.
 */
import {
  CARD_HEX_LENGTH,
  KEY_HEX_LENGTH,
  LIMITS,
  PUBLIC_ZONE_102_HEX,
  type CardType,
  type MemoryCardType,
} from '../cards/card-types.ts';
import { isToolKindName } from '../cards/tool-kinds.ts';
import { createCardDriver, type HostedCardDriver, type RawCallResult } from '../driver/driver-client.ts';
import { DriverCrashed, DriverTimeout, FunctionMissing } from '../driver/driver-errors.ts';
import { coreFunctionsFor, INTERFACE_FUNCTIONS } from '../driver/interface-functions.ts';
import type { OutBufferReport } from '../driver/protocol.ts';
import { isMeterHubError } from '../errors/meterhub-error.ts';
import type { CheckGroup, CheckResult, ConformanceReport, Finding } from './check-result.ts';
import { blankCards, randomCards, TOOL_PARAMS, sample } from './fixtures.ts';

export interface ConformanceOptions {
  library: string;
  /** Card types to check; default: every type whose five core functions the library exports. */
  cardTypes?: CardType[];
  strict?: boolean;
  symbols?: Record<string, string>;
  /** Other makers' libraries: the library under test must not claim their cards. */
  against?: Peer[];
  callTimeoutMs?: number;
  /** CPU cards: the reader port holding a blank card. */
  com?: number;
  execPath?: string;
  onCheck?: (c: CheckResult) => void;
}

/**
 * Another maker's library. With `libraries` (by platform-arch) the driver host picks the one for its own
 * platform-arch, as a server does; a peer that cannot be loaded is a failed check, never a skipped one.
 */
export interface Peer {
  name: string;
  library: string;
  libraries?: Record<string, string>;
  symbols?: Record<string, string>;
  /** The card types its plugin declares: no card of another type is asked of it. */
  cardTypes?: CardType[];
}

type CallOutcome = { ok: true; r: RawCallResult } | { ok: false; finding: Finding; detail: string };

class Session {
  readonly checks: CheckResult[] = [];
  /** A function that crashed or hung once is not called again: one finding is enough, and hangs cost time. */
  private readonly broken = new Map<string, { finding: Finding; detail: string }>();

  constructor(
    readonly driver: HostedCardDriver,
    readonly present: Set<string>,
    private readonly onCheck?: (c: CheckResult) => void,
  ) {}

  /**
   * One library call in the driver host (a crash or hang kills only that host). `input` names the input in
   * the finding; `afterCrash` calls again a function that crashed before (the sweep wants every input that
   * crashes), while a function that hung is never called again: each hang costs a whole timeout.
   */
  async call(
    fn: string,
    params: Record<string, unknown>,
    o: { input?: string; afterCrash?: boolean } = {},
  ): Promise<CallOutcome> {
    const known = this.broken.get(fn);
    if (known && !(o.afterCrash && known.finding === 'crash'))
      return { ok: false, finding: known.finding, detail: `${known.detail} (earlier call)` };
    try {
      return { ok: true, r: await this.driver.invoke(fn, params) };
    } catch (e) {
      const finding: Finding = DriverTimeout.is(e)
        ? 'hang'
        : DriverCrashed.is(e)
          ? 'crash'
          : FunctionMissing.is(e)
            ? 'missing-function'
            : 'protocol';
      const detail = `${fn}${o.input ? ` (${o.input})` : ''}: ${isMeterHubError(e) ? e.en : String(e)}`;
      if (finding === 'hang' || finding === 'crash') this.broken.set(fn, { finding, detail });
      return { ok: false, finding, detail };
    }
  }

  record(
    c: Omit<CheckResult, 'status'> & { status?: CheckResult['status'] },
    ok: boolean,
    finding?: Finding,
    detail?: string,
  ): boolean {
    const status = c.status ?? (ok ? 'pass' : 'fail');
    const res: CheckResult = {
      ...c,
      status,
      ...(status !== 'pass' && finding ? { finding } : {}),
      ...(status !== 'pass' && detail ? { detail } : {}),
    };
    this.checks.push(res);
    this.onCheck?.(res);
    return status === 'pass';
  }

  has(fn: string): boolean {
    return this.present.has(fn);
  }
}

/** Output-form findings for one buffer: exact length, upper-case hex, NUL within the buffer, nothing past it. */
function outputProblem(
  r: RawCallResult,
  name: string,
  expected: number | ((s: string) => boolean),
  label: string,
): { finding: Finding; detail: string } | undefined {
  const rep = r.$out[name] as OutBufferReport | undefined;
  const value = r[name];
  if (rep && (rep.overflowBytes > 0 || rep.touchedBytes > 0)) {
    return {
      finding: 'overrun',
      detail: `${label}: ${rep.touchedBytes} byte(s) written past the string's NUL (${rep.overflowBytes} beyond the buffer)`,
    };
  }
  if (rep && !rep.terminated) return { finding: 'not-terminated', detail: `${label}: no NUL within ${rep.size} bytes` };
  if (typeof value !== 'string') return { finding: 'output-form', detail: `${label}: no string output` };
  if (!/^[0-9A-F]*(:[0-9A-F]+)*$/.test(value))
    return { finding: 'output-form', detail: `${label}: not upper-case hex ("${value.slice(0, 16)}…")` };
  if (typeof expected === 'number' && value.length > expected) {
    return {
      finding: 'overrun',
      detail: `${label}: ${value.length - expected} byte(s) written past the spec's ${expected}`,
    };
  }
  const okLength = typeof expected === 'number' ? value.length === expected : expected(value);
  if (!okLength) return { finding: 'output-length', detail: `${label}: ${value.length} characters` };
  return undefined;
}

const keyLengthOk = (t: MemoryCardType) => (s: string) =>
  t === '4442' ? s.length === KEY_HEX_LENGTH['4442'] : /^[0-9A-F]{4}(:[0-9A-F]{12}:[0-9A-F]{8})?$/.test(s);

function checkInputOf(t: MemoryCardType, data: string): string {
  return t === '102' ? data.slice(0, PUBLIC_ZONE_102_HEX) : data;
}

async function memoryChecks(s: Session, t: MemoryCardType, opts: ConformanceOptions): Promise<string | undefined> {
  const core = (id: string, zh: string, en: string) => ({
    id: `${t}.${id}`,
    group: 'core' as CheckGroup,
    cardType: t,
    zh: `${t} ${zh}`,
    en: `${t} ${en}`,
  });
  const len = CARD_HEX_LENGTH[t];
  const fn = {
    writeNew: `WriteNew${t}Card`,
    read: `Read${t}Card`,
    buy: `Buy${t}Card`,
    format: `Format${t}Card`,
    check: `Check${t}Card`,
  };
  const v = sample();

  // Every output of a write must have the spec's form; returns the first problem.
  const writeProblem = (r: RawCallResult, dataName: string) =>
    outputProblem(r, dataName, len, dataName) ??
    outputProblem(r, 'oldKey', keyLengthOk(t), 'oldKey') ??
    outputProblem(r, 'newKey', keyLengthOk(t), 'newKey');

  const readBack = async (data: string) => {
    const o = await s.call(fn.read, { data });
    if (!o.ok) return o;
    const r = o.r;
    return { ok: true as const, rc: r.rc, values: { kh: r.kh, ql: r.ql, cs: r.cs, klx: r.klx } };
  };

  // WriteNew, its form, and Read of what it wrote.
  const w = await s.call(fn.writeNew, { kh: v.kh, ql: v.ql, cs: 1, klx: v.klx });
  let issued: string | undefined;
  if (!w.ok) s.record(core('writeNew', '发新卡', 'WriteNew issues a card'), false, w.finding, w.detail);
  else {
    const prob =
      w.r.rc === 0 ? writeProblem(w.r, 'data') : { finding: 'wrong-result' as Finding, detail: `rc ${w.r.rc}` };
    if (
      s.record(
        core('writeNew', '发新卡：返回0且输出格式正确', 'WriteNew returns 0 with well-formed outputs'),
        !prob,
        prob?.finding,
        prob?.detail,
      )
    )
      issued = w.r.data as string;
  }
  if (!issued) return undefined;

  const expectValues = async (id: string, zh: string, en: string, data: string, want: { ql: number; cs: number }) => {
    const o = await readBack(data);
    if (!o.ok) return s.record(core(id, zh, en), false, o.finding, o.detail);
    const got = o.values;
    const ok = o.rc === 0 && got.kh === v.kh && got.ql === want.ql && got.cs === want.cs && got.klx === v.klx;
    return s.record(
      core(id, zh, en),
      ok,
      'wrong-result',
      `rc ${o.rc}, kh ${String(got.kh)}, ql ${String(got.ql)}, cs ${String(got.cs)}, klx ${String(got.klx)}; expected kh ${v.kh}, ql ${want.ql}, cs ${want.cs}, klx ${v.klx}`,
    );
  };
  await expectValues(
    'roundTrip.writeNew',
    '发新卡后读卡，卡号/气量/次数/类型一致',
    'WriteNew then Read returns the same kh/ql/cs/klx',
    issued,
    { ql: v.ql, cs: 1 },
  );

  // Check on its own user card.
  const own = await s.call(fn.check, { source: checkInputOf(t, issued) });
  s.record(
    core('check.own', '判卡：本厂用户卡返回0', 'Check returns 0 on its own user card'),
    own.ok && own.r.rc === 0,
    own.ok ? 'wrong-result' : own.finding,
    own.ok ? `rc ${own.r.rc}` : own.detail,
  );
  if (t === '102' && own.ok && own.r.rc === 0) {
    const p = outputProblem(own.r, 'oldKey', keyLengthOk(t), 'oldKey');
    s.record(
      core('check.key', '判卡：102卡输出读区密码', 'Check102Card outputs the zone password'),
      !p,
      p?.finding,
      p?.detail,
    );
  }

  // Buy, then Read; refund (ql 0), then Read.
  let bought: string | undefined;
  const b = await s.call(fn.buy, { source: issued, kh: v.kh, ql: v.buy, cs: 2 });
  if (!b.ok) s.record(core('buy', '购气', 'Buy'), false, b.finding, b.detail);
  else {
    const prob =
      b.r.rc === 0 ? writeProblem(b.r, 'dest') : { finding: 'wrong-result' as Finding, detail: `rc ${b.r.rc}` };
    if (
      s.record(
        core('buy', '购气：返回0且输出格式正确', 'Buy returns 0 with well-formed outputs'),
        !prob,
        prob?.finding,
        prob?.detail,
      )
    )
      bought = b.r.dest as string;
  }
  if (bought) {
    await expectValues(
      'roundTrip.buy',
      '购气后读卡，气量与次数正确',
      'Buy then Read returns the new gas and count',
      bought,
      { ql: v.buy, cs: 2 },
    );
    const f = await s.call(fn.buy, { source: bought, kh: v.kh, ql: 0, cs: 3 });
    if (!f.ok || f.r.rc !== 0)
      s.record(
        core('refund', '退气（气量0）', 'Refund (gas 0)'),
        false,
        f.ok ? 'wrong-result' : f.finding,
        f.ok ? `rc ${f.r.rc}` : f.detail,
      );
    else
      await expectValues(
        'refund',
        '退气（气量0）后读卡，气量为0',
        'Refund (gas 0) then Read returns gas 0',
        f.r.dest as string,
        { ql: 0, cs: 3 },
      );
    const wrongCard = await s.call(fn.buy, { source: bought, kh: v.otherKh, ql: 5, cs: 3 });
    s.record(
      core('buy.wrongCardNo', '购气：卡号不符时拒绝', 'Buy refuses a card number that does not match the card'),
      wrongCard.ok && wrongCard.r.rc < 0,
      wrongCard.ok ? 'accepts-bad-input' : wrongCard.finding,
      wrongCard.ok ? `rc ${wrongCard.r.rc}` : wrongCard.detail,
    );
  }

  // Format gives a password.
  const fo = await s.call(fn.format, { source: bought ?? issued });
  const fp = !fo.ok
    ? { finding: fo.finding, detail: fo.detail }
    : fo.r.rc !== 0
      ? { finding: 'wrong-result' as Finding, detail: `rc ${fo.r.rc}` }
      : outputProblem(fo.r, 'oldKey', keyLengthOk(t), 'oldKey');
  s.record(core('format', '擦卡：返回0并给出密码', 'Format returns 0 and a password'), !fp, fp?.finding, fp?.detail);

  // Check must refuse blank cards, random data and every other maker's cards.
  const notOurs = async (id: string, zh: string, en: string, data: string) => {
    const o = await s.call(fn.check, { source: checkInputOf(t, data) });
    return s.record(
      core(id, zh, en),
      o.ok && o.r.rc === -1,
      o.ok ? 'false-claim' : o.finding,
      o.ok ? `rc ${o.r.rc}` : o.detail,
    );
  };
  for (const [name, data] of Object.entries(blankCards(t)))
    await notOurs(
      `check.blank.${name}`,
      `判卡：空白卡(${name})返回-1`,
      `Check returns -1 on a blank card (${name})`,
      data,
    );
  let i = 0;
  for (const data of randomCards(t, 4))
    await notOurs(`check.random.${++i}`, `判卡：随机数据#${i}返回-1`, `Check returns -1 on random data #${i}`, data);
  for (const other of (opts.against ?? []).filter((o) => !o.cardTypes || o.cardTypes.includes(t))) {
    const id = `check.other.${other.name}`;
    const peer = await otherMakersCard(other, t, opts);
    if ('card' in peer)
      await notOurs(id, `判卡：${other.name} 的卡返回-1`, `Check returns -1 on ${other.name}'s card`, peer.card);
    else if ('problem' in peer) {
      // The check that this library refuses that maker's cards could not be made: the run proves less.
      s.record(
        core(
          id,
          `判卡：无法取得 ${other.name} 的卡（对照库不可用）`,
          `Check against ${other.name}'s card could not be made (peer unavailable)`,
        ),
        false,
        'peer-unavailable',
        `${other.name}: ${peer.problem}`,
      );
    }
  }

  // Bad inputs: a negative code, never a crash.
  const badInputs: Array<[string, string, string, string, Record<string, unknown>]> = [
    ['read.nonHex', '读卡：非十六进制数据', 'Read: non-hex data', fn.read, { data: 'ZZ'.repeat(len / 2) }],
    ['read.shortData', '读卡：长度错误', 'Read: wrong length', fn.read, { data: issued.slice(0, len - 2) }],
    [
      'writeNew.khTooLong',
      '发卡：卡号超过32位',
      'WriteNew: kh longer than 32',
      fn.writeNew,
      { kh: '1'.repeat(33), ql: 1, cs: 1, klx: 1 },
    ],
    [
      'writeNew.khNotDigits',
      '发卡：卡号含非数字',
      'WriteNew: kh not digits',
      fn.writeNew,
      { kh: '12AB34', ql: 1, cs: 1, klx: 1 },
    ],
    [
      'writeNew.qlNegative',
      '发卡：气量为负',
      'WriteNew: negative ql',
      fn.writeNew,
      { kh: v.kh, ql: -1, cs: 1, klx: 1 },
    ],
    [
      'writeNew.qlTooLarge',
      '发卡：气量超过99999999',
      'WriteNew: ql above 99999999',
      fn.writeNew,
      { kh: v.kh, ql: 100_000_000, cs: 1, klx: 1 },
    ],
    [
      'writeNew.klxInvalid',
      '发卡：表类型不是1或2',
      'WriteNew: klx not 1 or 2',
      fn.writeNew,
      { kh: v.kh, ql: 1, cs: 1, klx: 7 },
    ],
    [
      'buy.badSource',
      '购气：原卡数据非法',
      'Buy: malformed source',
      fn.buy,
      { source: 'G'.repeat(len), kh: v.kh, ql: 1, cs: 2 },
    ],
  ];
  for (const [id, zh, en, f, params] of badInputs) {
    const o = await s.call(f, params);
    s.record(
      core(`badInput.${id}`, `非法输入返回负数：${zh}`, `Bad input gives a negative code: ${en}`),
      o.ok && o.r.rc < 0,
      o.ok ? 'accepts-bad-input' : o.finding,
      o.ok ? `rc ${o.r.rc}` : o.detail,
    );
  }

  // Determinism: the same inputs give the same output. The server relies on it for Read and Buy: a sale asks
  // them ahead of 判卡 and may drop the answer, and calls a crashed host never started are sent again.
  const again = await s.call(fn.writeNew, { kh: v.kh, ql: v.ql, cs: 1, klx: v.klx });
  const same =
    again.ok && again.r.rc === 0 && again.r.data === issued && again.r.newKey === (w.ok ? w.r.newKey : undefined);
  s.record(
    core('deterministic', '相同输入得到相同输出', 'The same inputs give the same output'),
    same,
    again.ok ? 'nondeterministic' : again.finding,
    again.ok ? 'WriteNew output differs between two identical calls' : again.detail,
  );
  if (bought && b.ok) {
    const b2 = await s.call(fn.buy, { source: issued, kh: v.kh, ql: v.buy, cs: 2 });
    const sameBuy =
      b2.ok && b2.r.rc === b.r.rc && b2.r.dest === b.r.dest && b2.r.oldKey === b.r.oldKey && b2.r.newKey === b.r.newKey;
    s.record(
      core('deterministic.buy', '购气：相同输入得到相同输出', 'Buy: the same inputs give the same output'),
      sameBuy,
      b2.ok ? 'nondeterministic' : b2.finding,
      b2.ok ? 'Buy output differs between two identical calls' : b2.detail,
    );
  }
  return issued;
}

/** A card written by another maker's library; `none` when that maker has no such card type. */
async function otherMakersCard(
  other: Peer,
  t: MemoryCardType,
  opts: ConformanceOptions,
): Promise<{ card: string } | { none: true } | { problem: string }> {
  const d = createCardDriver({
    libraryPath: other.library,
    name: `against-${other.name}`,
    ...(other.libraries ? { libraries: other.libraries } : {}),
    ...(other.symbols ? { symbols: other.symbols } : {}),
    ...(opts.execPath ? { execPath: opts.execPath } : {}),
    callTimeoutMs: opts.callTimeoutMs ?? 3000,
  });
  try {
    const info = await d.info();
    if (!info.functions.includes(`WriteNew${t}Card`)) return { none: true };
    const v = sample();
    const r = await d.invoke(`WriteNew${t}Card`, { kh: v.kh, ql: v.ql, cs: 1, klx: v.klx });
    if (r.rc === GC_E_UNSUPPORTED) return { none: true };
    if (r.rc !== 0 || typeof r.data !== 'string') return { problem: `WriteNew${t}Card gave rc ${r.rc}` };
    return { card: r.data };
  } catch (e) {
    return { problem: isMeterHubError(e) ? `${e.code}: ${e.en}` : String(e) };
  } finally {
    await d.close();
  }
}

/**
 * The input space the server can send, one call per value, each in the driver host: card numbers of every
 * length from 1 to 32 digits (and 33, which must be refused with a negative code), gas 0, 1 and the maximum,
 * count 1, a middle value and 32767 (the __int16 maximum), each meter kind. A library that crashes only for
 * some lengths fails here with the input named; a typical sale never sends them all.
 */
async function inputSweep(s: Session, t: MemoryCardType): Promise<void> {
  const fn = { writeNew: `WriteNew${t}Card`, read: `Read${t}Card` };
  const v = sample();
  const id = (x: string) => ({ id: `${t}.sweep.${x}`, group: 'core' as CheckGroup, cardType: t });
  const issueAndRead = async (
    x: string,
    zh: string,
    en: string,
    input: string,
    w: { kh: string; ql: number; cs: number; klx: number },
  ) => {
    const o = await s.call(fn.writeNew, w, { input, afterCrash: true });
    if (!o.ok) return s.record({ ...id(x), zh, en }, false, o.finding, o.detail);
    const prob =
      o.r.rc !== 0
        ? { finding: 'wrong-result' as Finding, detail: `${input}: rc ${o.r.rc}` }
        : outputProblem(o.r, 'data', CARD_HEX_LENGTH[t], 'data');
    if (prob)
      return s.record({ ...id(x), zh, en }, false, prob.finding, `${input}: ${prob.detail.replace(/^[^:]*: /, '')}`);
    const r = await s.call(fn.read, { data: o.r.data }, { input, afterCrash: true });
    const ok = r.ok && r.r.rc === 0 && r.r.kh === w.kh && r.r.ql === w.ql && r.r.cs === w.cs && r.r.klx === w.klx;
    return s.record(
      { ...id(x), zh, en },
      ok,
      r.ok ? 'wrong-result' : r.finding,
      r.ok
        ? `${input}: read back kh ${String(r.r.kh)}, ql ${String(r.r.ql)}, cs ${String(r.r.cs)}, klx ${String(r.r.klx)}`
        : r.detail,
    );
  };
  const digits = (n: number) =>
    Array.from({ length: n }, (_, i) => String((i * 7 + 3) % 10))
      .join('')
      .replace(/^0/, '9');
  for (let n = 1; n <= 32; n++) {
    await issueAndRead(
      `kh.${n}`,
      `发卡并读回：${n} 位卡号`,
      `WriteNew and Read with a ${n}-digit card number`,
      `kh of ${n} digits`,
      { kh: digits(n), ql: v.ql, cs: 1, klx: 1 },
    );
  }
  const tooLong = await s.call(
    fn.writeNew,
    { kh: digits(33), ql: v.ql, cs: 1, klx: 1 },
    { input: 'kh of 33 digits', afterCrash: true },
  );
  s.record(
    { ...id('kh.33'), zh: '33 位卡号返回负数', en: 'A 33-digit card number gives a negative code' },
    tooLong.ok && tooLong.r.rc < 0,
    tooLong.ok ? 'accepts-bad-input' : tooLong.finding,
    tooLong.ok ? `kh of 33 digits: rc ${tooLong.r.rc}` : tooLong.detail,
  );
  for (const ql of [0, 1, LIMITS.gasMax]) {
    await issueAndRead(`ql.${ql}`, `发卡并读回：气量 ${ql}`, `WriteNew and Read with gas ${ql}`, `ql ${ql}`, {
      kh: v.kh,
      ql,
      cs: 1,
      klx: 1,
    });
  }
  for (const cs of [1, 16_384, LIMITS.countMax]) {
    await issueAndRead(`cs.${cs}`, `发卡并读回：次数 ${cs}`, `WriteNew and Read with count ${cs}`, `cs ${cs}`, {
      kh: v.kh,
      ql: v.ql,
      cs,
      klx: 1,
    });
  }
  for (const klx of [1, 2]) {
    await issueAndRead(
      `klx.${klx}`,
      `发卡并读回：表类型 ${klx}`,
      `WriteNew and Read with meter kind ${klx}`,
      `klx ${klx}`,
      { kh: v.kh, ql: v.ql, cs: 1, klx },
    );
  }
}

async function toolCardChecks(s: Session, t: MemoryCardType): Promise<void> {
  const ext = (id: string, zh: string, en: string) => ({
    id: `${t}.${id}`,
    group: 'extension' as CheckGroup,
    cardType: t,
    zh: `${t} ${zh}`,
    en: `${t} ${en}`,
  });
  const make = `MakeTool${t}`;
  if (!s.has('ListToolCards') || !s.has(make)) {
    s.record(
      { ...ext('tools', '工具卡接口', 'Tool-card functions'), status: 'missing' },
      false,
      'missing-function',
      `${s.has('ListToolCards') ? '' : 'ListToolCards '}${s.has(make) ? '' : make}`.trim(),
    );
    return;
  }
  const l = await s.call('ListToolCards', { cardType: t });
  const kinds =
    l.ok && l.r.rc === 0 && typeof l.r.out === 'string'
      ? l.r.out
          .split(',')
          .map((k) => k.trim())
          .filter(Boolean)
      : [];
  const listOk = l.ok && l.r.rc === 0 && kinds.every(isToolKindName);
  s.record(
    ext('tools.list', '列出工具卡种类', 'ListToolCards lists valid kinds'),
    listOk,
    l.ok ? 'wrong-result' : l.finding,
    l.ok ? `rc ${l.r.rc}, "${String(l.r.out)}"` : l.detail,
  );
  const blank = Object.values(blankCards(t))[0]!;
  for (const kind of kinds) {
    const o = await s.call(make, { kind, params: TOOL_PARAMS[kind] ?? '', source: blank });
    const prob = !o.ok
      ? { finding: o.finding, detail: o.detail }
      : o.r.rc !== 0
        ? { finding: 'wrong-result' as Finding, detail: `rc ${o.r.rc}` }
        : outputProblem(o.r, 'data', CARD_HEX_LENGTH[t], 'data');
    if (
      !s.record(
        ext(`tools.make.${kind}`, `制作工具卡 ${kind}`, `MakeTool ${kind}`),
        !prob,
        prob?.finding,
        prob?.detail,
      ) ||
      !o.ok
    )
      continue;
    // A tool card the library made must be claimed as a tool card: this is the seed's Check, so it is core.
    const c = await s.call(`Check${t}Card`, { source: checkInputOf(t, o.r.data as string) });
    s.record(
      {
        id: `${t}.check.tool.${kind}`,
        group: 'core',
        cardType: t,
        zh: `${t} 判卡：本厂工具卡(${kind})返回1`,
        en: `${t} Check returns 1 on its own tool card (${kind})`,
      },
      c.ok && c.r.rc === 1,
      c.ok ? 'wrong-result' : c.finding,
      c.ok ? `rc ${c.r.rc}` : c.detail,
    );
  }
}

async function usageCheck(s: Session, t: MemoryCardType, issued: string): Promise<void> {
  const fn = `ReadUsage${t}`;
  const base = {
    id: `${t}.usage`,
    group: 'extension' as CheckGroup,
    cardType: t,
    zh: `${t} 读取表回写（月用气量）`,
    en: `${t} ReadUsage (monthly usage)`,
  };
  if (!s.has(fn)) return void s.record({ ...base, status: 'missing' }, false, 'missing-function', fn);
  const o = await s.call(fn, { data: issued });
  const count = o.ok ? Number(o.r.count) : -1;
  const arr = o.ok ? (o.r.$out.months as { overflowEntries?: number } | undefined) : undefined;
  const ok = o.ok && o.r.rc === 0 && count >= 0 && count <= 24 && !arr?.overflowEntries;
  s.record(
    base,
    ok,
    o.ok ? (arr?.overflowEntries ? 'overrun' : 'wrong-result') : o.finding,
    o.ok ? `rc ${o.r.rc}, count ${count}` : o.detail,
  );
}

async function cpuChecks(s: Session, opts: ConformanceOptions): Promise<void> {
  const core = (id: string, zh: string, en: string) => ({
    id: `cpu.${id}`,
    group: 'core' as CheckGroup,
    cardType: 'cpu' as CardType,
    zh: `CPU ${zh}`,
    en: `CPU ${en}`,
  });
  const com = opts.com ?? 0;
  const v = sample();
  const step = async (
    id: string,
    zh: string,
    en: string,
    fn: string,
    params: Record<string, unknown>,
    want?: (r: RawCallResult) => boolean,
  ) => {
    const o = await s.call(fn, { com, ...params });
    const ok = o.ok && (want ? want(o.r) : o.r.rc === 0);
    s.record(core(id, zh, en), ok, o.ok ? 'wrong-result' : o.finding, o.ok ? `rc ${o.r.rc}` : o.detail);
    return ok;
  };
  const values = (ql: number, cs: number) => (r: RawCallResult) =>
    r.rc === 0 && r.kh === v.kh && r.ql === ql && r.cs === cs && r.klx === v.klx;
  await step(
    'check.blank',
    '判卡：读写器中的空白卡返回-1',
    'Check returns -1 on the blank card in the reader',
    'CheckCpuCard',
    {},
    (r) => r.rc === -1,
  );
  if (!(await step('writeNew', '发新卡', 'WriteNew', 'WriteNewCpuCard', { kh: v.kh, ql: v.ql, cs: 1, klx: v.klx })))
    return;
  await step(
    'roundTrip.writeNew',
    '发新卡后读卡一致',
    'WriteNew then Read returns the same values',
    'ReadCpuCard',
    {},
    values(v.ql, 1),
  );
  await step(
    'check.own',
    '判卡：本厂用户卡返回0',
    'Check returns 0 on its own user card',
    'CheckCpuCard',
    {},
    (r) => r.rc === 0,
  );
  if (await step('buy', '购气', 'Buy', 'BuyCpuCard', { kh: v.kh, ql: v.buy, cs: 2 }))
    await step('roundTrip.buy', '购气后读卡正确', 'Buy then Read', 'ReadCpuCard', {}, values(v.buy, 2));
  if (await step('refund', '退气（气量0）', 'Refund (gas 0)', 'BuyCpuCard', { kh: v.kh, ql: 0, cs: 3 }))
    await step(
      'roundTrip.refund',
      '退气后读卡气量为0',
      'Refund then Read returns gas 0',
      'ReadCpuCard',
      {},
      values(0, 3),
    );
  await step(
    'badInput.khTooLong',
    '非法输入返回负数：卡号超过32位',
    'Bad input gives a negative code: kh longer than 32',
    'BuyCpuCard',
    { kh: '1'.repeat(33), ql: 1, cs: 4 },
    (r) => r.rc < 0,
  );
  await step(
    'badInput.qlNegative',
    '非法输入返回负数：气量为负',
    'Bad input gives a negative code: negative ql',
    'BuyCpuCard',
    { kh: v.kh, ql: -1, cs: 4 },
    (r) => r.rc < 0,
  );
  const ext = (id: string, zh: string, en: string) => ({
    id: `cpu.${id}`,
    group: 'extension' as CheckGroup,
    cardType: 'cpu' as CardType,
    zh: `CPU ${zh}`,
    en: `CPU ${en}`,
  });
  if (!s.has('ReadUsageCpu'))
    s.record(
      { ...ext('usage', '读取表回写（月用气量）', 'ReadUsage (monthly usage)'), status: 'missing' },
      false,
      'missing-function',
      'ReadUsageCpu',
    );
  else {
    const u = await s.call('ReadUsageCpu', { com });
    s.record(
      ext('usage', '读取表回写（月用气量）', 'ReadUsage (monthly usage)'),
      u.ok && u.r.rc === 0,
      u.ok ? 'wrong-result' : u.finding,
      u.ok ? `rc ${u.r.rc}` : u.detail,
    );
  }
  await step('format', '擦卡', 'Format', 'FormatCpuCard', { kh: v.kh });

  // Tool cards last: making one rewrites the card in the reader.
  if (!s.has('ListToolCards') || !s.has('MakeToolCpu')) {
    s.record(
      { ...ext('tools', '工具卡接口', 'Tool-card functions'), status: 'missing' },
      false,
      'missing-function',
      'ListToolCards / MakeToolCpu',
    );
    return;
  }
  const l = await s.call('ListToolCards', { cardType: 'cpu' });
  const kinds =
    l.ok && l.r.rc === 0
      ? String(l.r.out)
          .split(',')
          .map((k) => k.trim())
          .filter(Boolean)
      : [];
  s.record(
    ext('tools.list', '列出工具卡种类', 'ListToolCards lists valid kinds'),
    l.ok && l.r.rc === 0 && kinds.every(isToolKindName),
    l.ok ? 'wrong-result' : l.finding,
    l.ok ? `"${String(l.r.out)}"` : l.detail,
  );
  const kind = kinds[0];
  const made = kind ? await s.call('MakeToolCpu', { com, kind, params: TOOL_PARAMS[kind] ?? '' }) : undefined;
  if (
    made &&
    kind &&
    s.record(
      ext('tools.make', `制作工具卡 ${kind}`, `MakeTool ${kind}`),
      made.ok && made.r.rc === 0,
      made.ok ? 'wrong-result' : made.finding,
      made.ok ? `rc ${made.r.rc}` : made.detail,
    )
  ) {
    await step(
      'check.tool',
      `判卡：本厂工具卡(${kind})返回1`,
      `Check returns 1 on its own tool card (${kind})`,
      'CheckCpuCard',
      {},
      (r) => r.rc === 1,
    );
  }
}

async function libraryWideExtensions(s: Session): Promise<void> {
  const ext = (id: string, zh: string, en: string) => ({ id, group: 'extension' as CheckGroup, zh, en });
  if (!s.has('GasCardInterfaceVersion'))
    s.record(
      { ...ext('version', '接口版本', 'Interface version'), status: 'missing' },
      false,
      'missing-function',
      'GasCardInterfaceVersion',
    );
  else {
    const o = await s.call('GasCardInterfaceVersion', {});
    s.record(
      ext('version', '接口版本为 1.x', 'Interface version is 1.x'),
      o.ok && o.r.rc === 0 && /^1\.\d+$/.test(String(o.r.out)),
      o.ok ? 'wrong-result' : o.finding,
      o.ok ? `"${String(o.r.out)}"` : o.detail,
    );
  }
  if (!s.has('GasCardErrorText'))
    s.record(
      { ...ext('errorText', '返回码说明', 'Error text'), status: 'missing' },
      false,
      'missing-function',
      'GasCardErrorText',
    );
  else {
    const o = await s.call('GasCardErrorText', { code: -9 });
    s.record(
      ext('errorText', '返回码说明（-9 密码校验错误）', 'Error text for -9'),
      o.ok && o.r.rc === 0 && String(o.r.out).length > 0,
      o.ok ? 'wrong-result' : o.finding,
      o.ok ? `rc ${o.r.rc}` : o.detail,
    );
  }
}

/**
 * Libraries often export every function and answer GC_E_UNSUPPORTED (-34) for card types they do not
 * handle. Without --card, such a type is left out; probes are side-effect free (WriteNew only computes
 * for memory cards; ReadCpuCard only reads).
 */
async function supportedTypes(s: Session, complete: CardType[], com: number): Promise<CardType[]> {
  const v = sample();
  const out: CardType[] = [];
  for (const t of complete) {
    const o =
      t === 'cpu'
        ? await s.call('ReadCpuCard', { com })
        : await s.call(`WriteNew${t}Card`, { kh: v.kh, ql: v.ql, cs: 1, klx: v.klx });
    if (!(o.ok && o.r.rc === GC_E_UNSUPPORTED)) out.push(t);
  }
  return out;
}

const GC_E_UNSUPPORTED = -34;

export async function runConformance(opts: ConformanceOptions): Promise<ConformanceReport> {
  const driver = createCardDriver({
    libraryPath: opts.library,
    name: 'conformance',
    callTimeoutMs: opts.callTimeoutMs ?? 3000,
    ...(opts.symbols ? { symbols: opts.symbols } : {}),
    ...(opts.execPath ? { execPath: opts.execPath } : {}),
    // A faulty library crashes often; the kit must not wait seconds between respawns.
    backoff: { initialMs: 20, maxMs: 200 },
  });
  try {
    const info = await driver.info();
    const present = new Set(info.functions);
    const s = new Session(driver, present, opts.onCheck);
    const complete = (['4442', '102', 'cpu'] as CardType[]).filter((t) =>
      coreFunctionsFor(t).every((f) => present.has(f.name)),
    );
    const cardTypes = opts.cardTypes ?? (await supportedTypes(s, complete, opts.com ?? 0));

    for (const t of cardTypes) {
      const missing = coreFunctionsFor(t)
        .filter((f) => !present.has(f.name))
        .map((f) => f.name);
      s.record(
        {
          id: `${t}.exports`,
          group: 'core',
          cardType: t,
          zh: `${t} 导出全部核心函数`,
          en: `${t} exports every core function`,
        },
        missing.length === 0,
        'missing-function',
        missing.join(', '),
      );
      if (missing.length) continue;
      if (t === 'cpu') await cpuChecks(s, opts);
      else {
        const issued = await memoryChecks(s, t, opts);
        await inputSweep(s, t);
        await toolCardChecks(s, t);
        if (issued) await usageCheck(s, t, issued);
      }
    }
    await libraryWideExtensions(s);

    const coreConformant =
      cardTypes.length > 0 && s.checks.filter((c) => c.group === 'core').every((c) => c.status === 'pass');
    const extensionsComplete = s.checks.filter((c) => c.group === 'extension').every((c) => c.status === 'pass');
    const extensionNames = new Set(INTERFACE_FUNCTIONS.filter((f) => f.group === 'extension').map((f) => f.name));
    return {
      library: opts.library,
      cardTypes,
      strict: !!opts.strict,
      ...(info.interfaceVersion ? { interfaceVersion: info.interfaceVersion } : {}),
      functions: info.functions,
      missing: info.missing.filter(
        (m) => extensionNames.has(m) || cardTypes.some((t) => coreFunctionsFor(t).some((f) => f.name === m)),
      ),
      checks: s.checks,
      coreConformant,
      extensionsComplete,
      passed: coreConformant && (!opts.strict || extensionsComplete),
      driverRestarts: driver.health().restarts,
    };
  } finally {
    await driver.close();
  }
}
