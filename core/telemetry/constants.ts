/** CJ/T 188 constants (reference §1.3–1.9; docs/protocol/wire.md). */
export const START = 0x68;
export const END = 0x16;
export const PREAMBLE_BYTE = 0xfe;
/** 68 T A0..A6 C L … CS 16: everything except DATA. */
export const FRAME_OVERHEAD = 13;
export const MAX_DATA_LENGTH = 255;

export const METER_TYPE = {
  GAS: 0x30,
  WILDCARD: 0xaa,
} as const;

export const isGasMeterType = (t: number): boolean => t >= 0x30 && t <= 0x39;

/** Control byte bits. */
export const CONTROL = {
  DIR_REPLY: 0x80,
  ERROR: 0x40,
  MORE: 0x20,
  FUNCTION_MASK: 0x1f,
} as const;

/** D4..D0 function codes. */
export const FUNCTION = {
  READ_DATA: 0x01,
  READ_ADDRESS: 0x03,
  WRITE_DATA: 0x04,
  READ_KEY_VERSION: 0x09,
  WRITE_ADDRESS: 0x15,
  WRITE_SYNC: 0x16,
} as const;

export const DI = {
  CURRENT: 0x901f,
  HISTORY_FIRST: 0xd120,
  HISTORY_LAST: 0xd12b,
  PRICE_TABLE: 0x8102,
  SETTLEMENT_DAY: 0x8103,
  READING_DAY: 0x8104,
  PURCHASE_AMOUNT: 0x8105,
  KEY_VERSION: 0x8106,
  ADDRESS: 0x810a,
  WRITE_PRICE: 0xa010,
  WRITE_SETTLEMENT_DAY: 0xa011,
  WRITE_READING_DAY: 0xa012,
  WRITE_PURCHASE_AMOUNT: 0xa013,
  WRITE_KEY: 0xa014,
  WRITE_TIME: 0xa015,
  WRITE_SYNC: 0xa016,
  VALVE: 0xa017,
  WRITE_ADDRESS: 0xa018,
  FACTORY_ENABLE: 0xa019,
} as const;

export const VALVE_ACTION = { open: 0x55, close: 0x99 } as const;

export const isHistoryDi = (di: number): boolean => di >= DI.HISTORY_FIRST && di <= DI.HISTORY_LAST;

/** Standard DIs and their meanings, for display (CLI, docs). */
export const STANDARD_DIS: Record<number, { zh: string; en: string }> = {
  [DI.CURRENT]: {
    zh: '计量数据（当前累计、结算日累计、表内时钟、状态）',
    en: 'Metering data (current, settlement-day, clock, status)',
  },
  [DI.PRICE_TABLE]: { zh: '读价格表', en: 'Read price table' },
  [DI.SETTLEMENT_DAY]: { zh: '读结算日', en: 'Read settlement day' },
  [DI.READING_DAY]: { zh: '读抄表日', en: 'Read reading day' },
  [DI.PURCHASE_AMOUNT]: { zh: '读购入金额', en: 'Read purchase amount' },
  [DI.KEY_VERSION]: { zh: '读密钥版本号', en: 'Read key version' },
  [DI.ADDRESS]: { zh: '读地址', en: 'Read address' },
  [DI.WRITE_PRICE]: { zh: '写价格表', en: 'Write price table' },
  [DI.WRITE_SETTLEMENT_DAY]: { zh: '写结算日', en: 'Write settlement day' },
  [DI.WRITE_READING_DAY]: { zh: '写抄表日', en: 'Write reading day' },
  [DI.WRITE_PURCHASE_AMOUNT]: { zh: '写购入金额', en: 'Write purchase amount' },
  [DI.WRITE_KEY]: { zh: '写新密钥', en: 'Write new key' },
  [DI.WRITE_TIME]: { zh: '写标准时间', en: 'Write standard time' },
  [DI.WRITE_SYNC]: { zh: '写机电同步数据', en: 'Write electromechanical sync' },
  [DI.VALVE]: { zh: '阀门控制（55H 开阀，99H 关阀）', en: 'Valve control (55H open, 99H close)' },
  [DI.WRITE_ADDRESS]: { zh: '写地址', en: 'Write address' },
  [DI.FACTORY_ENABLE]: { zh: '出厂启用', en: 'Factory enable' },
};
for (let i = 0; i < 12; i++) {
  STANDARD_DIS[DI.HISTORY_FIRST + i] = {
    zh: `上${i + 1}月结算日累计`,
    en: `Settlement-day cumulative, ${i + 1} month(s) ago`,
  };
}

/**
 * Volume unit codes → power of ten relative to the 2-decimal BCD value, expressed in m³.
 * 2C m³, 2D m³×10, 2E m³×100; 29 L, 2A L×10, 2B L×100 (reference §1.8).
 */
export const VOLUME_UNITS: Record<number, { exp: number; name: string }> = {
  0x29: { exp: -3, name: 'L' },
  0x2a: { exp: -2, name: 'L×10' },
  0x2b: { exp: -1, name: 'L×100' },
  0x2c: { exp: 0, name: 'm³' },
  0x2d: { exp: 1, name: 'm³×10' },
  0x2e: { exp: 2, name: 'm³×100' },
};
export const UNIT_M3 = 0x2c;

export function functionName(control: number): { zh: string; en: string } {
  switch (control & CONTROL.FUNCTION_MASK) {
    case FUNCTION.READ_DATA:
      return { zh: '读数据', en: 'read data' };
    case FUNCTION.READ_ADDRESS:
      return { zh: '读地址', en: 'read address' };
    case FUNCTION.WRITE_DATA:
      return { zh: '写数据', en: 'write data' };
    case FUNCTION.READ_KEY_VERSION:
      return { zh: '读密钥版本号', en: 'read key version' };
    case FUNCTION.WRITE_ADDRESS:
      return { zh: '写地址', en: 'write address' };
    case FUNCTION.WRITE_SYNC:
      return { zh: '写机电同步数据', en: 'write electromechanical sync' };
    default:
      return { zh: '未知功能', en: 'unknown function' };
  }
}
