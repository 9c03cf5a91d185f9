import { expect } from 'chai';
import { z } from 'zod';
import { InstanceBatchCreateRequestSchema, InstanceCreateRequestSchema } from './http';
import { InstanceUpdateRequestSchema } from './instance-lifecycle';
import { RoutingParamsSchema } from './routing-params';

const paths = (r: { success: boolean; error?: z.ZodError }) => (r.error?.issues ?? []).map((i) => i.path.join('.'));
const create = (routingParams: unknown) => ({ apiIdentifier: 'm', apiType: 'MODEL', businessId: 'b', routingParams });

describe('routingParams schema', () => {
  const cases: { name: string; routingParams: Record<string, unknown>; bad: string[] }[] = [
    { name: 'the seed\'s shapes, numeric strings and the client\'s own keys', routingParams: { priority: 100, initial_weight: '2', cost_per_unit: 0.002, costPerToken: '1e-3', region: 'eu', tags: ['a'] }, bad: [] },
    { name: 'null values count as absent', routingParams: { priority: null, breaker: null }, bad: [] },
    { name: 'a full valid breaker', routingParams: { breaker: { windowMs: 60_000, minCalls: 10, failureRateThreshold: 0.5, consecutiveFailures: 5, openDurationMs: 30_000, maxOpenDurationMs: 300_000, halfOpenProbes: 3, slowCallMs: 5_000, slowCallRateThreshold: 0.8 } }, bad: [] },
    { name: 'each routing number past its bound', routingParams: { priority: 1_000_001, weight: -1, costPerUnit: 1e10, rpm: 0, tpm: 1.5 }, bad: ['priority', 'weight', 'costPerUnit', 'rpm', 'tpm'] },
    { name: 'a fractional priority', routingParams: { priority: 1.5 }, bad: ['priority'] },
    { name: 'words and booleans', routingParams: { priority: 'high', weight: true }, bad: ['priority', 'weight'] },
    { name: 'breaker fields named by their full path', routingParams: { breaker: { windowMs: 999, failureRateThreshold: 0, halfOpenProbes: 101, slowCallMs: 0 } }, bad: ['breaker.windowMs', 'breaker.failureRateThreshold', 'breaker.halfOpenProbes', 'breaker.slowCallMs'] },
    { name: 'breaker numeric strings are refused (numbers only)', routingParams: { breaker: { minCalls: '20' } }, bad: ['breaker.minCalls'] },
    { name: 'an unknown breaker key', routingParams: { breaker: { minCals: 3 } }, bad: ['breaker.minCals'] },
    { name: 'openDurationMs above maxOpenDurationMs', routingParams: { breaker: { openDurationMs: 600_000, maxOpenDurationMs: 300_000 } }, bad: ['breaker.openDurationMs'] },
    { name: 'maxOpenDurationMs above an hour', routingParams: { breaker: { maxOpenDurationMs: 3_600_001 } }, bad: ['breaker.maxOpenDurationMs'] },
  ];
  for (const c of cases) {
    it(c.name, () => {
      expect(paths(RoutingParamsSchema.safeParse(c.routingParams))).to.deep.equal(c.bad);
      expect(paths(InstanceCreateRequestSchema.safeParse(create(c.routingParams)))).to.deep.equal(c.bad.map((p) => `routingParams.${p}`));
    });
  }

  it('keeps the values as sent (a numeric string stays a string)', () => {
    const parsed = InstanceCreateRequestSchema.parse(create({ priority: '2', own: { x: 1 } }));
    expect(parsed.routingParams).to.deep.equal({ priority: '2', own: { x: 1 } });
  });

  it('update and batch use the same rules, with the item index in the path', () => {
    expect(paths(InstanceUpdateRequestSchema.safeParse({ apiIdentifier: 'm', routingParams: { breaker: { windowMs: 0 } } }))).to.deep.equal(['routingParams.breaker.windowMs']);
    expect(paths(InstanceUpdateRequestSchema.safeParse({ apiIdentifier: 'm', routingParams: null }))).to.deep.equal([]);
    const batch = { instances: [create({ priority: 1 }), create({ rpm: -1 })] };
    expect(paths(InstanceBatchCreateRequestSchema.safeParse(batch))).to.deep.equal(['instances.1.routingParams.rpm']);
  });

  it('refuses a 1 MB digit string quickly, without echoing it', () => {
    const t0 = performance.now();
    const r = RoutingParamsSchema.safeParse({ weight: `${'1'.repeat(1 << 20)}a` });
    expect(performance.now() - t0).to.be.below(50);
    expect(paths(r)).to.deep.equal(['weight']);
    expect(r.error!.issues[0]!.message.length).to.be.below(200);
  });

  it('documents the bounds in its JSON Schema', () => {
    const json = z.toJSONSchema(RoutingParamsSchema, { io: 'input', unrepresentable: 'any' }) as { properties: Record<string, { anyOf: Record<string, unknown>[] }> };
    expect(json.properties['priority']!.anyOf[0]).to.deep.include({ type: 'integer', minimum: -1_000_000, maximum: 1_000_000 });
    const breaker = json.properties['breaker']!.anyOf[0] as { properties: Record<string, Record<string, unknown>> };
    expect(breaker.properties['failureRateThreshold']).to.deep.include({ exclusiveMinimum: 0, maximum: 1 });
  });
});
