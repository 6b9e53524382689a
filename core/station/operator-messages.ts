/**
 * What the operator is told after a failed write: the state of the card (from card-io's cardState) and of
 * the ledger, in Chinese and English, and which recoveries are possible. One table, so every failure
 * message is written and reviewed in one place (docs/station.md repeats it).
 */
import { recoveryFor, type RecoveryAction } from '../wire/tx-states.ts';
import type { CardState, WriteStep } from './readers/card-io.ts';

export type { RecoveryAction };

export interface OperatorMessage {
  zh: string;
  en: string;
  /** Recoveries that are safe from this state, best first. */
  recovery: RecoveryAction[];
}

const CARD: Record<CardState, { zh: string; en: string }> = {
  untouched: { zh: '卡片没有被改动', en: 'the card was not changed' },
  'partially-written': {
    zh: '卡片只写了一部分：卡上既不是原来的数据也不是新数据，这张卡暂时不能在表上使用',
    en: 'the card was only partly written: it holds neither the old nor the new data and must not go into the meter yet',
  },
  'written-password-unchanged': {
    zh: '数据已全部写入，但卡密码没有改成新密码（旧密码仍有效）',
    en: 'all data was written but the card password was not changed (the old password still works)',
  },
  'written-password-unknown': {
    zh: '数据已全部写入，但改密码时卡被拔出：卡密码可能只改了一部分',
    en: 'all data was written but the card left during the password change: the password may be half-changed',
  },
  'written-unverified': {
    zh: '数据已写入，但读回校验失败或不一致',
    en: 'the data was written but the read-back failed or differs',
  },
  'written-verified': { zh: '卡已写好并读回一致', en: 'the card is written and reads back correctly' },
};

/** The operator's message for a write that did not finish (the ledger holds the transaction as PREPARED). */
export function writeFailureMessage(o: {
  transactionId: string;
  cardState: CardState;
  failedStep?: WriteStep | undefined;
  causeCode?: string | undefined;
  attemptsLeft?: number | undefined;
}): OperatorMessage {
  const tx = o.transactionId;
  const card = CARD[o.cardState];
  const ledgerZh = `台账交易 ${tx} 仍为“已准备（PREPARED）”，尚未确认`;
  const ledgerEn = `ledger transaction ${tx} is PREPARED (not confirmed)`;
  const wrongPassword =
    o.failedStep === 'verify-password' &&
    (o.causeCode === 'READER_WRONG_PASSWORD' || o.causeCode === 'READER_CARD_LOCKED');
  const pulled = o.causeCode === 'READER_CARD_REMOVED';
  const gone = o.causeCode === 'READER_GONE';
  const swapped = o.causeCode === 'STATION_CARD_SWAPPED';
  const why = wrongPassword
    ? {
        zh: `卡片密码核对失败（只核对了一次，剩余 ${o.attemptsLeft ?? '?'} 次机会，不会自动重试）`,
        en: `the card refused the password (checked once only, ${o.attemptsLeft ?? '?'} attempts left; no automatic retry)`,
      }
    : pulled
      ? { zh: '写卡过程中卡片被拔出', en: 'the card was pulled out during the write' }
      : gone
        ? { zh: '写卡过程中读卡器断开', en: 'the reader disconnected during the write' }
        : swapped
          ? {
              zh: '读卡之后换成了另一张卡，已在写入前发现',
              en: 'another card was inserted after the read; caught before writing',
            }
          : { zh: `写卡步骤 ${o.failedStep ?? '?'} 失败`, en: `write step ${o.failedStep ?? '?'} failed` };

  let recovery: RecoveryAction[];
  let nextZh: string;
  let nextEn: string;
  if (wrongPassword) {
    recovery = recoveryFor('memoryWrongPassword');
    nextZh = '请勿重试；请运维冲正（reverse）这笔交易，并核对该卡的密码来历';
    nextEn =
      "do not retry; have ops reverse (冲正) this transaction and look into where this card's password came from";
  } else if (o.cardState === 'untouched') {
    recovery = recoveryFor('memoryUntouched');
    nextZh = '插回原来那张卡后可重试（retry，同一笔交易），或由运维冲正（reverse）';
    nextEn = 'put the same card back and retry (same transaction), or have ops reverse (冲正) it';
  } else if (o.cardState === 'written-password-unknown') {
    recovery = recoveryFor('memoryPasswordUnknown');
    nextZh = '不要再写这张卡（再核对密码可能锁卡）；请运维联系表厂处理该卡，交易保持未确认';
    nextEn =
      'do not write this card again (another password check may lock it); ops must handle the card with the maker; the transaction stays unconfirmed';
  } else {
    recovery = recoveryFor('memoryPartlyWritten');
    nextZh =
      '插回同一张卡后掉气补气：重试（retry，同一笔交易、同样数据），或由运维重写（rewrite）；不能冲正，因为卡上已有部分新数据';
    nextEn =
      'put the same card back and re-deliver: retry (same transaction, same data) or have ops rewrite (掉气补气); do not reverse — part of the new data is on the card';
  }
  return {
    zh: `${why.zh}；${card.zh}；${ledgerZh}。${nextZh}。`,
    en: `${cap(why.en)}; ${card.en}; ${ledgerEn}. ${cap(nextEn)}.`,
    recovery,
  };
}

export function confirmPendingMessage(transactionId: string): OperatorMessage {
  return {
    zh: `卡已写好并读回一致，但中心服务器暂时无法确认；台账交易 ${transactionId} 仍为 PREPARED。网络恢复后请执行确认（recover confirm），不要重新售气`,
    en: `The card is written and reads back correctly but the server could not be told; ledger transaction ${transactionId} is PREPARED. When the network is back run recover confirm; do not sell again`,
    recovery: recoveryFor('confirmPending'),
  };
}

function cap(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}
