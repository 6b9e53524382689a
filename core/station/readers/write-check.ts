/** Read-back check shared by the drivers: memory cards say nothing when they ignore a write. */
import { ReaderWriteFailed } from './reader-errors.ts';

export type WriteRefusal = 'protected' | 'not-verified' | 'needs-erase' | 'refused';

export function firstDifference(expected: Uint8Array, actual: Uint8Array): number {
  for (let i = 0; i < expected.length; i++) if (expected[i] !== actual[i]) return i;
  return -1;
}

/** Throws READER_WRITE_FAILED naming the first differing card offset and the likely reason. */
export function assertWritten(
  what: string,
  offset: number,
  expected: Uint8Array,
  actual: Uint8Array,
  reasonAt: (cardOffset: number, wanted: number, got: number) => WriteRefusal,
): void {
  const i = firstDifference(expected, actual);
  if (i < 0) return;
  const at = offset + i;
  const reason = reasonAt(at, expected[i] ?? 0, actual[i] ?? 0);
  throw ReaderWriteFailed(
    { area: what, offset: at, reason },
    {
      zh: `${what} 偏移 ${at}（${REASON_ZH[reason]}）`,
      en: `${what} offset ${at} (${reason})`,
    },
  );
}

const REASON_ZH: Record<WriteRefusal, string> = {
  protected: '字节已被写保护',
  'not-verified': '未核对密码',
  'needs-erase': '需要先擦除才能把位写回 1',
  refused: '卡片拒绝写入',
};
