import pino from 'pino';

export type Logger = pino.Logger;

/** Paths that may hold a credential; pino replaces them before anything is written. */
const REDACT = [
  'apiKey',
  'apiKeyValue',
  '*.apiKey',
  '*.apiKeyValue',
  'req.headers["api-key"]',
  'req.headers.authorization',
  'headers["api-key"]',
  'headers.authorization',
];

/** Structured JSON logs to stdout, one logger per service, children per component. */
export function createLogger(service: string, level: string): Logger {
  return pino({ name: service, level, redact: { paths: REDACT, censor: '[redacted]' }, base: { service } });
}
