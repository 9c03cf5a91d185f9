import http from 'node:http';
import { Writable } from 'node:stream';
import { expect } from 'chai';
import express from 'express';
import pino from 'pino';
import { Registry } from 'prom-client';
import { ApiMetrics } from '../metrics/api-metrics';
import { RouteTemplates } from '../metrics/route-template';
import { errorMiddleware } from './error-middleware';
import { REPORT_ROUTE, requestContext, requestLog } from './request-context';

/**
 * The request context on a real express app and HTTP server (no I/O beyond the loopback): the id is
 * echoed or generated, every log line of the request carries it (the handler's and the error
 * middleware's), and the response is measured under its route template.
 */
describe('requestContext', () => {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString('utf8').split('\n')) if (l) lines.push(JSON.parse(l) as Record<string, unknown>);
      done();
    },
  });
  const log = pino({ level: 'debug' }, sink);
  const registry = new Registry();
  const metrics = new ApiMetrics(registry);
  let server: http.Server;
  let base: string;

  before(async () => {
    const app = express();
    app.use(requestContext({ log, metrics, routes: new RouteTemplates(['/items/{id}', REPORT_ROUTE]) }));
    app.get('/items/:id', (_req, res) => {
      requestLog(res, log).info({ step: 1 }, 'first');
      requestLog(res, log).info({ step: 2 }, 'second');
      res.json({ ok: true });
    });
    app.post(REPORT_ROUTE, (_req, res) => void res.status(503).json({}));
    app.get('/boom', () => {
      throw new TypeError('kaput');
    });
    app.use(errorMiddleware(log));
    server = http.createServer(app);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  });
  after(() => new Promise<void>((r) => server.close(() => r())));
  beforeEach(() => {
    lines.length = 0;
  });

  it('echoes a safe id and puts it on every log line of the request', async () => {
    const res = await fetch(`${base}/items/42`, { headers: { 'x-request-id': 'abc-123' } });
    expect(res.headers.get('x-request-id')).to.equal('abc-123');
    expect(lines.map((l) => [l['msg'], l['requestId']])).to.deep.equal([['first', 'abc-123'], ['second', 'abc-123']]);
  });

  it('replaces an unsafe or oversized id with a UUID', async () => {
    for (const bad of ['a b', 'x'.repeat(129), '<script>']) {
      const res = await fetch(`${base}/items/1`, { headers: { 'x-request-id': bad } });
      expect(res.headers.get('x-request-id')).to.match(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    }
    const ids = new Set(lines.map((l) => l['requestId']));
    expect(ids.size).to.equal(3);
  });

  it('the error middleware logs an unhandled error with the request id', async () => {
    const res = await fetch(`${base}/boom`, { headers: { 'x-request-id': 'err-1' } });
    expect(res.status).to.equal(500);
    expect(res.headers.get('x-request-id')).to.equal('err-1');
    const line = lines.find((l) => l['msg'] === 'unhandled error');
    expect(line?.['requestId']).to.equal('err-1');
  });

  it('measures by route template and counts reports by their answer', async () => {
    await fetch(`${base}/items/secret-id-9`);
    await fetch(`${base}${REPORT_ROUTE}`, { method: 'POST' });
    const text = await registry.metrics();
    expect(text).to.match(/apg_http_request_duration_seconds_count\{method="GET",route="\/items\/\{id\}",status="200"\} [1-9]/);
    expect(text).to.match(/apg_http_request_duration_seconds_count\{method="GET",route="unmatched",status="500"\} 1/);
    expect(text).to.contain('apg_report_total{outcome="unavailable"} 1');
    expect(text).to.not.contain('secret-id-9');
  });
});
