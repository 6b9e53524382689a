/**
 * The unified card interface as data: one row per exported function of sdk/include/gascard.h.
 *
 * Every consumer works from this table instead of repeating signatures: the koffi binding in the
 * driver host, the conformance kit, `meterhub inspect` (which names are present) and the docs.
 * Parameter kinds say how a value crosses the C boundary:
 *  - `hexIn` / `strIn`: NUL-terminated ASCII input;
 *  - `hexOut` / `keyOut` / `strOut`: caller-allocated output buffer (host sizes: data 4096, key 64);
 *  - `int` / `int16`: by value; `intOut` / `int16Out`: pointer to one value;
 *  - `intArrayOut`: caller-allocated int array sized by the next `capacity` parameter;
 *  - `size`: the byte size of the preceding output buffer, filled in by the host.
 */
import { CARD_HEX_LENGTH, KEY_HEX_LENGTH, LIMITS, type CardType } from '../cards/card-types.ts';

export type ParamKind =
  | 'hexIn'
  | 'strIn'
  | 'hexOut'
  | 'keyOut'
  | 'strOut'
  | 'int'
  | 'int16'
  | 'intOut'
  | 'int16Out'
  | 'intArrayOut'
  | 'capacity'
  | 'size';

export interface ParamSpec {
  name: string;
  kind: ParamKind;
}

export type FunctionGroup = 'core' | 'extension';

export interface InterfaceFunction {
  name: string;
  group: FunctionGroup;
  /** Card type it serves; undefined for card-independent functions. */
  cardType?: CardType;
  params: readonly ParamSpec[];
  summary: { zh: string; en: string };
}

const p = (name: string, kind: ParamKind): ParamSpec => ({ name, kind });

function memoryCore(t: '4442' | '102'): InterfaceFunction[] {
  return [
    {
      name: `WriteNew${t}Card`,
      group: 'core',
      cardType: t,
      params: [
        p('kh', 'strIn'),
        p('ql', 'int'),
        p('cs', 'int16'),
        p('klx', 'int16'),
        p('data', 'hexOut'),
        p('oldKey', 'keyOut'),
        p('newKey', 'keyOut'),
      ],
      summary: { zh: '发新卡/补卡', en: 'Issue a new or replacement card' },
    },
    {
      name: `Read${t}Card`,
      group: 'core',
      cardType: t,
      params: [p('data', 'hexIn'), p('kh', 'keyOut'), p('ql', 'intOut'), p('cs', 'int16Out'), p('klx', 'int16Out')],
      summary: { zh: '读卡', en: 'Read a card' },
    },
    {
      name: `Buy${t}Card`,
      group: 'core',
      cardType: t,
      params: [
        p('source', 'hexIn'),
        p('kh', 'strIn'),
        p('ql', 'int'),
        p('cs', 'int16'),
        p('dest', 'hexOut'),
        p('oldKey', 'keyOut'),
        p('newKey', 'keyOut'),
      ],
      summary: { zh: '购气/退气（退气时气量为0）', en: 'Buy gas / refund (gas 0)' },
    },
    {
      name: `Format${t}Card`,
      group: 'core',
      cardType: t,
      params: [p('source', 'hexIn'), p('oldKey', 'keyOut')],
      summary: { zh: '擦卡', en: 'Format (erase) a card' },
    },
    {
      name: `Check${t}Card`,
      group: 'core',
      cardType: t,
      params: t === '4442' ? [p('source', 'hexIn')] : [p('source', 'hexIn'), p('oldKey', 'keyOut')],
      summary: { zh: '判卡', en: "Check whether the card is this maker's" },
    },
  ];
}

const usageParams = (first: ParamSpec): ParamSpec[] => [
  first,
  p('written', 'intOut'),
  p('status', 'intOut'),
  p('lastCode', 'intOut'),
  p('months', 'intArrayOut'),
  p('usage', 'intArrayOut'),
  p('capacity', 'capacity'),
  p('count', 'intOut'),
];

const makeToolMemory = (t: '4442' | '102'): InterfaceFunction => ({
  name: `MakeTool${t}`,
  group: 'extension',
  cardType: t,
  params: [
    p('kind', 'strIn'),
    p('params', 'strIn'),
    p('source', 'hexIn'),
    p('data', 'hexOut'),
    p('dataSize', 'size'),
    p('oldKey', 'keyOut'),
    p('newKey', 'keyOut'),
    p('keySize', 'size'),
  ],
  summary: { zh: '制作工具卡', en: 'Make a tool card' },
});

