import { defineError } from './meterhub-error.ts';

export const BadInput = defineError('BAD_INPUT', 400, '输入参数错误', 'Invalid input');
export const NotFound = defineError('NOT_FOUND', 404, '未找到', 'Not found');
export const Unauthorized = defineError(
  'UNAUTHORIZED',
  401,
  '未授权：缺少或无效的令牌',
  'Unauthorized: missing or invalid token',
);
export const Forbidden = defineError('FORBIDDEN', 403, '无权执行此操作', 'Forbidden for this role');
export const Internal = defineError('INTERNAL', 500, '服务器内部错误', 'Internal server error');
