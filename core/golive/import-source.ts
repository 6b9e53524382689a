/**
 * Reads an old system's export (CSV or JSON) into MeterHub's own field names, through an optional mapping file,
 * so another system's column names and codes fit without code:
 *
 *   { "columns":  { "cardNo": "卡号", "maker": "厂家", … },      MeterHub field → the file's column (or JSON key)
 *     "values":   { "maker": { "金卡": "kingcard" }, "state": { "挂失": "lost" } },   the file's codes → ours
 *     "defaults": { "cardType": "4442" },                          used when the column is absent or empty
 *     "delimiter": "," }
 *
 * Without a mapping the file uses MeterHub's names (IMPORT_FIELDS). Values stay strings here; the importer checks them.
 */
import { ImportFileUnreadable, ImportMappingInvalid } from './import-errors.ts';

export interface ImportMapping {
  columns?: Record<string, string>;
  values?: Record<string, Record<string, string>>;
  defaults?: Record<string, string>;
  delimiter?: string;
}

/** One source row in MeterHub's names; `line` is where an operator finds it (1 = the CSV header). */
export interface SourceRow {
  line: number;
  fields: Record<string, string>;
}

export function parseMapping(text: string, known: readonly string[]): ImportMapping {
  let m: unknown;
  try {
    m = JSON.parse(text);
  } catch (e) {
    throw ImportMappingInvalid({ reason: (e as Error).message }, { zh: '不是合法的 JSON', en: 'not valid JSON' });
  }
  if (!m || typeof m !== 'object' || Array.isArray(m)) throw ImportMappingInvalid({ reason: 'not an object' });
  const o = m as Record<string, unknown>;
  const allowed = ['columns', 'values', 'defaults', 'delimiter'];
  const extra = Object.keys(o).filter((k) => !allowed.includes(k));
  if (extra.length) {
    const list = extra.join(', ');
    throw ImportMappingInvalid({ unknownKeys: extra, allowed }, { zh: `未知项 ${list}`, en: `unknown keys ${list}` });
  }
  for (const part of ['columns', 'defaults'] as const) {
    const p = o[part];
    if (p === undefined) continue;
    if (!isStringMap(p)) {
      throw ImportMappingInvalid({ part }, { zh: `${part} 应为 字段→文本`, en: `${part} must map field → text` });
    }
    const bad = Object.keys(p).filter((k) => !known.includes(k));
    if (bad.length) {
      const list = bad.join(', ');
      const text = { zh: `未知字段 ${list}`, en: `unknown fields ${list}` };
      throw ImportMappingInvalid({ part, unknownFields: bad, known }, text);
    }
  }
  if (o.values !== undefined) {
    const v = o.values;
    if (!v || typeof v !== 'object' || Array.isArray(v) || !Object.values(v).every(isStringMap)) {
      throw ImportMappingInvalid(
        { part: 'values' },
        {
          zh: 'values 应为 字段→{原值→新值}',
          en: 'values must map field → {their code → ours}',
        },
      );
    }
    const bad = Object.keys(v).filter((k) => !known.includes(k));
    if (bad.length) throw ImportMappingInvalid({ part: 'values', unknownFields: bad, known });
  }
  const d = o.delimiter;
  if (d !== undefined && (typeof d !== 'string' || d.length !== 1 || d === '"')) {
    const text = { zh: 'delimiter 应为单个字符', en: 'delimiter must be one character' };
    throw ImportMappingInvalid({ part: 'delimiter' }, text);
  }
  return o as ImportMapping;
}

function isStringMap(x: unknown): x is Record<string, string> {
  return !!x && typeof x === 'object' && !Array.isArray(x) && Object.values(x).every((v) => typeof v === 'string');
}

/** CSV (RFC 4180: quotes, doubled quotes, CRLF, a UTF-8 BOM) or a JSON array of objects, by content. */
export function readSource(text: string, fields: readonly string[], mapping: ImportMapping = {}): SourceRow[] {
  return [...iterateSource(text, fields, mapping)];
}

/**
 * The same rows one at a time. A million rows held at once (each an object of strings) kept the garbage collector
 * busy for most of an import; the importer walks the file twice instead (card numbers first, then chunks).
 */
