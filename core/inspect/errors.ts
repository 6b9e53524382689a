import { defineError } from '../errors/meterhub-error.ts';

/** The file is not a readable PE/ELF library: truncated, corrupt, text, empty or another format. */
export const InspectBadFile = defineError(
  'INSPECT_BAD_FILE',
  422,
  '无法解析库文件（不是有效的 DLL 或共享库，或文件已损坏/被截断）',
  'Cannot parse the library file (not a valid DLL or shared object, or it is corrupt/truncated)',
);

export const InspectFileNotFound = defineError(
  'INSPECT_FILE_NOT_FOUND',
  404,
  '库文件不存在或无法读取',
  'Library file not found or not readable',
);

export const InspectBadSymbolMap = defineError(
  'INSPECT_BAD_SYMBOL_MAP',
  400,
  '符号映射无效（应为 JSON 对象：接口函数名 → 导出名）',
  'Invalid symbol map (expected a JSON object: interface function name → exported name)',
);

/** `--manifest` given, but no library entry of it is this file and no `--platform` says which entry to check. */
export const InspectManifestNoEntry = defineError(
  'INSPECT_MANIFEST_NO_ENTRY',
  400,
  '清单中没有指向此文件的库条目（请用 --platform 指定平台，如 win32-ia32）',
  'No library entry of the manifest is this file (name the entry with --platform, e.g. win32-ia32)',
);
