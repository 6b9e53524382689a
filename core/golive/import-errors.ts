/**
 * Import refusals. A whole file that cannot be read is one MeterHubError; a bad row is a problem in the report,
 * with a stable code and both texts, so an operator can fix the export and run it again.
 */
import { defineError } from '../errors/meterhub-error.ts';

export const ImportFileUnreadable = defineError(
  'IMPORT_FILE_UNREADABLE',
  400,
  '导入文件无法解析',
  'The import file cannot be parsed',
);
export const ImportMappingInvalid = defineError(
  'IMPORT_MAPPING_INVALID',
  400,
  '映射文件格式错误',
  'The mapping file is invalid',
);

/** Row problems: code → texts. One table, so the docs and the report say the same thing. */
export const ROW_PROBLEMS = {
  IMPORT_FIELD_MISSING: { zh: '缺少必填列', en: 'a required column is empty or missing' },
  IMPORT_MAKER_UNKNOWN: { zh: '厂家未知（没有此插件）', en: 'unknown maker (no such plugin)' },
  IMPORT_MAKER_DISABLED: { zh: '厂家插件已停用', en: "the maker's plugin is disabled" },
  IMPORT_CARD_TYPE_UNSUPPORTED: { zh: '该厂家不支持此卡型', en: 'the maker does not support this card type' },
  IMPORT_TEXT_INVALID: {
    zh: '用户号/表号过长（>64）或含控制字符',
    en: 'user or meter number too long (>64) or holds control characters',
  },
  IMPORT_CARD_NO_INVALID: { zh: '卡号格式错误（1–32 位字母数字）', en: 'bad card number (1–32 letters or digits)' },
  IMPORT_COUNT_OUT_OF_RANGE: {
    zh: '购气次数应为 0–32767 的整数（__int16）',
    en: 'the purchase count must be a whole number 0–32767 (__int16)',
  },
  IMPORT_METER_KIND_INVALID: {
    zh: '表类型应为 1（民用）或 2（工业）',
    en: 'meter kind must be 1 (residential) or 2 (industrial)',
  },
  IMPORT_GAS_INVALID: {
    zh: '最后购气量应为 0–99999999 的整数',
    en: 'the last sale gas must be a whole number 0–99999999',
  },
  IMPORT_TIME_INVALID: {
    zh: '最后购气时间无法识别（应为 ISO-8601 或 YYYY-MM-DD HH:mm:ss）',
    en: 'the last sale time is not a date (ISO-8601 or YYYY-MM-DD HH:mm:ss)',
  },
  IMPORT_STATE_INVALID: {
    zh: '状态应为 active / lost / blacklisted / retired',
    en: 'state must be active, lost, blacklisted or retired',
  },
  IMPORT_DUPLICATE_CARD: { zh: '文件中卡号重复', en: 'the card number appears more than once in the file' },
  IMPORT_CONFLICT: {
    zh: '与上次导入的该卡（表）记录不同；核实后用 --update 更新',
    en: 'differs from the earlier import of this card (meter); check it, then use --update',
  },
  IMPORT_CARD_IN_USE: {
    zh: '该卡已在本系统售气或操作，不能用导入覆盖；请运维逐卡核对',
    en: 'the card already has MeterHub transactions; an import cannot overwrite it — ops must reconcile it',
  },
  IMPORT_CARD_NOT_IMPORTED: {
    zh: '该卡已在本系统发卡（非导入），不能用导入覆盖',
    en: 'the card was issued in MeterHub (not imported); an import cannot overwrite it',
  },
  // The meter registry (core/meters/meter-import.ts).
  IMPORT_ADDRESS_INVALID: {
    zh: '表地址应为 14 位 BCD 数字（CJ/T 188，如 31000000000001；不能是广播地址 AAAAAAAAAAAAAA）',
    en: 'the meter address must be 14 BCD digits (CJ/T 188, e.g. 31000000000001; not the broadcast AAAAAAAAAAAAAA)',
  },
  IMPORT_PROFILE_UNKNOWN: {
    zh: '协议方言未知（本程序的方言表中没有，或其插件已停用）',
    en: "unknown dialect profile (not in this program's profile registry, or its plugin is disabled)",
  },
  IMPORT_TRANSPORT_INVALID: {
    zh: '通道应为 serial / collector / dtu / mqtt',
    en: 'transport must be serial, collector, dtu or mqtt',
  },
  IMPORT_TRANSPORT_INCOMPLETE: {
    zh: '通道字段不全：serial 要 busPath+busPosition，collector 要 busPath+collectorAddress，dtu 要 dtuId，mqtt 要 mqttDeviceId',
    en: 'transport fields incomplete: serial needs busPath+busPosition, collector busPath+collectorAddress, dtu dtuId, mqtt mqttDeviceId',
  },
  IMPORT_TRANSPORT_FIELD_INVALID: {
    zh: '通道字段格式错误（总线位置 0–65535 整数；抄表器地址 14 位 BCD 数字；路径/ID ≤200 字符且无控制字符）',
    en: 'bad transport field (bus position a whole number 0–65535; collector address 14 BCD digits; path/id ≤200 characters, no control characters)',
  },
  IMPORT_METER_STATE_INVALID: {
    zh: '表状态应为 active / suspended / retired',
    en: 'meter state must be active, suspended or retired',
  },
  IMPORT_DUPLICATE_METER: { zh: '文件中表地址重复', en: 'the meter address appears more than once in the file' },
} as const;

export type RowProblemCode = keyof typeof ROW_PROBLEMS;
