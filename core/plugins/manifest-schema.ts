/**
 * Validates meterhub-plugin.json against the published schema (sdk/meterhub-plugin.schema.json) with ajv, and
 * turns each schema error into a bilingual problem naming the field. The schema is what makers read and what
 * editors check as they type; the checks it cannot express (one field against another, interface names known
 * only to the code) follow it here, so the two never disagree on a field's shape.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Ajv2020, type ErrorObject } from 'ajv/dist/2020.js';
import { CARD_TYPES } from '../cards/card-types.ts';
import { INTERFACE_BY_NAME } from '../driver/interface-functions.ts';
import { LIBRARY_KINDS } from '../inspect/library-kind.ts';
import { MAKER_ID_PATTERN } from '../wire/patterns.ts';

export const MANIFEST_SCHEMA_FILE = resolve(import.meta.dirname, '../../sdk/meterhub-plugin.schema.json');

/** One thing wrong with a manifest: the field (dotted path, "" for the whole file) and what to fix, zh and en. */
export interface ManifestProblem {
  field: string;
  zh: string;
  en: string;
}

const schema = JSON.parse(readFileSync(MANIFEST_SCHEMA_FILE, 'utf8')) as object;
// strict: false because the schema carries documentation keywords for makers' editors (e.g. "description" in refs).
const check = new Ajv2020({ allErrors: true, strict: false }).compile(schema);

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** "/library/linux-x64" -> "library.linux-x64"; array indices stay numbers: "telemetry.profiles.0". */
function fieldOf(e: ErrorObject): string {
  const parts = e.instancePath
    .split('/')
    .slice(1)
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
  if (e.keyword === 'required') parts.push(String(e.params.missingProperty));
  if (e.keyword === 'additionalProperties') parts.push(String(e.params.additionalProperty));
  return parts.join('.');
}

/** The manifest value an error points at (ajv keeps it only in verbose mode). */
function valueAt(raw: unknown, pointer: string): unknown {
  let v = raw;
  for (const part of pointer.split('/').slice(1))
    v =
      isObject(v) || Array.isArray(v)
        ? (v as Record<string, unknown>)[part.replace(/~1/g, '/').replace(/~0/g, '~')]
        : undefined;
  return v;
}

const p = (field: string, zh: string, en: string): ManifestProblem => ({ field, zh, en });

/**
 * Today's wording per field, kept because ops and tests know it; anything else gets a generic message that
 * still names the field and the schema rule.
 */
function describe(e: ErrorObject, raw: Record<string, unknown>): ManifestProblem | undefined {
  const field = fieldOf(e);
  const top = field.split('.')[0]!;
  switch (top) {
    case 'id':
      return p('id', 'id 须为小写字母开头的 2–40 位 [a-z0-9-]', `id must match ${MAKER_ID_PATTERN}`);
    case 'name':
      return p('name', 'name 须为 {"zh-CN": 文本, "en": 文本}', 'name must be {"zh-CN": string, "en": string}');
    case 'cardTypes': {
      if (e.keyword === 'enum') {
        const t = JSON.stringify(valueAt(raw, e.instancePath));
        return p(
          'cardTypes',
          `cardTypes：未知卡型 ${t}（可用：${CARD_TYPES.join('、')}）`,
          `cardTypes: unknown card type ${t} (allowed: ${CARD_TYPES.join(', ')})`,
        );
      }
      return p('cardTypes', 'cardTypes 须为非空数组', 'cardTypes must be a non-empty array');
    }
    case 'library': {
      const key = field.split('.').slice(1).join('.');
      if (e.keyword === 'pattern' && e.propertyName === undefined && key)
        return p(field, `library.${key} 须为路径文本`, `library.${key} must be a path string`);
      if (e.keyword === 'propertyNames' || (e.keyword === 'pattern' && e.propertyName !== undefined)) {
        const k = JSON.stringify(e.propertyName ?? e.params.propertyName);
        return p('library', `library：键 ${k} 不是“平台-架构”`, `library: key ${k} is not platform-arch`);
      }
      if (key) return p(field, `library.${key} 须为路径文本`, `library.${key} must be a path string`);
      return p(
        'library',
        'library 须把平台-架构（如 "linux-x64"、"win32-ia32"）映射到动态库路径',
        'library must map platform-arch (e.g. "linux-x64", "win32-ia32") to a path',
      );
    }
    case 'libraryKind': {
      const key = field.split('.').slice(1).join('.');
      if (key)
        return p(
          field,
          `libraryKind.${key} 须为 ${LIBRARY_KINDS.join('、')} 之一`,
          `libraryKind.${key} must be one of ${LIBRARY_KINDS.join(', ')}`,
        );
      return p(
        'libraryKind',
        'libraryKind 须把平台-架构映射到 "native" 或 "dotnet"',
        'libraryKind must map platform-arch to "native" or "dotnet"',
      );
    }
    case 'symbols': {
      const key = field.split('.').slice(1).join('.');
      if (key) return p(field, `symbols.${key} 须为导出符号名`, `symbols.${key} must be an exported symbol name`);
      return p(
        'symbols',
        'symbols 须为 {接口函数名: 导出符号名}',
        'symbols must be an object {interfaceName: exportedName}',
      );
    }
    case 'standIn':
      return p('standIn', 'standIn 须为布尔值', 'standIn must be a boolean');
    case 'rules':
      return p(field, 'rules 须为对象', 'rules must be an object');
    case 'driver':
      if (field === 'driver.execPath') return p(field, 'driver.execPath 须为文本', 'driver.execPath must be a string');
      if (field === 'driver.callTimeoutMs')
        return p(
          field,
          'driver.callTimeoutMs 须为 100..600000 的整数',
          'driver.callTimeoutMs must be an integer 100..600000',
        );
      return p('driver', 'driver 须为对象', 'driver must be an object');
    case 'bridge':
      if (field === 'bridge.args' || field.startsWith('bridge.args.'))
        return p('bridge.args', 'bridge.args 须为文本数组', 'bridge.args must be an array of strings');
      return p(
        'bridge.exe',
        'bridge.exe 须把平台-架构映射到桥接程序',
        'bridge.exe must map platform-arch to the bridge program',
      );
    case 'catalogues': {
      const k = field.split('.')[1];
      if (k === 'returnCodes' || k === 'toolCards')
        return p(field, `catalogues.${k} 须为相对路径或数组`, `catalogues.${k} must be a relative path or an array`);
      return p('catalogues', 'catalogues 须为 {returnCodes, toolCards}', 'catalogues must be {returnCodes, toolCards}');
    }
    case 'module':
      // Accepted and never loaded before; vendor code runs only in the driver host (another process), never here.
      return p(
        'module',
        'module 字段已取消：插件只能是数据加动态库；远传方言请用 telemetry.profiles 声明',
        'module is no longer a manifest field: a plugin is data plus its library; ' +
          'declare dialects in telemetry.profiles',
      );
    default:
      if (e.keyword === 'additionalProperties' && e.instancePath === '') {
        return p(
          field,
          `未知字段 ${field}（拼写？自定义字段请以 x- 开头）`,
          `unknown field ${field} (a typo? custom fields start with x-)`,
        );
      }
      return undefined;
  }
}

