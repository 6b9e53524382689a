/**
 * Go-live card import: N rows (default 1,000,000) of an old system's CSV through `importCards` (parse, mapping,
 * per-row checks, row checksums, the ledger rows with their origin, the batch) into a fresh PostgreSQL database,
 * against a bare `COPY … FROM STDIN CSV` of the very same file into an empty, unindexed table in the same run
 * (psql's \copy: the floor of getting these bytes into PostgreSQL). Ratio = COPY time / import time (target ≥ 0.3).
 * The same rows are also imported on SQLite (file, synchronous=FULL) for the figure. A re-run of the same file
 * (every row unchanged) is timed too: that is what an operator waits for when repeating an import.
 *   npx tsx bench/card-import.ts [rows]
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { importCards } from '../core/golive/card-import.ts';
import { openTestDatabase } from '../core/ledger/testing/databases.ts';
import { createPluginHost } from '../core/plugins/plugin-host.ts';

const N = Math.max(1000, Number(process.argv[2] ?? 1_000_000));
const ROOT = join(import.meta.dirname, '..');
const actor = { name: 'bench', role: 'ops', channel: 'cli' };
const dir = mkdtempSync(join(tmpdir(), 'mh-bench-import-'));

function csv(n: number): string {
  const makers = [
    ['kingcard', '4442'],
    ['chint', '4442'],
    ['lanbaoshi', '4442'],
    ['zenner', '102'],
    ['songchuan', '102'],
  ] as const;
  const states = ['active', 'active', 'active', 'active', 'active', 'active', 'active', 'active', 'lost', 'retired'];
  const lines = ['maker,cardType,cardNo,userNo,meterNo,meterKind,count,lastSaleAt,lastSaleGas,state'];
  for (let i = 0; i < n; i++) {
    const [m, t] = makers[i % makers.length]!;
    const day = String(1 + (i % 28)).padStart(2, '0');
    lines.push(
      `${m},${t},${String(10_000_000 + i)},U${i},M${i},${1 + (i % 2)},${1 + (i % 300)},2026-10-${day} 09:30:00,${i % 50},${states[i % 10]}`,
    );
  }
  return lines.join('\n') + '\n';
}

const text = csv(N);
const file = join(dir, 'old.csv');
writeFileSync(file, text);
const host = await createPluginHost({
  bundledDir: join(ROOT, 'plugins'),
  pluginPaths: [],
  ignoreEnv: true,
  dataDir: dir,
});

async function bareCopy(): Promise<number> {
  const t = await openTestDatabase('postgres', { migrate: false });
  try {
    const psql = (c: string) =>
      execFileSync('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', t.url, '-c', c], {
        stdio: ['ignore', 'ignore', 'inherit'],
      });
    psql(
      'create table bare (maker text, card_type text, card_no text, user_no text, meter_no text, meter_kind int, count int, last_sale_at text, last_sale_gas int, state text)',
    );
    const t0 = performance.now();
    psql(`\\copy bare from '${file}' with (format csv, header true)`);
    return (performance.now() - t0) / 1000;
  } finally {
    await t.cleanup();
  }
}

async function imported(kind: 'postgres' | 'sqlite') {
  const t = await openTestDatabase(kind);
  try {
    const t0 = performance.now();
    const r = await importCards({ database: t.database, host, actor, text, fileName: 'old.csv' });
    const first = (performance.now() - t0) / 1000;
    if (r.inserted !== N) throw new Error(`${kind}: inserted ${r.inserted} of ${N} (${JSON.stringify(r.byCode)})`);
    const t1 = performance.now();
    const again = await importCards({ database: t.database, host, actor, text, fileName: 'old.csv' });
    const rerun = (performance.now() - t1) / 1000;
    if (again.unchanged !== N) throw new Error(`${kind}: re-run unchanged ${again.unchanged} of ${N}`);
    return { seconds: +first.toFixed(3), rowsPerSecond: Math.round(N / first), rerunSeconds: +rerun.toFixed(3) };
  } finally {
    await t.cleanup();
  }
}

try {
  const copy1 = await bareCopy();
  const postgres = await imported('postgres');
  const copy2 = await bareCopy();
  const sqlite = await imported('sqlite');
  // The better of two COPY runs around the import: the baseline is the floor, not an unlucky moment.
  const copy = Math.min(copy1, copy2);
  const result = {
    rows: N,
    bytes: Buffer.byteLength(text),
    copy: {
      seconds: +copy.toFixed(3),
      rowsPerSecond: Math.round(N / copy),
      runs: [+copy1.toFixed(3), +copy2.toFixed(3)],
    },
    postgres,
    sqlite,
    ratio: +(copy / postgres.seconds).toFixed(3),
    target: 0.3,
  };
  console.log(JSON.stringify(result, null, 2));
  if (process.env.METERHUB_BENCH_OUT)
    writeFileSync(process.env.METERHUB_BENCH_OUT, JSON.stringify(result, null, 2) + '\n');
} finally {
  await host.close();
  rmSync(dir, { recursive: true, force: true });
}
