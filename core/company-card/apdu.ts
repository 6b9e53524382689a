/**
 * APDUs of the company card (spec §7): building commands, reading status words, and the one exchange rule every
 * terminal follows — 61xx means "GET RESPONSE for xx bytes" (T=0 case 4), 6Cxx means "send again with Le = xx".
 */
import { CompanyCardRemoved, CompanyCardStatus } from './company-card-errors.ts';

export const SW = {
  OK: 0x9000,
  WRONG_LENGTH: 0x6700,
  SECURITY_NOT_SATISFIED: 0x6982,
  AUTH_BLOCKED: 0x6983,
  REFERENCED_DATA_INVALID: 0x6984, // no challenge was fetched before an authenticated command
  CONDITIONS_NOT_SATISFIED: 0x6985,
  SM_MAC_WRONG: 0x6988,
  WRONG_DATA: 0x6a80,
  FILE_NOT_FOUND: 0x6a82,
  WRONG_P1P2: 0x6a86,
  KEY_NOT_FOUND: 0x6a88,
  FILE_EXISTS: 0x6a89,
  OFFSET_OUT_OF_FILE: 0x6b00,
  INS_NOT_SUPPORTED: 0x6d00,
  CLA_NOT_SUPPORTED: 0x6e00,
  MEMORY_FAILURE: 0x6581,
} as const;

/** Meanings for logs and errors (Chinese first, as the operators read them). */
export const SW_TEXT: Record<number, { zh: string; en: string }> = {
  [SW.OK]: { zh: '成功', en: 'success' },
  [SW.WRONG_LENGTH]: { zh: '长度错误', en: 'wrong length' },
  [SW.SECURITY_NOT_SATISFIED]: { zh: '安全状态不满足', en: 'security status not satisfied' },
  [SW.AUTH_BLOCKED]: { zh: '认证密钥已锁死', en: 'authentication key blocked' },
  [SW.REFERENCED_DATA_INVALID]: { zh: '未取随机数', en: 'no challenge fetched' },
  [SW.CONDITIONS_NOT_SATISFIED]: { zh: '使用条件不满足', en: 'conditions of use not satisfied' },
  [SW.SM_MAC_WRONG]: { zh: '安全报文 MAC 错误', en: 'secure messaging MAC wrong' },
  [SW.WRONG_DATA]: { zh: '数据错误', en: 'wrong data' },
  [SW.FILE_NOT_FOUND]: { zh: '文件或应用未找到', en: 'file or application not found' },
  [SW.WRONG_P1P2]: { zh: 'P1/P2 错误', en: 'wrong P1/P2' },
  [SW.KEY_NOT_FOUND]: { zh: '密钥未找到', en: 'key not found' },
  [SW.FILE_EXISTS]: { zh: '文件已存在', en: 'file already exists' },
  [SW.OFFSET_OUT_OF_FILE]: { zh: '偏移超出文件', en: 'offset outside the file' },
  [SW.INS_NOT_SUPPORTED]: { zh: '指令不支持', en: 'instruction not supported' },
  [SW.CLA_NOT_SUPPORTED]: { zh: 'CLA 不支持', en: 'class not supported' },
  [SW.MEMORY_FAILURE]: { zh: '写存储器失败', en: 'memory failure' },
};

export function swText(sw: number): { zh: string; en: string } {
  if ((sw & 0xfff0) === 0x63c0)
    return { zh: `认证失败，还剩 ${sw & 0x0f} 次`, en: `authentication failed, ${sw & 0x0f} tries left` };
  return SW_TEXT[sw] ?? { zh: '未知状态字', en: 'unknown status word' };
}

export function swHex(sw: number): string {
  return sw.toString(16).toUpperCase().padStart(4, '0');
}

/** CLA INS P1 P2 [Lc data] [Le]; short APDUs only (the card never needs more than 255 bytes a command). */
export function command(cla: number, ins: number, p1: number, p2: number, data?: Uint8Array, le?: number): Buffer {
  const parts: number[] = [cla, ins, p1, p2];
  if (data && data.length > 0) {
    if (data.length > 255) throw new RangeError('command data longer than 255 bytes');
    parts.push(data.length, ...data);
  }
  if (le !== undefined) parts.push(le & 0xff);
  return Buffer.from(parts);
}

export interface Response {
  data: Buffer;
  sw: number;
}

export function parseResponse(r: Uint8Array): Response {
  if (r.length < 2) return { data: Buffer.alloc(0), sw: 0x6f00 };
  return { data: Buffer.from(r.subarray(0, r.length - 2)), sw: ((r[r.length - 2] ?? 0) << 8) | (r[r.length - 1] ?? 0) };
}

export function withSw(data: Uint8Array, sw: number): Buffer {
  return Buffer.concat([data, Buffer.of(sw >> 8, sw & 0xff)]);
}

/** A card slot as a terminal sees it. `transmit` rejects with COMPANY_CARD_REMOVED when the card is gone. */
export interface ApduChannel {
  transmit(apdu: Uint8Array): Promise<Uint8Array>;
}

/** Sends one command and follows 61xx / 6Cxx; returns the final data and status word. */
export async function exchange(channel: ApduChannel, apdu: Uint8Array): Promise<Response> {
  let r = parseResponse(await channel.transmit(apdu));
  if ((r.sw & 0xff00) === 0x6c00 && apdu.length >= 5) {
    const again = Buffer.from(apdu);
    again[again.length - 1] = r.sw & 0xff;
    r = parseResponse(await channel.transmit(again));
  }
  const chunks: Buffer[] = [r.data];
  let guard = 0;
  while ((r.sw & 0xff00) === 0x6100 && guard++ < 16) {
    r = parseResponse(await channel.transmit(command(0x00, 0xc0, 0x00, 0x00, undefined, r.sw & 0xff)));
    chunks.push(r.data);
  }
  return { data: Buffer.concat(chunks), sw: r.sw };
}

/** exchange() that insists on 9000; anything else is COMPANY_CARD_STATUS naming the step and status word. */
export async function expectOk(channel: ApduChannel, apdu: Uint8Array, step: string): Promise<Buffer> {
  const r = await exchange(channel, apdu);
  if (r.sw !== SW.OK) {
    const t = swText(r.sw);
    throw CompanyCardStatus(
      { step, sw: swHex(r.sw) },
      { zh: `${step}：${swHex(r.sw)} ${t.zh}`, en: `${step}: ${swHex(r.sw)} ${t.en}` },
    );
  }
  return r.data;
}

export function isRemoved(e: unknown): boolean {
  return CompanyCardRemoved.is(e);
}
