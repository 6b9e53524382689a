/** The dialects every MeterHub knows without a plugin: the company standard and the generic le/be variants. */
import type { DialectProfile } from './frame-types.ts';

export const COMPANY_PROFILE = 'cjt188-company';

/** The company standard for new meters (docs/protocol/wire.md). */
const company: DialectProfile = {
  name: COMPANY_PROFILE,
  diOrder: 'le',
  clockOrder: 'le',
  preamble: 4,
  errorReply: 'di-ser-st',
  description: {
    zh: '燃气公司统一远传协议（新表必须遵循）：DI 低字节在前，时钟 ss mm hh DD MM YY CC，请求前导 4×FE，错误应答 DI+SER+ST',
    en: 'Company unified remote-read protocol (mandatory for new meters): DI little-endian, clock ss mm hh DD MM YY CC, 4×FE before requests, error reply DI+SER+ST',
  },
  source: 'docs/protocol/wire.md (company decision on CJ/T 188-2018; see docs/protocol/README.md for sources)',
};

/** Generic little-endian dialect: 2018-style DI, KingDa/HSL-style error replies. */
const le: DialectProfile = {
  name: 'le',
  diOrder: 'le',
  clockOrder: 'le',
  preamble: 2,
  errorReply: 'ser-st',
  description: {
    zh: '通用小端方言（DI 低字节在前，时钟小端）',
    en: 'Generic little-endian dialect (DI and clock little-endian)',
  },
  source:
    'hftangyu.com/563.html sample (1F 90, clock LE); CaiYongCode/KingDa-NBWaterMeterCode-BC95:USER/inc/CJT-188-2004.h (2×FE, clock LE, error = SER+ST); HslCommunication CJT188Helper (DI LE)',
};

/** Generic big-endian-DI dialect: 2004-style `90 1F`. Every such source keeps the clock little-endian. */
const be: DialectProfile = {
  name: 'be',
  diOrder: 'be',
  clockOrder: 'le',
  preamble: 4,
  errorReply: 'ser-st',
  description: {
    zh: '通用大端 DI 方言（2004 版常见：90 1F），时钟仍为小端',
    en: 'Generic big-endian-DI dialect (common for 2004: 90 1F); clock stays little-endian',
  },
  source:
    'shiyuecamus/ng-gateway:ng-gateway-southward/cjt188/src/protocol/frame/body.rs (2004 = DI big-endian, 4×FE, decode_datetime LE); blog.youkuaiyun.com/sym_robot/article/details/129044258 (90 1F)',
};

export const BUILTIN_PROFILES: readonly DialectProfile[] = Object.freeze(
  [company, le, be].map((p) => Object.freeze(p)),
);
