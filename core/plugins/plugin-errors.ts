import { defineError } from '../errors/meterhub-error.ts';

export const ManifestInvalid = defineError(
  'PLUGIN_MANIFEST_INVALID',
  500,
  '厂家插件清单无效',
  'Invalid maker plugin manifest',
);
export const PluginUnknown = defineError('PLUGIN_UNKNOWN', 404, '未知的表厂插件', 'Unknown maker plugin');
export const PluginDuplicate = defineError('PLUGIN_DUPLICATE', 500, '表厂插件标识重复', 'Duplicate maker plugin id');
export const PluginDisabled = defineError('PLUGIN_DISABLED', 409, '该表厂插件已停用', 'Maker plugin is disabled');
export const LibraryMissing = defineError(
  'LIBRARY_MISSING',
  503,
  '找不到该表厂的动态库',
  "The maker's library was not found",
);
export const CardTypeUnsupported = defineError(
  'CARD_TYPE_UNSUPPORTED',
  422,
  '该表厂不支持此卡型',
  'This maker does not support the card type',
);
export const CardUnknown = defineError(
  'CARD_UNKNOWN',
  422,
  '无法识别的卡：没有任何表厂认领此卡',
  'Unknown card: no maker claims it',
);
export const CardConflict = defineError('CARD_CONFLICT', 409, '多个表厂同时认领此卡', 'Several makers claim this card');
/** Some library did not answer in time; asking again once the supervisor has respawned it can succeed. */
export const IdentifyIncomplete = defineError(
  'IDENTIFY_INCOMPLETE',
  503,
  '部分表厂动态库无响应，无法可靠判卡',
  'Some maker libraries did not answer; the card cannot be identified reliably',
  { retry: { afterSeconds: 1 } },
);
