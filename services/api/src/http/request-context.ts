import { randomUUID } from 'node:crypto';
import type { RequestHandler, Response } from 'express';
import { acceptRequestId, REQUEST_ID_HTTP_HEADER } from '@apg/contracts';
import type { Logger } from '@apg/platform';
import type { ApiMetrics } from '../metrics/api-metrics';
import { reportOutcomeOf } from '../metrics/outcomes';
import type { RouteTemplates } from '../metrics/route-template';

/** The route whose answers are counted in `apg_report_total`. */
export const REPORT_ROUTE = '/api/gateway/report-result';

interface Context {
  requestId: string;
  base: Logger;
  log: Logger | null;
}

/**
 * First middleware of the api: gives the request its id (the client's `x-request-id` when it is a safe,
 * bounded token, else a new UUID), returns it in the `x-request-id` response header, and on the response
 * records `apg_http_request_duration_seconds` under the route template and, for reports, `apg_report_total`
 * by the status they got. Runs before everything else so that requests refused early (malformed JSON,
 * 401, 405, 404) are measured and carry their id too.
 */
export function requestContext(deps: { log: Logger; metrics: ApiMetrics; routes: RouteTemplates }): RequestHandler {
  return (req, res, next) => {
    const started = performance.now();
    const requestId = acceptRequestId(req.headers[REQUEST_ID_HTTP_HEADER]) ?? randomUUID();
    res.setHeader(REQUEST_ID_HTTP_HEADER, requestId);
    res.locals['apgContext'] = { requestId, base: deps.log, log: null } satisfies Context;
    const path = req.path;
    const method = req.method;
    res.once('finish', () => {
      const route = deps.routes.match(path);
      deps.metrics.observeHttp(method, route, res.statusCode, (performance.now() - started) / 1000);
      if (route === REPORT_ROUTE && method === 'POST') deps.metrics.reported(reportOutcomeOf(res.statusCode));
    });
    next();
  };
}

function contextOf(res: Response): Context | undefined {
  return res.locals['apgContext'] as Context | undefined;
}

/** The request's id (set by requestContext). */
export function requestIdOf(res: Response): string | undefined {
  return contextOf(res)?.requestId;
}

/**
 * The request's logger: a pino child carrying `requestId`, made on first use (most requests log nothing,
 * and a child costs a serialisation of its bindings). `fallback` serves responses outside requestContext.
 */
export function requestLog(res: Response, fallback: Logger): Logger {
  const ctx = contextOf(res);
  if (!ctx) return fallback;
  ctx.log ??= ctx.base.child({ requestId: ctx.requestId });
  return ctx.log;
}
