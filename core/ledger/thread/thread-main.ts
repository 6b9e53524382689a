/**
 * The ledger thread: the one place on SQLite where ledger and audit units run and commit. It owns its own
 * connection and the database's commit queue for it, so a sale and the audit rows of the calls around it
 * still share one COMMIT and one fsync, while the server's main thread goes on parsing, checking and
 * answering. Reads stay on the main thread's connection (WAL lets them run beside this writer).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { AuditLog, type AuditEntry } from '../../audit/audit-log.ts';
import { commitQueue } from '../../db/commit-queue.ts';
import { openDatabase } from '../../db/database.ts';
import { KeyVault } from '../key-vault.ts';
import { LedgerStore } from '../ledger-store.ts';
import {
  LEDGER_WRITES,
  toWire,
  type Call,
  type Reply,
  type ThreadInit,
  type ToThread,
  type FromThread,
} from './wire.ts';

const port = parentPort!;
const init = workerData as ThreadInit;
const database = openDatabase({ url: init.file });
const store = new LedgerStore(database, KeyVault.fromThread(init.vault));
const audit = new AuditLog(database);
const commits = commitQueue(database);
const writes = new Set<string>(LEDGER_WRITES);

let replies: Reply[] = [];
let flushing = false;
const post = (m: FromThread) => port.postMessage(m);

function flushReplies(): void {
  flushing = false;
  if (!replies.length) return;
  const out = replies;
  replies = [];
  post({ replies: out });
}

function reply(r: Reply): void {
  replies.push(r);
  if (flushing) return;
  flushing = true;
  // Units of one batch settle in one turn: their replies leave in one message.
  setImmediate(flushReplies);
}

function run(c: Call): Promise<unknown> {
  if (c.op === 'audit') return audit.append(c.args[0] as AuditEntry);
  if (c.op === 'idle') return commits.idle();
  if (writes.has(c.op))
    return (store[c.op as (typeof LEDGER_WRITES)[number]] as (...a: unknown[]) => Promise<unknown>).apply(
      store,
      c.args,
    );
  return Promise.reject(new Error(`unknown ledger thread operation ${String(c.op)}`));
}

port.on('message', (m: ToThread) => {
  if ('close' in m) {
    void (async () => {
      try {
        await commits.idle();
        // The last units' answers are chained behind their commit: one more turn, then out they go.
        await new Promise((r) => setImmediate(r));
        flushReplies();
        await database.close();
      } finally {
        post({ closed: true });
        port.close();
      }
    })();
    return;
  }
  for (const c of m.calls) {
    run(c).then(
      (value) => reply({ id: c.id, ok: true, value }),
      (e: unknown) => reply({ id: c.id, ok: false, error: toWire(e) }),
    );
  }
});

post({ ready: true });
