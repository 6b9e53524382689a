import { defineError } from '../errors/meterhub-error.ts';

/** A setting (flag, environment variable) failed validation at start; details name every bad setting. */
export const ConfigInvalid = defineError('CONFIG_INVALID', 400, '配置无效', 'Invalid configuration');
