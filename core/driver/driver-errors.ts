/**
 * Errors of the driver layer. Texts name the library and the function, never a parameter value: card data,
 * keys and PSCs travel as parameters and must not reach an error or a log.
 *
 * The library being unavailable (crash, hang, a host that cannot start, a full queue, an internal host error) is
 * 503 and worth a retry: the host is respawned, and the supervisor puts its backoff in details.retryAfterSeconds.
 * A library that answered with malformed card data (502) will do so again: no retry. All of them are the maker
 * library's failure, not a server bug (upstream): the supervisor logs crashes and hangs with their cause.
 */
import { defineError, type ErrorTraits, type MeterHubError } from '../errors/meterhub-error.ts';

/** The maker library is unavailable for now; retry after the supervisor's backoff. */
const UNAVAILABLE: ErrorTraits = { retry: { afterSeconds: 1 }, upstream: true };

export const DriverCrashed = defineError(
  'DRIVER_CRASHED',
  503,
  '表厂动态库驱动进程崩溃，本次调用失败，驱动进程正在重启',
  'The driver host process of the maker library crashed; this call failed and the host is being restarted',
  UNAVAILABLE,
);

export const DriverTimeout = defineError(
  'DRIVER_TIMEOUT',
  503,
  '表厂动态库调用超时，驱动进程已被终止并正在重启',
  'The maker library call timed out; the driver host was killed and is being restarted',
  UNAVAILABLE,
);

export const DriverProtocol = defineError(
  'DRIVER_PROTOCOL',
  503,
  '驱动进程返回了无法识别的数据（协议错误），驱动进程正在重启',
  'The driver host sent data that breaks the protocol; the host is being restarted',
  UNAVAILABLE,
);

export const DriverStartFailed = defineError(
  'DRIVER_START_FAILED',
  503,
  '驱动进程无法启动',
  'The driver host process could not be started',
  UNAVAILABLE,
);

export const DriverClosed = defineError('DRIVER_CLOSED', 503, '驱动已关闭', 'The driver has been closed', UNAVAILABLE);

export const DriverOverloaded = defineError(
  'DRIVER_OVERLOADED',
  503,
  '驱动调用排队过多，请稍后重试',
  'Too many calls are queued for this driver; retry later',
  UNAVAILABLE,
);

export const LibraryLoadFailed = defineError(
  'LIBRARY_LOAD_FAILED',
  500,
  '无法加载表厂动态库（文件不存在、位数不匹配或依赖缺失）',
  'The maker library could not be loaded (missing file, 32/64-bit mismatch or missing dependency)',
);

export const FunctionMissing = defineError(
  'FUNCTION_MISSING',
  501,
  '表厂动态库未提供该接口函数',
  'The maker library does not export this interface function',
);

export const DriverHostError = defineError(
  'DRIVER_HOST_ERROR',
  503,
  '驱动进程内部错误',
  'Internal error in the driver host',
  UNAVAILABLE,
);

export const DriverOutputInvalid = defineError(
  'DRIVER_OUTPUT_INVALID',
  502,
  '表厂动态库返回的卡数据不符合规范（长度或格式错误），已拒绝使用；请联系厂家并运行一致性测试',
  'The maker library returned card data that breaks the spec (length or form); it was refused. Contact the maker and run the conformance kit',
  { upstream: true },
);

export const LibraryNotForHost = defineError(
  'LIBRARY_NOT_FOR_HOST',
  503,
  '插件清单中没有与驱动进程的平台和位数相符的动态库（例如 32 位 node.exe 需要 win32-ia32 的 DLL）；请在清单 library 中补上该平台，或改正 driver.execPath',
  "The plugin manifest has no library for the driver host's platform and architecture (a 32-bit node.exe needs the win32-ia32 DLL); add that entry to the manifest's library, or correct driver.execPath",
);

/**
 * The driver host failed the call (as opposed to the library answering, or refusing to load): whatever state the
 * library held for the caller (an open reader handle) is gone with it. A table, so a new kind is added here.
 */
export const DRIVER_FAILURES = [
  DriverCrashed,
  DriverTimeout,
  DriverProtocol,
  DriverStartFailed,
  DriverClosed,
  DriverOverloaded,
  DriverHostError,
  DriverOutputInvalid,
] as const;

export function isDriverFailure(e: unknown): e is MeterHubError {
  return DRIVER_FAILURES.some((k) => k.is(e));
}
