/**
 * Messages between the server's main thread and its ledger thread. Calls and replies travel in batches, one
 * message per event-loop turn each way, so a crowd of sales wakes the other side once, not once per sale.
 * Errors cross as data and are rebuilt on arrival: a MeterHubError keeps its code, status, texts and details
 * (clients switch on the code); any other error keeps its name, message and `code` (SQLITE_BUSY, …).
 */
import { MeterHubError, isMeterHubError, type ErrorTraits } from '../../errors/meterhub-error.ts';
import type { VaultForThread } from '../key-vault.ts';

/** The ledger writes that run on the thread: LedgerStore's commit methods, by name. */
export const LEDGER_WRITES = [
  'commitPurchase',
  'commitRefund',
  'commitIssue',
  'commitReissue',
  'commitFormat',
  'commitTool',
  'rewrite',
  'reverse',
  'cancelReissue',
  'confirm',
] as const;
export type LedgerWrite = (typeof LEDGER_WRITES)[number];

/** Everything the thread does: a ledger write, an audit append, or waiting until every unit has settled. */
export type ThreadOp = LedgerWrite | 'audit' | 'idle';

export interface ThreadInit {
  /** The SQLite file (the thread opens its own connection to it). */
  file: string;
  vault: VaultForThread;
}

export interface Call {
  id: number;
  op: ThreadOp;
  args: unknown[];
}

export type Reply = { id: number; ok: true; value: unknown } | { id: number; ok: false; error: WireError };

export type ToThread = { calls: Call[] } | { close: true };
export type FromThread = { ready: true } | { replies: Reply[] } | { closed: true };

export type WireError =
  | {
      kind: 'meterhub';
      code: string;
      status: number;
      zh: string;
      en: string;
      details?: Record<string, unknown> | undefined;
      traits: ErrorTraits;
    }
  | { kind: 'error'; name: string; message: string; code?: string | undefined };

export function toWire(e: unknown): WireError {
  // The table's traits travel too: the thread's error must answer over HTTP as the table says.
  if (isMeterHubError(e))
    return {
      kind: 'meterhub',
      code: e.code,
      status: e.status,
      zh: e.zh,
      en: e.en,
      details: e.details,
      traits: { retry: e.retry, upstream: e.upstream },
    };
  const err = e instanceof Error ? e : new Error(String(e));
  const code = (err as { code?: unknown }).code;
  return { kind: 'error', name: err.name, message: err.message, ...(typeof code === 'string' ? { code } : {}) };
}

export function fromWire(w: WireError): Error {
  if (w.kind === 'meterhub')
    return new MeterHubError({ code: w.code, status: w.status, zh: w.zh, en: w.en, ...w.traits }, w.details);
  const e = new Error(w.message) as Error & { code?: string };
  e.name = w.name;
  if (w.code !== undefined) e.code = w.code;
  return e;
}