function generic(e: ErrorObject): ManifestProblem {
  const field = fieldOf(e) || '(manifest)';
  if (e.keyword === 'additionalProperties') return p(field, `未知字段 ${field}`, `unknown field ${field}`);
  if (e.keyword === 'required') return p(field, `缺少必填字段 ${field}`, `${field} is required`);
  return p(
    field,
    `${field}：${e.message ?? e.keyword}（见 sdk/meterhub-plugin.schema.json）`,
    `${field} ${e.message ?? e.keyword} (see sdk/meterhub-plugin.schema.json)`,
  );
}

/**
 * What the schema cannot say: libraryKind entries need a library entry (and dotnet a bridge there), symbols must
 * name interface functions the code knows.
 */
function crossFieldProblems(raw: Record<string, unknown>): ManifestProblem[] {
  const out: ManifestProblem[] = [];
  if (isObject(raw.libraryKind)) {
    const library = isObject(raw.library) ? raw.library : {};
    const bridgeExe = isObject(raw.bridge) && isObject(raw.bridge.exe) ? raw.bridge.exe : {};
    for (const [k, v] of Object.entries(raw.libraryKind)) {
      if (!(k in library))
        out.push(
          p(`libraryKind.${k}`, `libraryKind.${k}：library 中没有 ${k}`, `libraryKind.${k}: library has no ${k} entry`),
        );
      if (v === 'dotnet' && typeof bridgeExe[k] !== 'string') {
        out.push(
          p(
            `libraryKind.${k}`,
            `libraryKind.${k} 为 dotnet，须在 bridge.exe.${k} 指定桥接程序`,
            `libraryKind.${k} is dotnet, so bridge.exe.${k} must name the bridge program`,
          ),
        );
      }
    }
  }
  if (isObject(raw.symbols)) {
    for (const k of Object.keys(raw.symbols)) {
      if (!INTERFACE_BY_NAME.has(k))
        out.push(p(`symbols.${k}`, `symbols：${k} 不是接口函数`, `symbols: ${k} is not an interface function`));
    }
  }
  return out;
}

export function manifestProblems(raw: unknown): ManifestProblem[] {
  if (!isObject(raw)) return [p('', '清单须为 JSON 对象', 'manifest must be a JSON object')];
  const out: ManifestProblem[] = [];
  const seen = new Set<string>();
  if (!check(raw)) {
    const errors = check.errors ?? [];
    for (const e of errors) {
      // oneOf/anyOf wrappers repeat what their branches already said.
      if (e.keyword === 'oneOf' || e.keyword === 'anyOf' || e.keyword === 'if') continue;
      // "must be a string" from the path branch of a path-or-list field whose list branch found the real problems.
      if (e.keyword === 'type' && errors.some((o) => o.instancePath.startsWith(`${e.instancePath}/`))) continue;
      const problem = describe(e, raw) ?? generic(e);
      if (seen.has(problem.en)) continue;
      seen.add(problem.en);
      out.push(problem);
    }
  }
  for (const problem of crossFieldProblems(raw)) if (!seen.has(problem.en)) out.push(problem);
  return out;
}
