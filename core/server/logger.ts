/**
 * The API logger: the shared HTTP logger options (core/http/logger.ts) with the shared redaction.
 * Tokens and card passwords must never reach a log line, whatever a handler logs.
 */
import type { DestinationStream, Logger } from 'pino';
import { createHttpLogger } from '../http/logger.ts';

export { REDACT, REDACT_PATHS, requestSerializers, withRedaction } from '../http/logger.ts';

export function createApiLogger(o: { level?: string; destination?: DestinationStream } = {}): Logger {
  return createHttpLogger({ level: o.level, destination: o.destination });
}
