// `node bench/api/dist/metrics-cost.js` (after `npm run bench:api` or `npx tsc --build bench/api`): what the
// api's metrics cost a select, in process, without the noise of a loaded machine's HTTP figures. Times
// one select's recording (apg_select_total + apg_select_duration_seconds + apg_http_request_duration_seconds)
// with ApiMetrics' pre-made series, against the same three through prom-client's labelled children.
import { performance } from 'node:perf_hooks';
import { Counter, Histogram, Registry } from 'prom-client';
import { ApiMetrics } from '@apg/api';

const N = 2_000_000;

function time(what: string, fn: (i: number) => void): number {
  for (let i = 0; i < 100_000; i++) fn(i); // warm-up (JIT)
  const started = performance.now();
  for (let i = 0; i < N; i++) fn(i);
  const ns = ((performance.now() - started) * 1e6) / N;
  console.log(`${what}: ${ns.toFixed(0)} ns per select`);
  return ns;
}

const fast = new ApiMetrics(new Registry());
const fastNs = time('ApiMetrics (pre-made series)', (i) => {
  fast.selected('SMART', 'ok', 0.0004 + (i % 7) * 1e-4);
  fast.observeHttp('POST', '/api/gateway/select-instance', 200, 0.001 + (i % 5) * 1e-4);
});

const registry = new Registry();
const total = new Counter({ name: 'apg_b_total', help: 'b', labelNames: ['strategy', 'outcome'] as const, registers: [registry] });
const seconds = new Histogram({ name: 'apg_b_seconds', help: 'b', labelNames: ['strategy'] as const, registers: [registry] });
const httpSeconds = new Histogram({ name: 'apg_b_http_seconds', help: 'b', labelNames: ['method', 'route', 'status'] as const, registers: [registry] });
const boundTotal = total.labels({ strategy: 'SMART', outcome: 'ok' });
const boundSeconds = seconds.labels({ strategy: 'SMART' });
const promNs = time('prom-client labelled children (bound once)', (i) => {
  boundTotal.inc();
  boundSeconds.observe(0.0004 + (i % 7) * 1e-4);
  httpSeconds.observe({ method: 'POST', route: '/api/gateway/select-instance', status: '200' }, 0.001 + (i % 5) * 1e-4);
});
console.log(`metrics-cost: ${fastNs.toFixed(0)} ns per select with ApiMetrics, ${promNs.toFixed(0)} ns with prom-client children`);