export function* iterateSource(
  text: string,
  fields: readonly string[],
  mapping: ImportMapping = {},
): Generator<SourceRow> {
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const first = body.trimStart()[0];
  if (first === '[') yield* fromJson(body, fields, mapping);
  else yield* fromCsv(body, fields, mapping);
}

function mapper(fields: readonly string[], mapping: ImportMapping) {
  const cols = fields.map((f) => mapping.columns?.[f] ?? f);
  const values = fields.map((f) => mapping.values?.[f]);
  const defaults = fields.map((f) => mapping.defaults?.[f]);
  return (get: (column: string) => string | undefined): Record<string, string> => {
    const out: Record<string, string> = {};
    for (let i = 0; i < fields.length; i++) {
      let v = get(cols[i]!)?.trim();
      if (v === undefined || v === '') v = defaults[i];
      if (v === undefined || v === '') continue;
      const table = values[i];
      out[fields[i]!] = table && Object.hasOwn(table, v) ? table[v]! : v;
    }
    return out;
  };
}

function fromJson(text: string, fields: readonly string[], mapping: ImportMapping): SourceRow[] {
  let arr: unknown;
  try {
    arr = JSON.parse(text);
  } catch (e) {
    const reason = (e as Error).message;
    throw ImportFileUnreadable({ format: 'json', reason }, { zh: '不是合法的 JSON', en: 'not valid JSON' });
  }
  if (!Array.isArray(arr)) {
    throw ImportFileUnreadable({ format: 'json' }, { zh: '应为对象数组', en: 'expected an array of objects' });
  }
  const map = mapper(fields, mapping);
  return arr.map((item, i) => {
    const o = item && typeof item === 'object' ? (item as Record<string, unknown>) : {};
    return { line: i + 1, fields: map((c) => (o[c] === undefined || o[c] === null ? undefined : String(o[c]))) };
  });
}

function* fromCsv(text: string, fields: readonly string[], mapping: ImportMapping): Generator<SourceRow> {
  const delim = mapping.delimiter ?? ',';
  const records = csvRecords(text, delim);
  const header = records.next();
  if (header.done) throw ImportFileUnreadable({ format: 'csv' }, { zh: '文件为空', en: 'the file is empty' });
  const index = new Map(header.value.r.map((h, i) => [h.trim(), i]));
  const map = mapper(fields, mapping);
  for (const rec of records) {
    if (rec.r.length === 1 && rec.r[0] === '') continue;
    const cell = (c: string) => {
      const i = index.get(c);
      return i === undefined ? undefined : rec.r[i];
    };
    yield { line: rec.line, fields: map(cell) };
  }
}

/** Records with their first line number. Lines without a quote take the fast path (a split). */
function* csvRecords(text: string, delim: string): Generator<{ line: number; r: string[] }> {
  let pos = 0;
  let line = 1;
  while (pos < text.length) {
    let nl = text.indexOf('\n', pos);
    if (nl < 0) nl = text.length;
    const raw = text.slice(pos, nl);
    if (!raw.includes('"')) {
      yield { line, r: (raw.endsWith('\r') ? raw.slice(0, -1) : raw).split(delim) };
      pos = nl + 1;
      line++;
      continue;
    }
    // A quoted field may hold the delimiter, quotes ("") and newlines.
    const startLine = line;
    const rec: string[] = [];
    let field = '';
    let quoted = false;
    let i = pos;
    for (; i < text.length; i++) {
      const ch = text[i]!;
      if (quoted) {
        if (ch === '"') {
          if (text[i + 1] === '"') {
            field += '"';
            i++;
          } else quoted = false;
        } else {
          if (ch === '\n') line++;
          field += ch;
        }
      } else if (ch === '"') quoted = true;
      else if (ch === delim) {
        rec.push(field);
        field = '';
      } else if (ch === '\n') break;
      else if (ch !== '\r') field += ch;
    }
    if (quoted) {
      throw ImportFileUnreadable(
        { format: 'csv', line: startLine },
        {
          zh: `第 ${startLine} 行引号未闭合`,
          en: `unclosed quote at line ${startLine}`,
        },
      );
    }
    rec.push(field);
    yield { line: startLine, r: rec };
    pos = i + 1;
    line++;
  }
}
