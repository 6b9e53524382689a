/**
 * Public API of the CJ/T 188 telemetry codec (company remote-read protocol, docs/protocol/).
 * Gateways, simulators and the CLI import from here only; everything exported here is kept stable.
 */
export type {
  Cjt188Frame,
  DialectProfile,
  ErrorReplyLayout,
  ReadingAlarm,
  ReadingSource,
  UnifiedReading,
  ValveState,
} from './frame-types.ts';

export {
  CONTROL,
  DI,
  END,
  FRAME_OVERHEAD,
  FUNCTION,
  MAX_DATA_LENGTH,
  METER_TYPE,
  PREAMBLE_BYTE,
  STANDARD_DIS,
  START,
  UNIT_M3,
  VALVE_ACTION,
  VOLUME_UNITS,
  functionName,
  isGasMeterType,
  isHistoryDi,
} from './constants.ts';

export {
  BadAddress,
  BadDi,
  BadFrame,
  BadHex,
  BadValue,
  DiByteOrder,
  FrameChecksum,
  FrameEnd,
  FrameLength,
  FrameNoStart,
  FrameTruncated,
  LayoutUndefined,
  MeterTypeUnsupported,
  NotAReading,
  ProfileInvalid,
  ProfileUnknown,
  ProfileDisabled,
  type FrameErrorCode,
} from './errors.ts';

export { fromHex, isValidAddress, toHex } from './bytes.ts';

export {
  checksum,
  decodeFrame,
  diWireOrder,
  encodeFrame,
  readDi,
  type DecodeResult,
  type EncodeOptions,
} from './codec.ts';

export {
  FrameStreamDecoder,
  decodeAll,
  type DecodedFrameEvent,
  type FrameErrorEvent,
  type StreamDecoderOptions,
  type StreamDecoderStats,
} from './stream-decoder.ts';

export {
  COMPANY_PROFILE,
  DEFAULT_READING_METER_TYPES,
  getProfile,
  profileReadsMeterType,
  listProfiles,
  loadProfilesFrom,
  profileLoadErrors,
  registerProfile,
  resolveProfile,
  validateProfile,
  seedProfilesForTests,
  readProfileFile,
  ProfileRegistry,
  BUILTIN_PROFILES,
  type ProfileSink,
} from './profiles.ts';

export {
  buildErrorReply,
  buildReadAddressReply,
  buildReadAddressRequest,
  buildReadReply,
  buildReadRequest,
  buildValveCommand,
  buildValveReply,
  encodeReadPayload,
  type BuildOptions,
  type ReadReplyValues,
} from './builders.ts';

export { decodeStatus, encodeStatus, type DecodedStatus, type StatusInput } from './status.ts';
export { parseMeterTime, readClock } from './clock.ts';
export {
  frameStatus,
  frameToReading,
  historyMonthOf,
  isReadingFrame,
  readingRefusal,
  type ReadingContext,
} from './reading.ts';
export {
  decodeHeatMetering,
  isHeatMeterType,
  isHeatMeteringFrame,
  type HeatMetering,
  type HeatQuantity,
} from './heat.ts';
