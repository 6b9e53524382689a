/** Errors of the backup and restore commands. */
import { defineError } from '../errors/meterhub-error.ts';

export const BackupFailed = defineError('BACKUP_FAILED', 500, '备份失败', 'Backup failed');
export const BackupInvalid = defineError(
  'BACKUP_INVALID',
  400,
  '备份文件无效或已损坏',
  'The backup file is not valid or is damaged',
);
export const RestoreRefused = defineError('RESTORE_REFUSED', 409, '拒绝恢复', 'Restore refused');
export const RestoreKeyMissing = defineError(
  'RESTORE_KEY_MISSING',
  400,
  '缺少台账密钥：没有它，台账中加密的卡密码无法读取',
  'The ledger key is missing: without it the encrypted card keys in the ledger cannot be read',
);
export const ToolMissing = defineError('TOOL_MISSING', 500, '找不到所需的程序', 'A required program was not found');
