/**
 * Ledger errors. Every 409 carries `details.nextStep` (machine-readable) and says in words what to do next,
 * because counter staff meet these at the counter with a customer waiting.
 */
import { defineError } from '../errors/meterhub-error.ts';

export const CardNotInLedger = defineError(
  'CARD_NOT_IN_LEDGER',
  409,
  '台账中没有这张卡的发卡记录，不能购气/退气/补卡（请先发卡，或由运维核实历史记录）',
  'The ledger has no issue record for this card; issue it first (or have ops check its history)',
);
export const CardAlreadyIssued = defineError(
  'CARD_ALREADY_ISSUED',
  409,
  '该卡号已发过卡；丢卡请用补卡（次数取台账次数）',
  'This card number has already been issued; for a lost card use reissue with the ledger count',
);
export const CardFormatted = defineError(
  'CARD_FORMATTED',
  409,
  '该卡已擦除（退户/回收），请先补卡',
  'This card has been formatted (retired); reissue it first',
);
export const LastWriteUnconfirmed = defineError(
  'LAST_WRITE_UNCONFIRMED',
  409,
  '该卡上一次写卡尚未确认：请先确认（读回卡数据），或掉气补气（重写），或冲正（未写到卡上）',
  'The last write to this card is unconfirmed: confirm it (card read-back), rewrite it, or reverse it if it never reached the card',
);
export const CountMismatch = defineError(
  'COUNT_MISMATCH',
  409,
  '卡上购气次数与台账不符，已拒绝；请运维核对该卡台账',
  "The card's purchase count does not match the ledger; refused — ops must reconcile this card",
);
export const CountSequence = defineError(
  'COUNT_SEQUENCE',
  409,
  '购气次数必须是台账次数+1',
  'The purchase count must be the ledger count + 1',
);
export const ReissueCountMismatch = defineError(
  'REISSUE_COUNT_MISMATCH',
  409,
  '补卡次数必须等于台账中的实际写卡次数',
  'A replacement card must carry the real write count from the ledger',
);
export const ReissueGasMismatch = defineError(
  'REISSUE_GAS_MISMATCH',
  409,
  '补卡气量只能为0，或等于尚未确认进表的最后一次购气气量',
  'A replacement card may carry 0 gas or exactly the last purchase not yet refunded',
);
export const CardNotEmpty = defineError(
  'CARD_NOT_EMPTY',
  409,
  '卡内有气量，不能进行此操作（请先插表或退气）',
  'The card still holds gas; put it in the meter or refund first',
);
export const NothingToRefund = defineError(
  'NOTHING_TO_REFUND',
  409,
  '卡内没有气量，无可退',
  'The card holds no gas; nothing to refund',
);
export const CardNumberMismatch = defineError(
  'CARD_NUMBER_MISMATCH',
  409,
  '卡上卡号与请求中的卡号不符',
  'The card number on the card differs from the one in the request',
);
export const CardMakerMismatch = defineError(
  'CARD_MAKER_MISMATCH',
  409,
  '判卡结果与请求中的表厂不符',
  'The card identifies as another maker than the request names',
);
export const ConcurrentCardWrite = defineError(
  'CONCURRENT_CARD_WRITE',
  409,
  '同一张卡的另一笔操作已先完成，本次已拒绝；请重新读卡',
  'Another operation on this card committed first; re-read the card',
);
export const TransactionNotFound = defineError('TRANSACTION_NOT_FOUND', 404, '交易不存在', 'Transaction not found');
export const TransactionState = defineError(
  'TRANSACTION_STATE',
  409,
  '交易当前状态不允许此操作',
  'The transaction state does not allow this operation',
);
export const TransactionNotLatest = defineError(
  'TRANSACTION_NOT_LATEST',
  409,
  '只能处理该卡最近一笔交易',
  'Only the latest transaction on a card can be changed',
);
export const ReverseReachedCard = defineError(
  'REVERSE_REACHED_CARD',
  409,
  '读回的卡数据表明本次写卡已到达卡上，不能冲正；请确认该交易',
  'The card read-back shows this write reached the card; confirm it instead of reversing',
);
export const WriteVerifyFailed = defineError(
  'WRITE_VERIFY_FAILED',
  409,
  '写卡校验失败：读回的卡数据与本次写卡内容不符，交易已标记为失败；请掉气补气（重写）或冲正',
  'Write verification failed: the card read-back does not say what was written; the transaction is FAILED — rewrite or reverse it',
);
export const IdempotencyKeyReused = defineError(
  'IDEMPOTENCY_KEY_REUSED',
  422,
  '幂等键已用于另一个不同的请求',
  'This Idempotency-Key was already used for a different request',
);
export const ReissueInUse = defineError(
  'REISSUE_IN_USE',
  409,
  '补卡之后该卡已有新的交易，不能撤销补卡',
  'The replacement card has been used since; it cannot be cancelled',
);
export const NotAUserCard = defineError(
  'NOT_A_USER_CARD',
  422,
  '这不是用户卡（可能是工具卡）',
  'Not a user card (perhaps a tool card)',
);
export const CardReadFailed = defineError(
  'CARD_READ_FAILED',
  422,
  '表厂动态库无法读取此卡数据',
  "The maker's library could not read this card",
);
export const LibraryRefused = defineError(
  'LIBRARY_REFUSED',
  422,
  '表厂动态库拒绝了此操作',
  "The maker's library refused the operation",
);
export const CpuCardAtStation = defineError(
  'CPU_CARD_AT_STATION',
  422,
  'CPU卡由柜台工作站调用表厂动态库直接读写，中心服务器不计算CPU卡数据',
  'CPU cards are written by the counter station through the maker library; the server does not compute them',
);
export const CardDataLength = defineError('CARD_DATA_LENGTH', 400, '卡数据长度不符', 'Card data has the wrong length');
export const LedgerKeyInvalid = defineError(
  'LEDGER_KEY_INVALID',
  500,
  '台账加密密钥无效或无法解密',
  'The ledger encryption key is invalid or cannot decrypt',
);
export const CpuReadBackRequired = defineError(
  'CPU_READ_BACK_REQUIRED',
  400,
  'CPU 卡交易需要工作站通过表厂动态库读回的卡内容 readBack {cardNo, gas, count, meterKind}（不是卡数据 data）',
  'A CPU-card transaction takes the card as read back by the maker library at the station, readBack {cardNo, gas, count, meterKind} (not card data)',
);
export const MemoryDataRequired = defineError(
  'MEMORY_DATA_REQUIRED',
  400,
  '存储卡交易需要读回的卡数据 data（十六进制），readBack 只用于 CPU 卡',
  'A memory-card transaction takes the card data read back (hex data); readBack is for CPU cards only',
);
export const CpuObservedRequired = defineError(
  'CPU_OBSERVED_REQUIRED',
  400,
  '此 CPU 卡操作需要工作站读到的卡内容 observed {cardNo, gas, count, meterKind}',
  'This CPU-card operation needs the card as the station read it: observed {cardNo, gas, count, meterKind}',
);
export const CpuCardNotBlank = defineError(
  'CPU_CARD_NOT_BLANK',
  409,
  '发卡/补卡/制作工具卡需要空白 CPU 卡，工作站读到的卡上已有用户卡数据',
  'Issue, reissue and tool cards need a blank CPU card; the station read a user card',
);
export const ReverseCardChanged = defineError(
  'REVERSE_CARD_CHANGED',
  409,
  '读回的卡已不是写卡前的样子，不能冲正；请确认（若读回正确）或掉气补气，或由运维核对该卡',
  'The card read-back no longer shows the card as it was before the write, so it cannot be reversed; confirm, rewrite, or have ops reconcile the card',
);
export const ReverseNeedsReadBack = defineError(
  'REVERSE_NEEDS_READ_BACK',
  409,
  'CPU 卡交易的冲正需要读回卡内容（证明这次写卡没有到达卡上）；没有卡时只能由运维冲正',
  'Reversing a CPU-card transaction needs the card read-back (proof the write never reached the card); without the card only ops may reverse it',
);
export const LedgerCardNotFound = defineError(
  'LEDGER_CARD_NOT_FOUND',
  404,
  '台账中没有这张卡',
  'The ledger has no row for this card',
);
export const LedgerThreadDown = defineError(
  'LEDGER_THREAD_DOWN',
  503,
  '台账写入线程意外退出，本次操作结果未知：请用同一幂等键（Idempotency-Key）重试，不会重复购气',
  'The ledger writer thread stopped unexpectedly and the outcome is unknown: retry with the same Idempotency-Key (it never buys twice)',
);
export const LedgerThreadClosing = defineError(
  'LEDGER_THREAD_CLOSING',
  503,
  '服务器正在关闭，本次操作未执行：请稍后重试',
  'The server is shutting down and did not run this operation; retry shortly',
);

