/**
 * Every error a user can see carries a stable code and a message in Chinese (for operators) and English.
 * Codes are stable API: clients switch on them, never on the text.
 */
export interface ErrorSpec {
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

/** Declares an error kind once; domains keep their own tables (core/driver/errors.ts, …). */
export function defineError(code: string, status: number, zh: string, en: string) {
  const spec: ErrorSpec = { code, status, zh, en };
  const make = (details?: Record<string, unknown>, detailText?: { zh?: string; en?: string }) =>
    new MeterHubError(spec, details, detailText);
  return Object.assign(make, { spec, is: (e: unknown): e is MeterHubError => e instanceof MeterHubError && e.code === code });
}

export function isMeterHubError(e: unknown): e is MeterHubError {
  return e instanceof MeterHubError;
}
