import { expect } from 'chai';
import { Registry } from 'prom-client';
import { FastCounter, FastHistogram } from './fast-metrics';

describe('fast metrics', () => {
  it('a counter renders its series with the registry default labels, and resets', async () => {
    const registry = new Registry();
    registry.setDefaultLabels({ service: 'api' });
    const c = new FastCounter({ name: 'apg_test_total', help: 'test', labelNames: ['outcome'], registers: [registry] });
    const ok = c.series({ outcome: 'ok' });
    c.series({ outcome: 'error' });
    ok.inc();
    ok.inc(2);
    expect(c.series({ outcome: 'ok' })).to.equal(ok);
    const text = await registry.metrics();
    expect(text).to.contain('# TYPE apg_test_total counter');
    expect(text).to.contain('apg_test_total{outcome="ok",service="api"} 3');
    expect(text).to.contain('apg_test_total{outcome="error",service="api"} 0');
    registry.resetMetrics();
    expect(await registry.metrics()).to.contain('apg_test_total{outcome="ok",service="api"} 0');
  });

  it('a counter refuses a name without _total and a missing label', () => {
    const registry = new Registry();
    expect(() => new FastCounter({ name: 'apg_bad', help: 'x', labelNames: [], registers: [registry] })).to.throw(/_total/);
    const c = new FastCounter({ name: 'apg_x_total', help: 'x', labelNames: ['a'], registers: [registry] });
    expect(() => c.series({})).to.throw(/label a missing/);
  });

  const cases: [string, number[], Record<string, number>, number][] = [
    ['values on the bounds count in that bucket', [0.001, 0.01], { '0.001': 1, '0.01': 2, '0.1': 2, '+Inf': 2 }, 0.011],
    ['a value above every bound counts only in +Inf', [5], { '0.001': 0, '0.01': 0, '0.1': 0, '+Inf': 1 }, 5],
    ['NaN and Infinity are ignored', [Number.NaN, Number.POSITIVE_INFINITY, 0.05], { '0.001': 0, '0.01': 0, '0.1': 1, '+Inf': 1 }, 0.05],
    ['zero and negative values land in the first bucket', [0, -1], { '0.001': 2, '0.01': 2, '0.1': 2, '+Inf': 2 }, -1],
  ];
  for (const [what, values, buckets, sum] of cases) {
    it(`histogram: ${what}`, async () => {
      const registry = new Registry();
      const h = new FastHistogram({ name: 'apg_test_seconds', help: 'test', labelNames: ['route'], buckets: [0.1, 0.001, 0.01], registers: [registry] });
      const s = h.series({ route: '/r' });
      for (const v of values) s.observe(v);
      const text = await registry.metrics();
      expect(text).to.contain('# TYPE apg_test_seconds histogram');
      for (const [le, n] of Object.entries(buckets)) expect(text).to.contain(`apg_test_seconds_bucket{route="/r",le="${le}"} ${n}`);
      expect(text).to.contain(`apg_test_seconds_sum{route="/r"} ${sum}`);
      expect(text).to.contain(`apg_test_seconds_count{route="/r"} ${buckets['+Inf']}`);
    });
  }
});
