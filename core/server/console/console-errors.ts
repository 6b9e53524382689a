/** Errors of the ops console's own routes (the actions it triggers report their own domain's errors). */
import { defineError } from '../../errors/meterhub-error.ts';

export const ConformanceLibraryMissing = defineError(
  'CONFORMANCE_LIBRARY_MISSING',
  404,
  '该插件没有可检查的动态库',
  'This plugin has no library to check',
);
export const ConformanceBridgeUnsupported = defineError(
  'CONFORMANCE_BRIDGE_UNSUPPORTED',
  409,
  '此平台上该库由桥接程序承载，请在命令行运行 meterhub conformance',
  'On this platform the library runs in a bridge program; run `meterhub conformance` from the command line',
);
export const ConsoleNotBuilt = defineError(
  'CONSOLE_NOT_BUILT',
  503,
  '运维控制台尚未构建：请运行 node console/build.mjs',
  'The ops console is not built: run node console/build.mjs',
);
