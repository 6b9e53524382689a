/**
 * The API logger. Tokens and card passwords must never reach a log line, whatever a handler logs:
 * pino redaction censors the Authorization header and every oldKey/newKey/token field (to two levels deep).
 * Request headers are logged (minus those) because the channel and user agent help at the counter.
 */
import pino, { type DestinationStream, type Logger, type LoggerOptions } from 'pino';

export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["proxy-authorization"]',
  'res.headers["set-cookie"]',
  'authorization', '*.authorization',
  'token', '*.token', '*.*.token',
  'oldKey', 'newKey', '*.oldKey', '*.newKey', '*.*.oldKey', '*.*.newKey',
  'password', '*.password',
];

export const REDACT = { paths: REDACT_PATHS, censor: '[REDACTED]' };

export const requestSerializers = {
  req(req: { id?: unknown; method?: string; url?: string; headers?: Record<string, unknown>; socket?: { remoteAddress?: string } }) {
    return { id: req.id, method: req.method, url: req.url, headers: { ...req.headers }, remoteAddress: req.socket?.remoteAddress };
  },
};

export function createApiLogger(o: { level?: string; destination?: DestinationStream } = {}): Logger {
  const opts: LoggerOptions = { level: o.level ?? 'info', redact: REDACT, serializers: requestSerializers };
  return o.destination ? pino(opts, o.destination) : pino(opts);
}

/** A caller-supplied logger gets the same redaction through a child. */
export function withRedaction(logger: Logger): Logger {
  return logger.child({}, { redact: REDACT, serializers: requestSerializers });
}
