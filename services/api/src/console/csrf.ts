import type { Request } from 'express';
import { HttpError } from '../http/http-error';

/** The header every state-changing console request carries; a cross-site form or `fetch` cannot set it without CORS. */
export const CSRF_HEADER = 'x-apg-console';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Cross-site request refusal for cookie-authenticated requests. The cookie is SameSite=Strict already;
 * as a second line, a state-changing request must carry `X-APG-Console: 1` (a custom header forces a
 * CORS preflight, which the api grants only to CORS_ORIGINS, and never for this header), and its Origin,
 * when the browser sends one, must be this api's own origin (the Host it was sent to).
 */
export function assertSameSite(req: Request): void {
  if (SAFE_METHODS.has(req.method)) return;
  if (req.headers[CSRF_HEADER] !== '1') {
    throw new HttpError('FORBIDDEN', `cross-site request refused: a console request must carry the ${CSRF_HEADER} header`);
  }
  assertSameOrigin(req);
}

/**
 * The Origin check alone, for login and logout: they need no session to forge (login takes the credential
 * itself, logout only ends a session), so they are usable from curl without the console's header; a browser
 * on another site is still refused.
 */
export function assertSameOrigin(req: Request): void {
  const origin = req.headers.origin;
  if (origin === undefined) return;
  let host: string;
  try {
    host = new URL(origin).host;
  } catch {
    throw new HttpError('FORBIDDEN', 'cross-site request refused: malformed Origin');
  }
  if (host !== req.headers.host) throw new HttpError('FORBIDDEN', 'cross-site request refused: Origin is not this console');
}
