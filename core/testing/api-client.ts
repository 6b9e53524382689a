/**
 * A small HTTP client for the card API as tests and tools call it: Bearer token (a default one unless the
 * call says otherwise, `null` for none), Idempotency-Key, JSON body; the answer parsed as JSON when it is
 * JSON and kept as text as well (HTML of /docs, Prometheus text of /metrics).
 */
export interface CallOptions {
  /** Overrides the default token; null sends no Authorization header. */
  token?: string | null;
  body?: unknown;
  idem?: string;
  headers?: Record<string, string>;
}

export interface CallResult<T = any> {
  status: number;
  headers: Headers;
  body: T;
  text: string;
}

export type ApiCall = <T = any>(method: string, path: string, o?: CallOptions) => Promise<CallResult<T>>;

export function apiClient(baseUrl: string, defaultToken: () => string | undefined): ApiCall {
  return async (method, path, c = {}) => {
    const headers: Record<string, string> = { ...(c.headers ?? {}) };
    const token = c.token === undefined ? defaultToken() : c.token;
    if (token) headers.authorization = `Bearer ${token}`;
    if (c.idem) headers['idempotency-key'] = c.idem;
    let body: string | undefined;
    if (c.body !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(c.body);
    }
    const res = await fetch(baseUrl + path, { method, headers, ...(body !== undefined ? { body } : {}) });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      /* not JSON: keep the text */
    }
    return { status: res.status, headers: res.headers, body: parsed as any, text };
  };
}
