import { EventEmitter } from 'node:events';
import { expect } from 'chai';
import type { Request, Response } from 'express';
import { BreakerStream } from './breaker-stream';

/** A response that records what is written, and a request that can close. */
function client() {
  const req = new EventEmitter();
  const written: string[] = [];
  const res = Object.assign(new EventEmitter(), {
    status() { return res; },
    set() { return res; },
    flushHeaders() {},
    write(s: string) { written.push(s); return true; },
    end(s?: string) { if (s) written.push(s); written.push('<end>'); },
  });
  return { req: req as unknown as Request, res: res as unknown as Response, written, close: () => req.emit('close') };
}

describe('console: breaker stream', () => {
  it('passes on state changes only, to every open stream, and forgets a closed one', () => {
    const stream = new BreakerStream({ maxClients: 5, keepAliveMs: 60_000 });
    const a = client();
    const b = client();
    stream.open(a.req, a.res);
    stream.open(b.req, b.res);
    stream.record('i1', { state: 'CLOSED', since: 1, reason: 'x' });
    stream.record('i1', { state: 'CLOSED', since: 2, reason: 'y' });
    stream.record('i1', { state: 'OPEN', since: 3, reason: 'failure rate' });
    stream.record('i2', 'not a record');
    const frames = (w: string[]) => w.filter((s) => s.startsWith('event: breaker'));
    expect(frames(a.written)).to.have.length(2);
    expect(frames(a.written)[1]).to.equal('event: breaker\ndata: {"instanceId":"i1","state":"OPEN","since":3,"reason":"failure rate"}\n\n');
    a.close();
    expect(stream.size).to.equal(1);
    stream.record('i1', { state: 'HALF_OPEN', since: 4, reason: 'r' });
    expect(frames(a.written)).to.have.length(2);
    expect(frames(b.written)).to.have.length(3);
    stream.stop();
    expect(b.written.at(-1)).to.equal('<end>');
    expect(stream.size).to.equal(0);
  });

  it('ends a stream after its lifetime, so the browser reconnects and is authenticated again', async () => {
    const stream = new BreakerStream({ maxClients: 5, keepAliveMs: 60_000, maxLifetimeMs: 20 });
    const a = client();
    stream.open(a.req, a.res);
    expect(stream.size).to.equal(1);
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(a.written.slice(-2)).to.deep.equal(['event: reconnect\ndata: {}\n\n', '<end>']);
    expect(stream.size).to.equal(0);
    stream.stop();
  });

  it('refuses streams beyond its cap with 429', () => {
    const stream = new BreakerStream({ maxClients: 1, keepAliveMs: 60_000 });
    stream.open(client().req, client().res);
    const c = client();
    expect(() => stream.open(c.req, c.res)).to.throw(/too many open console streams/);
    stream.stop();
  });
});
