import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { expect } from 'chai';
import { freePort, serviceEnv, spawnApi, spawnService, type ChildService } from '../child-service';
import { HttpClient } from '../http-client';
import { register } from '../routing/routing-fixture';
import { openProbe, stackNames, type Probe, type StackNames } from '../stack';
import { createTenant, type TestTenant } from '../tenant';
import { waitFor } from '../wait-for';

const ROOT = path.resolve(__dirname, '../../../..');

/** `promtool check metrics` on an exposition; returns its complaints (empty when the text passes). */
function promtoolComplaints(exposition: string): string {
  try {
    execFileSync('promtool', ['check', 'metrics'], { input: exposition, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] });
    return '';
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    return `${e.stdout ?? ''}${e.stderr ?? ''}` || e.message;
  }
}

/**
 * The real services' `/metrics`, after some traffic has gone through each, pass `promtool check metrics`
 * (naming and type rules Prometheus tooling relies on: `_total` only on counters, base units, help texts).
 */
describe('metrics: every service /metrics passes promtool check metrics (real processes)', function () {
  this.timeout(180_000);
  let names: StackNames;
  let probe: Probe;
  let api: Awaited<ReturnType<typeof spawnApi>>;
  const children: ChildService[] = [];
  const ops: Record<'ingestor' | 'aggregator', HttpClient> = {} as Record<'ingestor' | 'aggregator', HttpClient>;
  let tenant: TestTenant;

  before(async function () {
    execFileSync('bash', [path.join(ROOT, 'infra/scripts/ensure-promtool.sh')], { stdio: 'inherit' });
    names = stackNames();
    probe = await openProbe(names);
    api = await spawnApi(names);
    children.push(api);
    for (const name of ['ingestor', 'aggregator'] as const) {
      const port = await freePort();
      const envName = name === 'ingestor' ? 'INGESTOR_PORT' : 'AGGREGATOR_PORT';
      children.push(spawnService(name, serviceEnv(names, { [envName]: String(port) })));
      ops[name] = new HttpClient(`http://127.0.0.1:${port}`);
      await waitFor(`${name} ready`, async () => (await ops[name].get('/readyz').catch(() => ({ status: 0 }))).status === 200, {
        timeoutMs: 60_000,
      });
    }
    tenant = await createTenant(api);
  });

  after(async function () {
    for (const c of children.reverse()) await c.kill('SIGTERM');
    await probe?.close();
  });

  it('api, ingestor and aggregator after selects and reports', async function () {
    const [inst] = await register(tenant, [{ businessId: 'lint-1' }]);
    for (let k = 0; k < 5; k++) {
      const sel = await tenant.http.post<{ data: { selectionId: string } }>('/api/gateway/select-instance', { apiIdentifier: 'gpt4o', apiType: 'MODEL' });
      expect(sel.status).to.equal(200);
      const rep = await tenant.http.post('/api/gateway/report-result', {
        instanceId: inst!.id, businessId: inst!.businessId, selectionId: sel.body.data.selectionId, success: k % 2 === 0, latencyMs: 50 + k,
        ...(k % 2 === 0 ? {} : { statusCode: 500, errorType: 'SERVER_ERROR' }),
      });
      expect(rep.status, rep.text).to.equal(200);
    }
    await waitFor('5 rows ingested', async () => {
      const r = await probe.db.query<{ n: number }>('test.count', 'SELECT count(*)::int AS n FROM call_results WHERE instance_id = $1', [inst!.id]);
      return (r.rows[0]?.n ?? 0) >= 5;
    }, { timeoutMs: 30_000 });

    const scraped = {
      api: await api.http.get('/metrics'),
      ingestor: await ops.ingestor.get('/metrics'),
      aggregator: await ops.aggregator.get('/metrics'),
    };
    for (const [service, res] of Object.entries(scraped)) {
      expect(res.status, `${service} /metrics`).to.equal(200);
      expect(res.text, `${service} exports apg_ metrics`).to.match(/^apg_/m);
      expect(promtoolComplaints(res.text), `${service}: promtool check metrics`).to.equal('');
    }
  });
});
