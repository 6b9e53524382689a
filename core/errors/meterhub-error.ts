/**
 * Every error a user can see carries a stable code and a message in Chinese (for operators) and English.
 * Codes are stable API: clients switch on them, never on the text.
 *
 * The table that declares a kind (defineError) is the only place that says how it travels: its HTTP status, whether
 * a retry can help (then the answer carries Retry-After), and whether the failure is a dependency's, not ours.
 * Nothing infers those from the code's spelling; code that needs to know a kind asks `Kind.is(e)`.
 */

/** A retry can help: the answer carries Retry-After, from details.retryAfterSeconds when the raiser knows better. */
export interface RetryPolicy {
  /** Retry-After (seconds) when the error's details do not say; the header is never below 1. */
  afterSeconds: number;
}

/** What a table may declare beside status and texts. */
export interface ErrorTraits {
  /** Absent: retrying the same call will fail the same way (a refusal, a bug, a library that answers garbage). */
  retry?: RetryPolicy | undefined;
  /**
   * The failure is a dependency's (a maker library that crashed, hung or answered garbage), not a server bug: the
   * HTTP layer logs the refused request at info, and keeps the error log (with stacks) for our own faults.
   */
  upstream?: boolean | undefined;
}

export interface ErrorSpec extends ErrorTraits {
  code: string;
  status: number;
  zh: string;
  en: string;
}

export class MeterHubError extends Error {
  readonly code: string;
  readonly status: number;
  readonly zh: string;
  readonly en: string;
  readonly details: Record<string, unknown> | undefined;
  readonly retry: RetryPolicy | undefined;
  readonly upstream: boolean;

  constructor(spec: ErrorSpec, details?: Record<string, unknown>, detailText?: { zh?: string; en?: string }) {
    const zh = detailText?.zh ? `${spec.zh}：${detailText.zh}` : spec.zh;
    const en = detailText?.en ? `${spec.en}: ${detailText.en}` : spec.en;
    super(`[${spec.code}] ${zh} / ${en}`);
    this.name = 'MeterHubError';
    this.code = spec.code;
    this.status = spec.status;
    this.zh = zh;
    this.en = en;
    this.details = details;
    this.retry = spec.retry;
    this.upstream = spec.upstream ?? false;
  }

  /** Whether a retry of the same call can succeed (declared in the error's table). */
  get retryable(): boolean {
    return this.retry !== undefined;
  }

  toJSON(): { code: string; message: string; messageZh: string; messageEn: string; details?: Record<string, unknown> } {
    return {
      code: this.code,
      message: `${this.zh} / ${this.en}`,
      messageZh: this.zh,
      messageEn: this.en,
      ...(this.details ? { details: this.details } : {}),
    };
  }
}

/**
 * Declares an error kind once; domains keep their own tables (core/driver/driver-errors.ts, …).
 * `is(e)` narrows to this kind (its literal code), so a failed test leaves e a MeterHubError of another kind.
 */
export function defineError<const C extends string>(
  code: C,
  status: number,
  zh: string,
  en: string,
  traits: ErrorTraits = {},
) {
  const spec: ErrorSpec = Object.freeze({ code, status, zh, en, ...traits });
  const make = (details?: Record<string, unknown>, detailText?: { zh?: string; en?: string }) =>
    new MeterHubError(spec, details, detailText);
  const is = (e: unknown): e is MeterHubError & { readonly code: C } => e instanceof MeterHubError && e.code === code;
  return Object.assign(make, { spec, is });
}

/** What defineError returns: a maker of the error, its spec, and `is(e)`. */
export type ErrorKind = ReturnType<typeof defineError<string>>;

export function isMeterHubError(e: unknown): e is MeterHubError {
  return e instanceof MeterHubError;
}
