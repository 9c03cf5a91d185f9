import net from 'node:net';
import { expect } from 'chai';
import { startApi, stackNames } from '../stack';
import { createTenant } from '../tenant';

/** A port nothing listens on: connections to it are refused at once. */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Kafka down: reports are refused quickly with a 503, selection keeps working (issue 5 §5). */
describe('api with Kafka unreachable (real Postgres and Redis)', function () {
  this.timeout(60_000);

  it('answers reports with 503 DEPENDENCY_UNAVAILABLE without hanging, keeps selecting, and says so on /api/health', async () => {
    const api = await startApi(stackNames(), { brokers: [`127.0.0.1:${await closedPort()}`] });
    try {
      const tenant = await createTenant(api);
      const reg = await tenant.http.post<{ data: { id: string }[] }>('/api/instances/batch', { instances: [{ apiIdentifier: 'gpt4o', apiType: 'MODEL', businessId: 'k1' }] });
      expect(reg.status).to.equal(200);
      const instanceId = reg.body.data[0]!.id;

      const sel = await tenant.http.post('/api/gateway/select-instance', { apiIdentifier: 'gpt4o', apiType: 'MODEL' });
      expect(sel.status).to.equal(200);

      const started = Date.now();
      const rep = await tenant.http.post<{ errorCode: string; code: number }>('/api/gateway/report-result', { instanceId, businessId: 'k1', success: true, latencyMs: 5 });
      const elapsed = Date.now() - started;
      expect(rep.status).to.equal(503);
      expect(rep.body).to.include({ code: 503, errorCode: 'DEPENDENCY_UNAVAILABLE' });
      // Bounded, not a benchmark: the point is that it does not hang like a blocked producer would.
      expect(elapsed).to.be.below(5000);

      const health = await api.http.get<{ data: { status: string; dependencies: { kafka: { status: string } } } }>('/api/health');
      expect(health.status).to.equal(200);
      expect(health.body.data.status).to.equal('DEGRADED');
      expect(health.body.data.dependencies.kafka.status).to.equal('DOWN');
    } finally {
      await api.close();
    }
  });
});
