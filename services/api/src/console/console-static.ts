import fs from 'node:fs';
import path from 'node:path';
import express, { Router, type RequestHandler } from 'express';
import { HttpError } from '../http/http-error';

/**
 * The console's Content-Security-Policy: everything from this origin only, no inline script or style
 * (the build emits none: Vite's module-preload polyfill is off, styles are files), no plugins, no
 * framing, no <base> rewriting, forms post only here.
 */
export const CONSOLE_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/** Where `npm run build` puts the console (services/console/dist), seen from this compiled file. */
export function defaultConsoleDir(): string {
  return path.resolve(__dirname, '../../../console/dist');
}

const csp: RequestHandler = (_req, res, next) => {
  res.set('Content-Security-Policy', CONSOLE_CSP);
  next();
};

/**
 * `/console`: the built single-page app. The bundle holds no data (everything comes from `/api/**` after
 * login), so it is served to anyone: before login it can only show the login form. Content-hashed files
 * under `assets/` are cached for a year; index.html never (a deploy must be seen at once).
 */
export function consoleStatic(dir: string): Router {
  const router = Router();
  router.use(csp);
  if (!fs.existsSync(path.join(dir, 'index.html'))) {
    router.use((_req, _res, next) => next(new HttpError('NOT_FOUND', 'the admin console is not built: run `npm run build`')));
    return router;
  }
  router.use(express.static(dir, {
    index: 'index.html',
    dotfiles: 'ignore',
    fallthrough: true,
    setHeaders(res, file) {
      const immutable = path.relative(dir, file).startsWith(`assets${path.sep}`);
      res.setHeader('Cache-Control', immutable ? 'public, max-age=31536000, immutable' : 'no-store');
    },
  }));
  return router;
}
