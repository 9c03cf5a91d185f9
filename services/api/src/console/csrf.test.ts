import { expect } from 'chai';
import type { Request } from 'express';
import { HttpError } from '../http/http-error';
import { readCookie } from './console-cookie';
import { assertSameOrigin, assertSameSite } from './csrf';

const req = (method: string, headers: Record<string, string>) => ({ method, headers: { host: 'gw.example:8081', ...headers } }) as unknown as Request;
const refused = (fn: () => void) => {
  try {
    fn();
  } catch (err) {
    expect(err).to.be.instanceOf(HttpError);
    return (err as HttpError).errorCode;
  }
  return null;
};

describe('console: same-site checks and the cookie reader', () => {
  it('lets reads through and asks writes for the console header and the own Origin', () => {
    expect(refused(() => assertSameSite(req('GET', {})))).to.equal(null);
    expect(refused(() => assertSameSite(req('POST', {})))).to.equal('FORBIDDEN');
    expect(refused(() => assertSameSite(req('PUT', { 'x-apg-console': 'yes' })))).to.equal('FORBIDDEN');
    expect(refused(() => assertSameSite(req('DELETE', { 'x-apg-console': '1' })))).to.equal(null);
    expect(refused(() => assertSameSite(req('POST', { 'x-apg-console': '1', origin: 'http://gw.example:8081' })))).to.equal(null);
    expect(refused(() => assertSameSite(req('POST', { 'x-apg-console': '1', origin: 'http://evil.example' })))).to.equal('FORBIDDEN');
    // Same host name, another port, is another origin.
    expect(refused(() => assertSameSite(req('POST', { 'x-apg-console': '1', origin: 'http://gw.example:9999' })))).to.equal('FORBIDDEN');
    expect(refused(() => assertSameSite(req('POST', { 'x-apg-console': '1', origin: 'null' })))).to.equal('FORBIDDEN');
  });

  it('checks only the Origin for login and logout', () => {
    expect(refused(() => assertSameOrigin(req('POST', {})))).to.equal(null);
    expect(refused(() => assertSameOrigin(req('POST', { origin: 'https://evil.example' })))).to.equal('FORBIDDEN');
  });

  it('reads one cookie among many, and nothing from a missing or odd header', () => {
    const r = (cookie?: string) => ({ headers: cookie === undefined ? {} : { cookie } }) as unknown as Request;
    expect(readCookie(r('a=1; apg_console=abc; b=2'), 'apg_console')).to.equal('abc');
    expect(readCookie(r('xapg_console=abc'), 'apg_console')).to.equal(undefined);
    expect(readCookie(r(';;=;apg_console'), 'apg_console')).to.equal(undefined);
    expect(readCookie(r(), 'apg_console')).to.equal(undefined);
  });
});
