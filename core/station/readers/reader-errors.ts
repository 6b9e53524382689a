/**
 * Errors of the card-reader layer. Texts and details never carry a password, key or card data: only what
 * happened, the step, offsets and counters.
 */
import { defineError } from '../../errors/meterhub-error.ts';

export const ReaderNoCard = defineError('READER_NO_CARD', 409, '读卡器中没有卡片', 'No card in the reader');

export const ReaderCardRemoved = defineError(
  'READER_CARD_REMOVED',
  409,
  '操作过程中卡片被拔出',
  'The card was removed during the operation',
);

export const ReaderWrongCardType = defineError(
  'READER_WRONG_CARD_TYPE',
  409,
  '卡片类型不符',
  'The card in the reader is not of the expected type',
);

export const ReaderUnknownCard = defineError(
  'READER_UNKNOWN_CARD',
  409,
  '无法识别的卡片（可能插反或损坏）',
  'Unrecognised card (possibly inserted backwards or damaged)',
);

export const ReaderCardLocked = defineError(
  'READER_CARD_LOCKED',
  423,
  '卡片密码已锁死，只能读不能写',
  'The card password is locked: the card can be read but never written again',
);

export const ReaderWrongPassword = defineError('READER_WRONG_PASSWORD', 403, '卡片密码错误', 'Wrong card password');

export const ReaderNotVerified = defineError(
  'READER_NOT_VERIFIED',
  403,
  '尚未核对卡片密码，卡片拒绝写入',
  'The card password has not been verified; the card refuses to write',
);

export const ReaderWrongEraseKey = defineError(
  'READER_WRONG_ERASE_KEY',
  403,
  '102卡擦除密钥错误',
  'Wrong AT88SC102 erase key',
);

export const ReaderEraseExhausted = defineError(
  'READER_EC2_EXHAUSTED',
  409,
  '102卡应用二区擦除次数（EC2）已用完，应用二区不能再擦除',
  'The AT88SC102 erase counter EC2 is used up: application zone 2 can no longer be erased',
);

export const ReaderWriteFailed = defineError(
  'READER_WRITE_FAILED',
  500,
  '写卡失败，读回的内容与写入的不一致',
  'Writing the card failed: what was read back differs from what was written',
);

export const ReaderReadFailed = defineError('READER_READ_FAILED', 500, '读卡失败', 'Reading the card failed');

export const ReaderVerifyMismatch = defineError(
  'READER_VERIFY_MISMATCH',
  500,
  '写卡后读回校验不一致',
  'Read-back after writing does not match the data that should be on the card',
);

export const ReaderGone = defineError(
  'READER_GONE',
  503,
  '读卡器无响应或已断开',
  'The card reader does not respond or was disconnected',
);

export const ReaderNotOpen = defineError('READER_NOT_OPEN', 409, '读卡器未打开', 'The card reader is not open');

export const ReaderBadData = defineError(
  'READER_BAD_DATA',
  400,
  '卡数据或密码格式错误',
  'Malformed card data or password',
);

export const ReaderUnsupported = defineError(
  'READER_UNSUPPORTED',
  501,
  '该读卡器不支持此操作',
  'This reader does not support the operation',
);

export const ReaderCommandFailed = defineError(
  'READER_COMMAND_FAILED',
  500,
  '读卡器命令失败',
  'A card-reader command failed',
);
