import { expect } from 'chai';
import { MonitoringInstancesQuerySchema, MonitoringProjectQuerySchema, ObservationQuerySchema, TimeSeriesQuerySchema } from '@apg/contracts';
import { HttpError, parseOr400 } from '../http/http-error';

/** The query schemas as the routes use them: a value, or a 400 whose message names the field and the choices. */
function parse(schema: Parameters<typeof parseOr400>[0], query: Record<string, unknown>): { ok: unknown } | { error: string } {
  try {
    // Through JSON: absent and `undefined` are the same on the wire.
    return { ok: JSON.parse(JSON.stringify(parseOr400(schema, query))) as unknown };
  } catch (err) {
    expect(err).to.be.instanceOf(HttpError);
    expect((err as HttpError).status).to.equal(400);
    expect((err as HttpError).errorCode).to.equal('VALIDATION_FAILED');
    return { error: (err as HttpError).message };
  }
}

describe('monitoring query schemas', () => {
  const cases: { name: string; schema: Parameters<typeof parseOr400>[0]; query: Record<string, unknown>; ok?: unknown; error?: RegExp }[] = [
    { name: 'timeRange 1h', schema: TimeSeriesQuerySchema, query: { timeRange: '1h' }, ok: { timeRange: '1h' } },
    { name: 'timeRange any case', schema: TimeSeriesQuerySchema, query: { timeRange: '7D', projectId: 'p' }, ok: { timeRange: '7d', projectId: 'p' } },
    { name: 'timeRange missing', schema: TimeSeriesQuerySchema, query: {}, error: /^timeRange: timeRange is required \(one of 1h, 6h, 24h, 7d\)$/ },
    { name: 'timeRange empty', schema: TimeSeriesQuerySchema, query: { timeRange: '' }, error: /timeRange is required/ },
    { name: 'timeRange unknown (seed: silently 24h)', schema: TimeSeriesQuerySchema, query: { timeRange: '2h' }, error: /timeRange must be one of 1h, 6h, 24h, 7d/ },
    { name: 'timeRange repeated', schema: TimeSeriesQuerySchema, query: { timeRange: ['1h', '6h'] }, error: /timeRange must be given at most once/ },
    { name: 'timeWindow any case', schema: ObservationQuerySchema, query: { timeWindow: '10M' }, ok: { timeWindow: '10m' } },
    { name: 'timeWindow missing', schema: ObservationQuerySchema, query: { projectId: 'x' }, error: /timeWindow is required \(one of 1m, 10m, 30m, 1h, 6h, 24h\)/ },
    { name: 'timeWindow unknown (seed: silently 1h)', schema: ObservationQuerySchema, query: { timeWindow: '5m' }, error: /timeWindow must be one of/ },
    { name: 'observation filters', schema: ObservationQuerySchema, query: { timeWindow: '1h', instanceStatus: 'ACTIVE', gatewayStatus: 'DEGRADED' }, ok: { timeWindow: '1h', instanceStatus: 'ACTIVE', gatewayStatus: 'DEGRADED' } },
    { name: 'bad instanceStatus (seed: ignored)', schema: ObservationQuerySchema, query: { timeWindow: '1h', instanceStatus: 'active' }, error: /instanceStatus must be one of ACTIVE, INACTIVE, DEPRECATED/ },
    { name: 'bad gatewayStatus (seed: ignored)', schema: ObservationQuerySchema, query: { timeWindow: '1h', gatewayStatus: 'OPEN' }, error: /gatewayStatus must be one of HEALTHY, DEGRADED, FAULTY, CIRCUIT_BREAKER_OPEN/ },
    { name: 'bad status (seed: HTTP 200 code 400)', schema: MonitoringInstancesQuerySchema, query: { status: 'FOO' }, error: /^status: status must be one of/ },
    { name: 'empty filters count as absent', schema: MonitoringInstancesQuerySchema, query: { status: '', gatewayStatus: '', projectId: '' }, ok: {} },
    { name: 'unknown parameters are ignored', schema: MonitoringProjectQuerySchema, query: { foo: 'bar' }, ok: {} },
    { name: 'projectId with NUL', schema: MonitoringProjectQuerySchema, query: { projectId: 'a\u0000b' }, error: /projectId must not contain control characters/ },
    { name: 'projectId too long', schema: MonitoringProjectQuerySchema, query: { projectId: 'x'.repeat(65) }, error: /projectId must be at most 64 characters/ },
    { name: 'projectId repeated', schema: MonitoringProjectQuerySchema, query: { projectId: ['a', 'b'] }, error: /projectId must be given at most once/ },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const r = parse(c.schema, c.query);
      if (c.error) {
        expect(r).to.have.property('error').that.matches(c.error);
      } else {
        expect(r).to.deep.equal({ ok: c.ok });
      }
    });
  }
});
