/**
 * Errors of the counter station (`meterhub station`). Counter staff read these with a customer waiting, so
 * each one says what state the card and the ledger are in and what to do next. No text or detail ever
 * carries a password, key or token.
 */
import { defineError } from '../errors/meterhub-error.ts';

export const StationNoCard = defineError(
  'STATION_NO_CARD',
  404,
  '读卡器中没有卡片，请插卡',
  'No card in the reader; insert a card',
);

export const StationServerUnreachable = defineError(
  'STATION_SERVER_UNREACHABLE',
  503,
  '无法连接中心服务器；卡片未写入任何内容',
  'The central server cannot be reached; nothing was written to the card',
);

export const StationServerError = defineError(
  'STATION_SERVER_ERROR',
  502,
  '中心服务器返回了无法识别的应答；卡片未写入任何内容',
  'The central server gave an answer the station does not understand; nothing was written to the card',
);

export const StationCardSwapped = defineError(
  'STATION_CARD_SWAPPED',
  409,
  '读卡之后读卡器中的卡已被换成另一张卡；未写入任何内容',
  'The card in the reader was changed after it was read; nothing was written',
);

export const StationCardNotBlank = defineError(
  'STATION_CARD_NOT_BLANK',
  409,
  '这张卡不是空白卡（卡上已有数据），不能发卡/补卡/制作工具卡；请换一张空白卡，或先擦卡',
  'This card is not blank (it holds data): it cannot be issued, reissued or made a tool card; use a blank card or format it first',
);

export const StationNotUserCard = defineError(
  'STATION_NOT_USER_CARD',
  409,
  '这不是用户卡，不能购气/退气',
  'This is not a user card; gas cannot be sold or refunded on it',
);

export const StationWriteFailed = defineError(
  'STATION_WRITE_FAILED',
  409,
  '写卡未完成',
  'The card write did not complete',
);

export const StationConfirmPending = defineError(
  'STATION_CONFIRM_PENDING',
  503,
  '卡已写好并读回一致，但未能向中心服务器确认',
  'The card is written and read back correctly, but the central server could not be told',
);

export const StationConfirmRefused = defineError(
  'STATION_CONFIRM_REFUSED',
  409,
  '中心服务器核对读回数据不符，交易已标记为失败',
  'The central server found the read-back does not match; the transaction is FAILED',
);

export const StationPasswordBlocked = defineError(
  'STATION_PASSWORD_BLOCKED',
  423,
  '这张卡的密码已核对失败过一次；柜台程序不会再用同一密码盲目重试（4442 三次、102 四次失败即锁死）',
  'This card already refused its password once; the station will not blindly try again (4442 locks after 3 failures, 102 after 4)',
);

export const StationNoPending = defineError(
  'STATION_NO_PENDING',
  404,
  '本工作站没有这笔未完成写卡的记录（可能已重启）；请用 rewrite（掉气补气）或 reverse（冲正）',
  'This station holds no unfinished write for that transaction (it may have restarted); use rewrite or reverse',
);

export const StationRecoveryRefused = defineError(
  'STATION_RECOVERY_REFUSED',
  409,
  '当前状态不允许这种恢复操作',
  'This recovery is not allowed in the current state',
);

export const StationNeedsSupervisor = defineError(
  'STATION_NEEDS_SUPERVISOR',
  403,
  '此笔交易不是本工作站的令牌发起的，掉气补气（rewrite）和冲正（reverse）需要运维（主管）令牌：请在请求中提供 supervisorToken，或请运维处理',
  "This transaction was not made with this station's token: rewrite (掉气补气) and reverse (冲正) need an ops (supervisor) token — pass supervisorToken or ask ops",
);

export const StationPsamMissing = defineError(
  'STATION_PSAM_MISSING',
  409,
  'PSAM 未插入：天信 CPU 卡需要把 PSAM 卡插在读卡器的 SAM 卡座中',
  "PSAM missing: Tancy CPU cards need the PSAM card in the reader's SAM slot",
);

export const StationCpuRefused = defineError(
  'STATION_CPU_REFUSED',
  422,
  '表厂动态库拒绝了此 CPU 卡操作',
  "The maker's library refused this CPU-card operation",
);

export const StationNoCpuPlugin = defineError(
  'STATION_NO_CPU_PLUGIN',
  422,
  '没有启用的 CPU 卡表厂插件认领这张卡',
  'No enabled CPU-card maker plugin claims this card',
);

export const StationSimOnly = defineError(
  'STATION_SIM_ONLY',
  404,
  '只有仿真读卡器（--reader sim）才有此功能',
  'Only the simulated reader (--reader sim) has this function',
);

export const StationReaderUnsupported = defineError(
  'STATION_READER_UNSUPPORTED',
  501,
  '暂不支持此读卡器',
  'This reader is not supported yet',
);

export const StationBadInput = defineError('STATION_BAD_INPUT', 400, '请求参数错误', 'Invalid request');

export const StationBadHost = defineError(
  'STATION_BAD_HOST',
  421,
  '请求的主机名不是本工作站（只接受 127.0.0.1、localhost 或 [::1] 加本机端口）；可能是 DNS 重绑定攻击，已拒绝',
  'The request names another host (only 127.0.0.1, localhost or [::1] with this port are accepted); possibly DNS rebinding, refused',
);

export const StationOriginRefused = defineError(
  'STATION_ORIGIN_REFUSED',
  403,
  '此网页的来源（Origin）不在本工作站的允许列表中（--allow-origin）；请管理员把公司营收系统的地址加入允许列表',
  "This web page's origin is not on the station's allow-list (--allow-origin); an administrator must add the company web app",
);

export const StationNotPaired = defineError(
  'STATION_NOT_PAIRED',
  401,
  '缺少或无效的配对密钥：此程序尚未与本工作站配对（管理员运行 meterhub station pair）',
  'Missing or invalid pairing key: this client is not paired with the station (an administrator runs meterhub station pair)',
);

export const StationClerkRequired = defineError(
  'STATION_CLERK_REQUIRED',
  400,
  '需要营业员工号（请求头 X-MeterHub-Clerk，1-64 个字母数字或 _.:@-）',
  'The clerk is required (header X-MeterHub-Clerk, 1-64 of [A-Za-z0-9_.:@-])',
);

export const StationReaderRequired = defineError(
  'STATION_READER_REQUIRED',
  400,
  '必须指定读卡器 --reader：mwic:<端口>（明华读卡器，0 = COM1，USB 型号 100）、sim（模拟读卡器，仅用于培训）或 pcsc:<名称>（暂不支持）',
  '--reader is required: mwic:<port> (Mingwah reader, 0 = COM1, USB models 100), sim (simulated reader, training only) or pcsc:<name> (not supported yet)',
);
