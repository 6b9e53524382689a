/**
 * Logger options shared by both programs. Tokens and card passwords must never reach a log line, whatever a
 * handler logs: pino redaction censors the Authorization header and every oldKey/newKey/token field (to two
 * levels deep). Request headers are logged (minus those) because the channel and user agent help at the counter.
 * A program adds its own secrets' paths (the station: PSCs, the supervisor token) with `redaction(extra)`.
 */
import pino, { type DestinationStream, type Logger, type LoggerOptions } from 'pino';

export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["proxy-authorization"]',
  'res.headers["set-cookie"]',
  'authorization',
  '*.authorization',
  'token',
  '*.token',
  '*.*.token',
  'oldKey',
  'newKey',
  '*.oldKey',
  '*.newKey',
  '*.*.oldKey',
  '*.*.newKey',
  'password',
  '*.password',
];

export interface Redaction {
  paths: string[];
  censor: string;
}

/** The shared paths plus a program's own. */
export function redaction(extraPaths: readonly string[] = []): Redaction {
  return { paths: [...REDACT_PATHS, ...extraPaths], censor: '[REDACTED]' };
}

export const REDACT: Redaction = redaction();

export const requestSerializers = {
  req(req: {
    id?: unknown;
    method?: string;
    url?: string;
    headers?: Record<string, unknown>;
    socket?: { remoteAddress?: string };
  }) {
    return {
      id: req.id,
      method: req.method,
      url: req.url,
      headers: { ...req.headers },
      remoteAddress: req.socket?.remoteAddress,
    };
  },
};

export interface HttpLoggerOptions {
  level?: string | undefined;
  destination?: DestinationStream | undefined;
  redact?: Redaction | undefined;
  /** Fields on every line (the station says role: 'station'). */
  base?: Record<string, unknown> | undefined;
}

export function createHttpLogger(o: HttpLoggerOptions = {}): Logger {
  const opts: LoggerOptions = {
    level: o.level ?? 'info',
    redact: o.redact ?? REDACT,
    serializers: requestSerializers,
    ...(o.base ? { base: o.base } : {}),
  };
  return o.destination ? pino(opts, o.destination) : pino(opts);
}

/** A caller-supplied logger gets the same redaction (and request serializer) through a child. */
export function withRedaction(logger: Logger, redact: Redaction = REDACT): Logger {
  return logger.child({}, { redact, serializers: requestSerializers });
}
