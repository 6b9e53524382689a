/**
 * The console's API client. The ops token lives in sessionStorage (this tab only, gone when it closes) and
 * goes out as a Bearer header; every call is to this origin's /v1 routes, which audit it server-side.
 */
import type { MeterStats, SinkStats } from '../../core/wire/ops.ts';
import type { Lang } from './i18n.ts';

const TOKEN_KEY = 'meterhub.console.token';

export function getToken(): string | null {
  try {
    return sessionStorage.getItem(TOKEN_KEY);
  } catch {
    return null;
  }
}

export function setToken(token: string | null): void {
  try {
    if (token) sessionStorage.setItem(TOKEN_KEY, token);
    else sessionStorage.removeItem(TOKEN_KEY);
  } catch {
    /* storage disabled: the session lasts as long as the page */
  }
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly zh: string,
    readonly en: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(`[${code}] ${en}`);
  }

  text(lang: Lang): string {
    return `${lang === 'zh' ? this.zh : this.en} (${this.code})`;
  }
}

/** Called on a 401 so the app can return to the sign-in page. */
let onUnauthorized: (() => void) | null = null;
export function setUnauthorizedHandler(f: (() => void) | null): void {
  onUnauthorized = f;
}

/**
 * A fresh idempotency key per operator action: a network retry of the same click cannot act twice.
 * crypto.randomUUID needs a secure context, and the console is often opened over plain HTTP on an intranet.
 */
export function newIdempotencyKey(): string {
  const b = new Uint8Array(16);
  crypto.getRandomValues(b);
  return `console-${Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('')}`;
}

export async function api<T>(
  method: 'GET' | 'POST',
  path: string,
  o: { body?: unknown; idempotent?: boolean; token?: string } = {},
): Promise<T> {
  const token = o.token ?? getToken();
  const headers: Record<string, string> = { accept: 'application/json', 'x-meterhub-channel': 'ops-console' };
  if (token) headers.authorization = `Bearer ${token}`;
  if (o.idempotent) headers['idempotency-key'] = newIdempotencyKey();
  let body: string | undefined;
  if (o.body !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(o.body);
  }
  let res: Response;
  try {
    res = await fetch(path, { method, headers, body, cache: 'no-store', credentials: 'omit' });
  } catch (e) {
    throw new ApiError(0, 'NETWORK', '无法连接服务器', `Cannot reach the server: ${(e as Error).message}`);
  }
  const text = await res.text();
  let json: any = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    /* not JSON */
  }
  if (!res.ok) {
    const err = json?.error;
    const e = new ApiError(
      res.status,
      err?.code ?? `HTTP_${res.status}`,
      err?.messageZh ?? err?.message ?? `HTTP ${res.status}`,
      err?.messageEn ?? err?.message ?? `HTTP ${res.status}`,
      err?.details,
    );
    if (res.status === 401 && !o.token) onUnauthorized?.();
    throw e;
  }
  return json as T;
}

// ---- shapes of the API answers the console reads (see core/server/console/routes.ts and the domain routes)

export interface LocalizedName {
  'zh-CN': string;
  en: string;
}

export interface PluginInfo {
  id: string;
  name: LocalizedName;
  cardTypes: string[];
  /** invalid: its meterhub-plugin.json could not be loaded (see error); it is never served. */
  state?: 'enabled' | 'disabled' | 'invalid';
  error?: { code: string; message: string; messageZh: string; messageEn: string };
  enabled: boolean;
  standIn: boolean;
  library: string;
  libraryFound: boolean;
  libraryPath?: string;
  driver?: {
    state: string;
    restarts: number;
    calls: number;
    pid?: number;
    queued?: number;
    backoffMs?: number;
    lastError?: { code: string; message: string; at: string };
  };
}

export interface ConformanceCheck {
  id: string;
  group: 'core' | 'extension';
  cardType?: string;
  zh: string;
  en: string;
  status: 'pass' | 'fail' | 'missing';
  finding?: string;
  detail?: string;
}

export interface ConformanceResult {
  plugin: string;
  library: string;
  standIn: boolean;
  startedAt: string;
  finishedAt: string;
  durationMs: number;
  report: {
    library: string;
    cardTypes: string[];
    functions: string[];
    missing: string[];
    checks: ConformanceCheck[];
    coreConformant: boolean;
    extensionsComplete: boolean;
    passed: boolean;
    driverRestarts: number;
  };
}

// Transactions and gateway stats: the server's own types (core/wire/ops.ts), so a field the server renames
// breaks this build instead of showing blanks.
export type { FeedConsumer, MeterStats, NextStep, OpsTx, SinkStats } from '../../core/wire/ops.ts';
// The quarantine page (待认领读数) reads the server's own wire types (core/wire/quarantine.ts).
export type {
  QuarantineAssignAddressResult,
  QuarantineAssignResult,
  QuarantinedReading,
  QuarantineGroup,
} from '../../core/wire/quarantine.ts';

export interface GatewayView {
  inProcess: boolean;
  message?: LocalizedName | { zh: string; en: string };
  gatewayId?: string;
  profile?: string;
  buses?: Array<{
    path: string;
    baudRate: number;
    open: boolean;
    collectors: number;
    counters: Record<string, number>;
    meters: MeterStats[];
  }>;
  mqtt?: {
    url: string;
    connected: boolean;
    counters: Record<string, number> | null;
    outboundBacklog: number;
    devices: number;
  } | null;
  sinks: SinkStats[];
  pipeline: { submitted: number; inserted: number; duplicates: number; rejected: number };
  recentErrors?: string[];
}

export interface DeadLetter {
  id: number;
  readingId: string;
  sink: string;
  attempts: number;
  createdAt: number;
  lastError: string | null;
  deadAt: number | null;
  meterId: string | null;
  meterTime: string | null;
}

export interface MeterSummary {
  meterId: string;
  maker: string;
  readings: number;
  lastReceivedAt: string;
}

export interface MeterPoint {
  id: string;
  meterTime: string | null;
  receivedAt: string;
  cumulative: string | null;
  settlement: string | null;
  source: string;
  valve: string | null;
  lowBattery: boolean;
}
