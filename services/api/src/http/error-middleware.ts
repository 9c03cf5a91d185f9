import type { ErrorRequestHandler, RequestHandler } from 'express';
import type { Envelope } from '@apg/contracts';
import { classifyError, type Logger } from '@apg/platform';
import { HttpError } from './http-error';
import { requestLog } from './request-context';

function send(res: Parameters<RequestHandler>[1], err: HttpError): void {
  const body: Envelope<never> = {
    code: err.status,
    message: err.message,
    errorCode: err.errorCode,
    timestamp: Date.now(),
  };
  if (err.fields?.length) body.errors = err.fields;
  if (err.headers) res.set(err.headers);
  res.status(err.status).json(body);
}

/** body-parser signals its failures through `type`; each maps to a precise 4xx. */
function fromBodyParser(err: { type?: string; status?: number; message?: string }): HttpError | null {
  switch (err.type) {
    case 'entity.parse.failed':
      return new HttpError('MALFORMED_JSON', `malformed JSON body: ${err.message ?? ''}`.trim());
    case 'entity.too.large':
      return new HttpError('PAYLOAD_TOO_LARGE', 'request body too large');
    case 'charset.unsupported':
    case 'encoding.unsupported':
      return new HttpError('UNSUPPORTED_MEDIA_TYPE', err.message ?? 'unsupported encoding');
    case 'request.aborted':
    case 'request.size.invalid':
    case 'stream.encoding.set':
    case 'stream.not.readable':
      return new HttpError('VALIDATION_FAILED', err.message ?? 'unreadable request body');
    default:
      return null;
  }
}

/**
 * Postgres refusing a value that passed the schemas: a NUL character in text or JSON (22021, 22P05)
 * or a value longer than its column (22001). That is the client's input, so a 400, not a 500.
 */
const PG_BAD_INPUT: Record<string, string> = {
  '22021': 'a text value contains a character that cannot be stored (NUL)',
  '22P05': 'a JSON value contains a character that cannot be stored (\\u0000)',
  '22001': 'a value is longer than its field allows',
};

function fromPostgres(err: { code?: unknown }): HttpError | null {
  const message = typeof err.code === 'string' ? PG_BAD_INPUT[err.code] : undefined;
  return message ? new HttpError('VALIDATION_FAILED', message) : null;
}

/** The one place errors become responses: HTTP status = envelope code, plus a stable errorCode. */
export function errorMiddleware(log: Logger): ErrorRequestHandler {
  return (err: unknown, req, res, _next) => {
    if (res.headersSent) return;
    if (err instanceof HttpError) return send(res, err);
    const parsed = fromBodyParser(err as { type?: string });
    if (parsed) return send(res, parsed);
    const rejected = fromPostgres(err as { code?: unknown });
    if (rejected) return send(res, rejected);
    const status = (err as { status?: number }).status;
    if (typeof status === 'number' && status >= 400 && status < 500) {
      return send(res, new HttpError('VALIDATION_FAILED', (err as Error).message));
    }
    // A dependency that cannot answer (refused, reset, timed out, the Postgres circuit open): the request
    // may succeed later, so 503 with an errorCode a client can act on, never a 500.
    if (classifyError(err) === 'infrastructure') {
      requestLog(res, log).warn({ err: err instanceof Error ? err.message : String(err), method: req.method, path: req.path }, 'dependency unavailable');
      return send(res, new HttpError('DEPENDENCY_UNAVAILABLE', 'a dependency of the gateway is unavailable; retry later'));
    }
    requestLog(res, log).error({ err, method: req.method, path: req.path }, 'unhandled error');
    send(res, new HttpError('INTERNAL_ERROR', 'internal error'));
  };
}

export const notFoundHandler: RequestHandler = (req, res) => {
  send(res, new HttpError('NOT_FOUND', `no route for ${req.method} ${req.path}`));
};
