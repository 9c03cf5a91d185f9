// Open-loop HTTP load at a steady rate: requests are due at evenly spaced instants whether or not
// earlier ones have answered, and each latency counts from its due instant, so queueing in the
// server (or in the connection pool, when all connections are busy) is measured, not hidden.
import http from 'node:http';
import { performance } from 'node:perf_hooks';
import type { LoadResult } from './load';
import { percentile } from './stats';

export interface PacedOptions {
  port: number;
  path: string;
  headers: Record<string, string>;
  body: () => string;
  /** Keep-alive connections (at most this many requests in flight; later ones wait for one). */
  connections: number;
  /** Requests per second. */
  rate: number;
  durationS: number;
}

export function runPaced(opts: PacedOptions): Promise<LoadResult> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: opts.connections });
  const latencies: number[] = [];
  const statusCodes: Record<string, number> = {};
  let errors = 0;
  let sent = 0;
  let answered = 0;
  const total = Math.round(opts.rate * opts.durationS);
  const start = performance.now();

  return new Promise((resolve) => {
    const finish = () => {
      agent.destroy();
      const durationS = (performance.now() - start) / 1000;
      const ok = Object.entries(statusCodes).reduce((n, [code, c]) => (code.startsWith('2') ? n + c : n), 0);
      const requests = Object.values(statusCodes).reduce((a, b) => a + b, 0);
      const sorted = Float64Array.from(latencies).sort();
      resolve({
        okPerSec: ok / durationS, requests, ok, non2xx: requests - ok, errors, statusCodes, durationS,
        p50: percentile(sorted, 50), p99: percentile(sorted, 99), p999: percentile(sorted, 99.9),
        max: sorted.length ? sorted[sorted.length - 1]! : Number.NaN,
      });
    };
    const fire = (due: number) => {
      const payload = Buffer.from(opts.body());
      const req = http.request(
        { host: '127.0.0.1', port: opts.port, method: 'POST', path: opts.path, agent, headers: { ...opts.headers, 'content-type': 'application/json', 'content-length': String(payload.length) } },
        (res) => {
          res.resume();
          res.on('end', () => {
            const code = String(res.statusCode ?? 0);
            statusCodes[code] = (statusCodes[code] ?? 0) + 1;
            if (code.startsWith('2')) latencies.push(performance.now() - due);
            if (++answered + errors === total) finish();
          });
        },
      );
      req.on('error', () => {
        if (answered + ++errors === total) finish();
      });
      req.end(payload);
    };
    // A 1 ms tick sends whatever has come due since the last one, each stamped with its own due time.
    const timer = setInterval(() => {
      const now = performance.now();
      const due = Math.min(total, Math.floor(((now - start) / 1000) * opts.rate));
      for (; sent < due; sent++) fire(start + (sent / opts.rate) * 1000);
      if (sent >= total) clearInterval(timer);
    }, 1);
  });
}
