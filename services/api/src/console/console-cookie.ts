import type { Request, Response } from 'express';

/** The console's session cookie (HttpOnly, SameSite=Strict, Path=/ so `/api/**` receives it). */
export const SESSION_COOKIE = 'apg_console';

export interface CookieOptions {
  /** Add `Secure` (the api is served over https, directly or behind a proxy). */
  secure: boolean;
}

/**
 * The value of one cookie from the Cookie header, or undefined. Hand-written (a split per `;`, no regex):
 * the header is bounded by Node's header limit, and only one name is looked for.
 */
export function readCookie(req: Request, name: string): string | undefined {
  const header = req.headers.cookie;
  if (typeof header !== 'string') return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

export function setSessionCookie(res: Response, id: string, maxAgeMs: number, opts: CookieOptions): void {
  const parts = [`${SESSION_COOKIE}=${id}`, 'Path=/', `Max-Age=${Math.floor(maxAgeMs / 1000)}`, 'HttpOnly', 'SameSite=Strict'];
  if (opts.secure) parts.push('Secure');
  res.append('Set-Cookie', parts.join('; '));
}

export function clearSessionCookie(res: Response, opts: CookieOptions): void {
  const parts = [`${SESSION_COOKIE}=`, 'Path=/', 'Max-Age=0', 'HttpOnly', 'SameSite=Strict'];
  if (opts.secure) parts.push('Secure');
  res.append('Set-Cookie', parts.join('; '));
}
