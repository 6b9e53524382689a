/**
 * Errors of the company CPU card layer (spec 《天然气公司 CPU 卡应用规范》). Texts and details never carry a key,
 * a cryptogram or card data: only what failed, the step, and status words.
 */
import { defineError } from '../errors/meterhub-error.ts';

export const CompanyCardCryptoUnavailable = defineError(
  'COMPANY_CARD_CRYPTO_UNAVAILABLE',
  500,
  '本机的 OpenSSL 不提供卡片所需的算法（SM4 或 3DES），请使用带 SM4 的 Node 22 官方版本',
  "This Node's OpenSSL lacks a cipher the card needs (SM4 or 3DES); use an official Node 22 build with SM4",
);

export const CompanyCardBadKey = defineError(
  'COMPANY_CARD_BAD_KEY',
  500,
  '卡片密钥长度错误（应为 16 字节）',
  'Card key of the wrong length (16 bytes expected)',
);

export const CompanyCardBadInput = defineError(
  'COMPANY_CARD_BAD_INPUT',
  400,
  '公司 CPU 卡参数错误',
  'Invalid company CPU card parameter',
);

export const CompanyCardStatus = defineError(
  'COMPANY_CARD_STATUS',
  409,
  '卡片拒绝了指令',
  'The card refused a command',
);

export const CompanyCardNotOurs = defineError(
  'COMPANY_CARD_NOT_OURS',
  409,
  '不是本公司的 CPU 卡（应用选择失败或卡片信息无效）',
  'Not a company CPU card (application selection failed or card information is invalid)',
);

export const CompanyCardKeyVersionUnknown = defineError(
  'COMPANY_CARD_KEY_VERSION_UNKNOWN',
  409,
  '安全模块中没有卡片所用版本的主密钥，请换用装有该版本密钥的 PSAM，或为该卡换发新卡',
  "The security module holds no master key of the card's key version; use a PSAM loaded with it, or reissue the card",
);

export const CompanyCardAuthFailed = defineError(
  'COMPANY_CARD_AUTH_FAILED',
  409,
  '卡片认证失败（密钥不符），卡片可能是伪卡或密钥版本不对',
  'Card authentication failed (keys do not match): the card may be forged or of another key version',
);

export const CompanyCardPurchaseMacBad = defineError(
  'COMPANY_CARD_PURCHASE_MAC_BAD',
  409,
  '购气记录的 MAC 校验失败，卡上购气数据被篡改或损坏',
  "The purchase record's MAC does not verify: the purchase on the card was altered or damaged",
);

export const CompanyCardWriteBackMacBad = defineError(
  'COMPANY_CARD_WRITEBACK_MAC_BAD',
  409,
  '表回写数据的 MAC 校验失败，回写数据被伪造或损坏，用气数据不可信',
  "The meter write-back's MAC does not verify: the usage data is forged or damaged and is not trusted",
);

export const CompanyCardRemoved = defineError(
  'COMPANY_CARD_REMOVED',
  409,
  '操作过程中卡片被拔出',
  'The card was removed during the operation',
);

export const CompanyCardPsamMissing = defineError(
  'COMPANY_CARD_PSAM_MISSING',
  409,
  'PSAM 卡不在或不应答，不能售气',
  'The PSAM is missing or does not answer; no sale is possible',
);

export const PcscUnavailable = defineError(
  'PCSC_UNAVAILABLE',
  503,
  'PC/SC 服务不可用（pcscd 未运行或没有读卡器）',
  'The PC/SC service is not available (pcscd not running, or no reader)',
);

export const PcscFailed = defineError('PCSC_FAILED', 502, 'PC/SC 调用失败', 'A PC/SC call failed');
