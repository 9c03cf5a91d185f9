import { expect } from 'chai';
import { Registry } from 'prom-client';
import { InstanceSeries, OTHER_INSTANCES } from './instance-series';

describe('InstanceSeries (opt-in per-instance metrics)', () => {
  it('off: registers nothing and records nothing', async () => {
    const registry = new Registry();
    const s = new InstanceSeries(registry, { enabled: false, max: 2 });
    s.selected('a');
    s.reported('a', true);
    expect(s.enabled).to.equal(false);
    expect(await registry.metrics()).to.not.contain('apg_instance_');
  });

  it('on: at most `max` ids get their own series; the rest share _other; a named id keeps its series', async () => {
    const registry = new Registry();
    const s = new InstanceSeries(registry, { enabled: true, max: 2 });
    for (const id of ['a', 'b', 'c', 'd', 'a', 'b']) s.selected(id);
    s.reported('c', false);
    s.reported('a', true);
    const text = await registry.metrics();
    expect(text).to.contain('apg_instance_selections_total{instance="a"} 2');
    expect(text).to.contain('apg_instance_selections_total{instance="b"} 2');
    expect(text).to.contain(`apg_instance_selections_total{instance="${OTHER_INSTANCES}"} 2`);
    expect(text).to.not.contain('instance="c"');
    expect(text).to.contain(`apg_instance_reports_total{instance="${OTHER_INSTANCES}",success="false"} 1`);
    expect(text).to.contain('apg_instance_reports_total{instance="a",success="true"} 1');
  });

  it('a flood of distinct ids never grows the series past max + 1', async () => {
    const registry = new Registry();
    const s = new InstanceSeries(registry, { enabled: true, max: 50 });
    for (let i = 0; i < 100_000; i++) s.selected(`id-${i}`);
    const lines = (await registry.metrics()).split('\n').filter((l) => l.startsWith('apg_instance_selections_total{'));
    expect(lines).to.have.length(51);
  });
});
