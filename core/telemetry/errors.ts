import { defineError } from '../errors/meterhub-error.ts';

/**
 * Telemetry error table. Codes are stable API: the gateways and billing switch on them.
 * FRAME_* codes are also the `code` of decoder error events (the decoder reports, it never throws).
 */
export const FrameChecksum = defineError('FRAME_CHECKSUM', 422, '帧校验和错误', 'Frame checksum mismatch');
export const FrameEnd = defineError('FRAME_END', 422, '帧结束符不是 16H', 'Frame end byte is not 0x16');
export const FrameLength = defineError('FRAME_LENGTH', 422, '帧长度错误', 'Frame length is invalid');
export const FrameTruncated = defineError('FRAME_TRUNCATED', 422, '帧不完整', 'Frame is truncated');
export const FrameNoStart = defineError('FRAME_NO_START', 422, '未找到帧起始符 68H', 'No frame start byte 0x68 found');

export const ProfileUnknown = defineError(
  'TELEMETRY_PROFILE_UNKNOWN',
  400,
  '未知的协议方言配置',
  'Unknown dialect profile',
);
export const ProfileInvalid = defineError(
  'TELEMETRY_PROFILE_INVALID',
  400,
  '协议方言配置无效',
  'Invalid dialect profile',
);
export const BadAddress = defineError(
  'TELEMETRY_BAD_ADDRESS',
  400,
  '表地址必须是14位数字（或14个A通配）',
  'Meter address must be 14 digits (or 14 A wildcard)',
);
export const BadDi = defineError('TELEMETRY_BAD_DI', 400, '数据标识 DI 无效', 'Invalid data identifier (DI)');
export const BadFrame = defineError('TELEMETRY_BAD_FRAME', 400, '帧内容无法编码', 'Frame cannot be encoded');
export const BadValue = defineError(
  'TELEMETRY_BAD_VALUE',
  400,
  '数值无法按 BCD 编码',
  'Value cannot be encoded as BCD',
);
export const BadHex = defineError('TELEMETRY_BAD_HEX', 400, '十六进制字符串无效', 'Invalid hex string');
export const NotAReading = defineError(
  'TELEMETRY_NOT_A_READING',
  422,
  '该帧不是抄表数据应答',
  'Frame is not a meter-reading reply',
);

export const MeterTypeUnsupported = defineError(
  'TELEMETRY_METER_TYPE_UNSUPPORTED',
  422,
  '表类型不在该方言的抄表范围内，未作为燃气读数入库',
  'Meter type is not one this profile reads; not stored as a gas reading',
);
export const LayoutUndefined = defineError(
  'TELEMETRY_LAYOUT_UNDEFINED',
  422,
  '数据域格式未在该方言中定义，未作为读数入库',
  'Data layout is not defined by the profile; not stored as a reading',
);
export const DiByteOrder = defineError(
  'TELEMETRY_DI_BYTE_ORDER',
  422,
  '数据标识 DI 字节序与方言不符',
  'Data identifier byte order does not match the profile',
);

export type FrameErrorCode = 'FRAME_CHECKSUM' | 'FRAME_END' | 'FRAME_LENGTH' | 'FRAME_TRUNCATED' | 'FRAME_NO_START';

export const frameErrorFactories = {
  FRAME_CHECKSUM: FrameChecksum,
  FRAME_END: FrameEnd,
  FRAME_LENGTH: FrameLength,
  FRAME_TRUNCATED: FrameTruncated,
  FRAME_NO_START: FrameNoStart,
} as const;

/** A profile declared by a maker plugin that ops have disabled: known, but not used until the plugin is enabled. */
export const ProfileDisabled = defineError(
  'TELEMETRY_PROFILE_DISABLED',
  409,
  '该方言由已停用的表厂插件提供，启用插件后才能使用',
  'The dialect profile comes from a disabled maker plugin; enable the plugin to use it',
);