// Go-live: cards imported from the old system in a state that must not be sold onto (ledger-import-schema.ts).
export const CardLost = defineError(
  'CARD_LOST',
  409,
  '该卡在原系统中已挂失或列入黑名单，不能购气/退气；请核实用户身份后补卡',
  'This card was reported lost or blacklisted in the old system; no sale or refund — verify the customer and reissue',
);
export const CardRetired = defineError(
  'CARD_RETIRED',
  409,
  '该卡在原系统中已注销（销户），不能购气/退气',
  'This card was retired (account closed) in the old system; no sale or refund',
);

// Adoption (认领): a card the maker's library recognises but the ledger does not know (go-live).
export const AdoptionDisabled = defineError(
  'ADOPTION_DISABLED',
  403,
  '本系统未开放认领卡片（配置 adoption=nobody）',
  'Card adoption is switched off here (adoption = nobody)',
);
export const AdoptionForbidden = defineError(
  'ADOPTION_FORBIDDEN',
  403,
  '无权认领卡片：银行渠道从不认领，柜台需配置允许',
  'Not allowed to adopt a card: bank channels never adopt, counters only when configured',
);
export const AdoptionReasonRequired = defineError(
  'ADOPTION_REASON_REQUIRED',
  400,
  '柜台认领卡片必须填写原因',
  'A counter must give a reason to adopt a card',
);
export const CardAlreadyInLedger = defineError(
  'CARD_ALREADY_IN_LEDGER',
  409,
  '台账中已有这张卡，无需认领，可直接购气',
  'The ledger already knows this card; nothing to adopt — sell on it',
);
export const AdoptionContradictsLedger = defineError(
  'ADOPTION_CONTRADICTS_LEDGER',
  409,
  '卡片与台账（导入记录）不符，不能认领；请运维核对差异',
  'The card contradicts the ledger (its imported row); not adopted — ops must reconcile the differences',
);
