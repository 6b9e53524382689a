import { defineError } from '../errors/meterhub-error.ts';

/** Reading pipeline and gateway errors. Codes are stable API. */
export const ReadingInvalid = defineError('READING_INVALID', 422, '抄表数据无效', 'Reading is invalid');
export const ReadingCursorInvalid = defineError('READING_CURSOR_INVALID', 400, '游标无效', 'Invalid reading cursor');
export const SinkUnknown = defineError('READING_SINK_UNKNOWN', 404, '未知的计费推送通道', 'Unknown billing sink');
export const DeadLetterNotFound = defineError(
  'READING_DEAD_LETTER_NOT_FOUND',
  404,
  '死信不存在',
  'Dead letter not found',
);
export const PipelineClosed = defineError(
  'READING_PIPELINE_CLOSED',
  503,
  '抄表数据管道已关闭',
  'Reading pipeline is closed',
);

export const GatewayConfigInvalid = defineError(
  'GATEWAY_CONFIG_INVALID',
  400,
  '网关配置无效',
  'Gateway configuration is invalid',
);
export const CommandTimeout = defineError(
  'GATEWAY_COMMAND_TIMEOUT',
  504,
  '表具命令超时未应答',
  'Meter command timed out',
);
export const CommandRejected = defineError(
  'GATEWAY_COMMAND_REJECTED',
  502,
  '表具拒绝执行命令（异常应答）',
  'Meter rejected the command (error reply)',
);
export const MeterUnknown = defineError(
  'GATEWAY_METER_UNKNOWN',
  404,
  '网关未配置该表',
  'Meter is not configured on this gateway',
);
export const SerialPortFailed = defineError(
  'GATEWAY_SERIAL_FAILED',
  503,
  '串口打开或读写失败',
  'Serial port open or I/O failed',
);
export const CollectorProtocol = defineError(
  'GATEWAY_COLLECTOR_PROTOCOL',
  502,
  '抄表器应答不符合约定',
  'Collector reply violates the exchange protocol',
);

/** Quarantine of readings from unknown meter addresses (core/readings/quarantine.ts); details.nextStep: what next. */
export const QuarantineNotFound = defineError(
  'READING_QUARANTINE_NOT_FOUND',
  404,
  '待认领读数不存在',
  'Quarantined reading not found',
);
export const QuarantineTargetUnknown = defineError(
  'READING_QUARANTINE_TARGET_UNKNOWN',
  422,
  '目标表号未在表具台账登记或未启用，不能认领到该表（请先登记该表）',
  'The target meter address is not registered or not active; register the meter first',
);
export const QuarantineStateConflict = defineError(
  'READING_QUARANTINE_STATE_CONFLICT',
  409,
  '该读数已被处理（已认领到其他表或已忽略）',
  'The quarantined reading was already settled (assigned elsewhere or dismissed)',
);