export const INTERFACE_FUNCTIONS: readonly InterfaceFunction[] = [
  ...memoryCore('4442'),
  ...memoryCore('102'),
  {
    name: 'WriteNewCpuCard',
    group: 'core',
    cardType: 'cpu',
    params: [p('com', 'int16'), p('kh', 'strIn'), p('ql', 'int'), p('cs', 'int16'), p('klx', 'int16')],
    summary: { zh: '发新卡/补卡', en: 'Issue a new or replacement card' },
  },
  {
    name: 'ReadCpuCard',
    group: 'core',
    cardType: 'cpu',
    params: [p('com', 'int16'), p('kh', 'keyOut'), p('ql', 'intOut'), p('cs', 'int16Out'), p('klx', 'int16Out')],
    summary: { zh: '读卡', en: 'Read a card' },
  },
  {
    name: 'BuyCpuCard',
    group: 'core',
    cardType: 'cpu',
    params: [p('com', 'int16'), p('kh', 'strIn'), p('ql', 'int'), p('cs', 'int16')],
    summary: { zh: '购气/退气（退气时气量为0）', en: 'Buy gas / refund (gas 0)' },
  },
  {
    name: 'FormatCpuCard',
    group: 'core',
    cardType: 'cpu',
    params: [p('com', 'int16'), p('kh', 'strIn')],
    summary: { zh: '擦卡', en: 'Format (erase) a card' },
  },
  {
    name: 'CheckCpuCard',
    group: 'core',
    cardType: 'cpu',
    params: [p('com', 'int16')],
    summary: { zh: '判卡', en: "Check whether the card is this maker's" },
  },
  {
    name: 'GasCardInterfaceVersion',
    group: 'extension',
    params: [p('out', 'strOut'), p('outSize', 'size')],
    summary: { zh: '接口版本', en: 'Interface version' },
  },
  {
    name: 'GasCardErrorText',
    group: 'extension',
    params: [p('code', 'int'), p('out', 'strOut'), p('outSize', 'size')],
    summary: { zh: '返回码说明', en: 'Text for a return code' },
  },
  {
    name: 'ListToolCards',
    group: 'extension',
    params: [p('cardType', 'strIn'), p('out', 'strOut'), p('outSize', 'size')],
    summary: { zh: '可制作的工具卡种类', en: 'Tool-card kinds this library makes' },
  },
  makeToolMemory('4442'),
  makeToolMemory('102'),
  {
    name: 'MakeToolCpu',
    group: 'extension',
    cardType: 'cpu',
    params: [p('com', 'int16'), p('kind', 'strIn'), p('params', 'strIn')],
    summary: { zh: '制作工具卡', en: 'Make a tool card' },
  },
  {
    name: 'ReadUsage4442',
    group: 'extension',
    cardType: '4442',
    params: usageParams(p('data', 'hexIn')),
    summary: { zh: '读取表回写（月用气量）', en: 'Read meter write-back (monthly usage)' },
  },
  {
    name: 'ReadUsage102',
    group: 'extension',
    cardType: '102',
    params: usageParams(p('data', 'hexIn')),
    summary: { zh: '读取表回写（月用气量）', en: 'Read meter write-back (monthly usage)' },
  },
  {
    name: 'ReadUsageCpu',
    group: 'extension',
    cardType: 'cpu',
    params: usageParams(p('com', 'int16')),
    summary: { zh: '读取表回写（月用气量）', en: 'Read meter write-back (monthly usage)' },
  },
];

export const INTERFACE_BY_NAME: ReadonlyMap<string, InterfaceFunction> = new Map(
  INTERFACE_FUNCTIONS.map((f) => [f.name, f]),
);

/** Functions a library must export to be core-conformant for a card type (the seed's own five). */
export function coreFunctionsFor(cardType: CardType): InterfaceFunction[] {
  return INTERFACE_FUNCTIONS.filter((f) => f.group === 'core' && f.cardType === cardType);
}

/** Buffer sizes the host always provides (sdk/SPEC.zh-CN.md §buffers). */
export const HOST_BUFFER_SIZE = { data: 4096, key: 64, text: 1024, usageCapacity: 24 } as const;

/** 102 keys may carry the erase keys: "SC4:EZ1(12 hex):EZ2(8 hex)" (sdk/include/gascard.h). */
const KEY_102_WITH_ERASE_KEYS = 4 + 1 + 12 + 1 + 8;

/**
 * Longest string the spec allows in one output buffer (without the NUL), when the spec fixes it:
 * card data and keys by card type, kh 32. Undefined for text outputs, which are bounded by their size
 * parameter. The driver host reports writes past this as `beyondSpecBytes`.
 */
export function specMaxLength(fn: InterfaceFunction, param: ParamSpec): number | undefined {
  const t = fn.cardType;
  if (param.kind === 'hexOut' && (t === '4442' || t === '102')) return CARD_HEX_LENGTH[t];
  if (param.kind !== 'keyOut') return undefined;
  if (param.name === 'kh') return LIMITS.cardNoMaxLength;
  if (t === '4442') return KEY_HEX_LENGTH['4442'];
  if (t === '102') return KEY_102_WITH_ERASE_KEYS;
  return undefined;
}
