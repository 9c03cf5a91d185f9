// Closed-loop HTTP load with autocannon: N keep-alive connections, each sending its next request as
// soon as the previous one answered. Latencies are kept per response (sub-millisecond), not from
// autocannon's integer-millisecond histogram. (autocannon's own rate limit sends each second's
// budget in a burst at the start of the second, so paced runs use paced-load.ts instead.)
import autocannon from 'autocannon';
import { percentile } from './stats';

export interface LoadOptions {
  port: number;
  path: string;
  headers: Record<string, string>;
  /** A fresh body per request (request generator). */
  body: () => string;
  connections: number;
  /** Seconds to run; ignored when `amount` is given. */
  durationS?: number;
  /** Stop after this many requests instead. */
  amount?: number;
}

export interface LoadResult {
  /** 2xx responses per second of the run. */
  okPerSec: number;
  requests: number;
  ok: number;
  non2xx: number;
  /** Connection errors and timeouts. */
  errors: number;
  statusCodes: Record<string, number>;
  durationS: number;
  /** Latency of the 2xx responses, ms. */
  p50: number;
  p99: number;
  p999: number;
  max: number;
}

export function runLoad(opts: LoadOptions): Promise<LoadResult> {
  const latencies: number[] = [];
  const headers = { 'content-type': 'application/json', ...opts.headers };
  return new Promise((resolve, reject) => {
    const startedAt = process.hrtime.bigint();
    const instance = autocannon(
      {
        url: `http://127.0.0.1:${opts.port}`,
        connections: opts.connections,
        pipelining: 1,
        timeout: 10,
        ...(opts.amount !== undefined ? { amount: opts.amount } : { duration: opts.durationS ?? 10 }),
        requests: [
          {
            method: 'POST',
            path: opts.path,
            headers,
            setupRequest: (req) => ({ ...req, body: opts.body() }),
          },
        ],
      },
      (err: unknown, result: autocannon.Result) => {
        if (err) {
          reject(err instanceof Error ? err : new Error(JSON.stringify(err)));
          return;
        }
        const durationS = Number(process.hrtime.bigint() - startedAt) / 1e9;
        const statusCodes: Record<string, number> = {};
        for (const [code, s] of Object.entries(result.statusCodeStats ?? {})) statusCodes[code] = s.count ?? 0;
        const ok = result['2xx'];
        const sorted = Float64Array.from(latencies).sort();
        resolve({
          okPerSec: ok / durationS,
          requests: ok + result.non2xx,
          ok,
          non2xx: result.non2xx,
          errors: result.errors,
          statusCodes,
          durationS,
          p50: percentile(sorted, 50),
          p99: percentile(sorted, 99),
          p999: percentile(sorted, 99.9),
          max: sorted.length ? sorted[sorted.length - 1]! : Number.NaN,
        });
      },
    );
    instance.on('response', (_client, statusCode, _bytes, responseTime) => {
      if (statusCode >= 200 && statusCode < 300) latencies.push(responseTime);
    });
  });
}
