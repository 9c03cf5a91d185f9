import { readFileSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { Partitioners } from 'kafkajs';
import { signedByService } from '../signing';
import { freePort, serviceEnv, spawnApi, spawnService, type ChildService } from '../child-service';
import { HttpClient } from '../http-client';
import { register } from '../routing/routing-fixture';
import { openProbe, stackNames, type Probe, type StackNames } from '../stack';
import { createTenant, type TestTenant } from '../tenant';
import { waitFor } from '../wait-for';
import { parseExposition, sumOf } from './exposition';

const ROOT = path.resolve(__dirname, '../../../..');

/** Every `apg_*` metric name in a PromQL expression (label values such as job=~"apg-.*" never match `apg_`). */
export function metricNamesIn(expr: string): string[] {
  return [...expr.matchAll(/\bapg_\w+/g)].map((m) => m[0]);
}

function dashboardExprs(): { where: string; expr: string }[] {
  const d = JSON.parse(readFileSync(path.join(ROOT, 'infra/grafana/dashboards/apg.json'), 'utf8')) as { panels: { title: string; targets?: { expr: string }[] }[] };
  return d.panels.flatMap((p) => (p.targets ?? []).map((t) => ({ where: `dashboard panel "${p.title}"`, expr: t.expr })));
}

function alertExprs(): { where: string; expr: string }[] {
  const text = readFileSync(path.join(ROOT, 'infra/prometheus/alerts.yml'), 'utf8');
  // `expr:` values, one line or a `|` block (the indented lines after it).
  const out: { where: string; expr: string }[] = [];
  const lines = text.split('\n');
  let alert = '';
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const named = /- alert: (\w+)/.exec(line);
    if (named) alert = named[1]!;
    const m = /^(\s*)expr:\s?(.*)$/.exec(line);
    if (!m) continue;
    let expr = m[2]!;
    if (expr.trim() === '|') {
      expr = '';
      while (i + 1 < lines.length && (lines[i + 1]!.startsWith(`${m[1]!}  `) || lines[i + 1]!.trim() === '')) expr += `${lines[++i]!}\n`;
    }
    out.push({ where: `alert ${alert}`, expr });
  }
  return out;
}

/** Metric names a scrape exposes: samples, and declared families (histograms as _bucket/_sum/_count too). */
function exposed(text: string): Set<string> {
  const names = new Set(parseExposition(text).map((s) => s.name));
  for (const m of text.matchAll(/^# TYPE (\w+) (\w+)$/gm)) {
    names.add(m[1]!);
    if (m[2] === 'histogram' || m[2] === 'summary') for (const s of ['_bucket', '_sum', '_count']) names.add(`${m[1]!}${s}`);
  }
  return names;
}

/**
 * Dashboards and alerts that match (issue 9 §4): the three real services, after traffic through the select
 * and report outcomes and a dead letter, expose every metric a dashboard panel or an alert rule names.
 */
describe('metrics named by the dashboard and the alert rules exist on the real services', function () {
  this.timeout(180_000);
  let names: StackNames;
  let probe: Probe;
  let api: Awaited<ReturnType<typeof spawnApi>>;
  const children: ChildService[] = [];
  const ops = {} as Record<'ingestor' | 'aggregator', HttpClient>;
  let tenant: TestTenant;

  before(async function () {
    names = stackNames();
    probe = await openProbe(names);
    api = await spawnApi(names, { PIPELINE_LAG_POLL_MS: '250' });
    children.push(api);
    for (const stage of ['ingestor', 'aggregator'] as const) {
      const port = await freePort();
      children.push(spawnService(stage, serviceEnv(names, { [stage === 'ingestor' ? 'INGESTOR_PORT' : 'AGGREGATOR_PORT']: String(port), INGEST_LAG_POLL_MS: '250', AGGREGATOR_LAG_POLL_MS: '250' })));
      ops[stage] = new HttpClient(`http://127.0.0.1:${port}`);
      await waitFor(`${stage} ready`, async () => (await ops[stage].get('/readyz').catch(() => ({ status: 0 }))).status === 200, { timeoutMs: 60_000 });
    }
    tenant = await createTenant(api);
  });

  after(async function () {
    for (const c of children.reverse()) await c.kill('SIGTERM');
    await probe?.close();
  });

  it('finds the expressions it checks', () => {
    expect(dashboardExprs().length).to.be.at.least(15);
    expect(alertExprs().length).to.be.at.least(9);
    expect(metricNamesIn('sum by (service) (max by (service, partition) (apg_a_total or apg_b{job=~"apg-.*"}))')).to.deep.equal(['apg_a_total', 'apg_b']);
  });

  it('every metric of every panel and rule is scraped after traffic through the outcomes', async () => {
    const [inst] = await register(tenant, [{ businessId: 'dash-1' }]);
    const select = (body: Record<string, unknown>) => tenant.http.post<{ data?: { selectionId: string } }>('/api/gateway/select-instance', body);
    expect((await select({ apiIdentifier: 'gpt4o', apiType: 'MODEL' })).status).to.equal(200);
    expect((await select({ apiIdentifier: 'nothing-here', apiType: 'MODEL' })).status).to.be.within(400, 499);
    expect((await select({ apiIdentifier: 'gpt4o', apiType: 'NOT_A_TYPE' })).status).to.equal(400);
    const report = (body: Record<string, unknown>) => tenant.http.post('/api/gateway/report-result', body);
    expect((await report({ instanceId: inst!.id, businessId: inst!.businessId, success: true, latencyMs: 12 })).status).to.equal(200);
    expect((await report({ instanceId: inst!.id, businessId: inst!.businessId, success: false, latencyMs: 30, statusCode: 500, errorType: 'SERVER_ERROR' })).status).to.equal(200);
    expect((await report({ instanceId: inst!.id, success: 'yes', latencyMs: -1 })).status).to.equal(400);
    expect((await report({ instanceId: 'f'.repeat(32), businessId: 'x', success: true, latencyMs: 1 })).status).to.be.within(400, 499);
    // A dead letter, so the DLQ-by-reason series exists.
    const producer = probe.kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    await producer.send({ topic: names.topic, messages: [signedByService({ key: 'x', value: '{not json' })] });
    await producer.disconnect();
    await waitFor('rows ingested and a dead letter', async () => {
      const m = parseExposition((await ops.ingestor.get('/metrics')).text);
      return sumOf(m, 'apg_ingestor_messages_total', { outcome: 'written' }) >= 2 && sumOf(m, 'apg_ingestor_dead_letters_total', { reason: 'malformed_json' }) === 1;
    }, { timeoutMs: 30_000, intervalMs: 200 });

    const scraped = {
      api: (await api.http.get('/metrics')).text,
      ingestor: (await ops.ingestor.get('/metrics')).text,
      aggregator: (await ops.aggregator.get('/metrics')).text,
    };
    const all = new Set([...exposed(scraped.api), ...exposed(scraped.ingestor), ...exposed(scraped.aggregator)]);
    const missing: string[] = [];
    for (const { where, expr } of [...dashboardExprs(), ...alertExprs()]) {
      for (const name of metricNamesIn(expr)) if (!all.has(name)) missing.push(`${name} (${where})`);
    }
    expect(missing, 'named in a panel or a rule but absent from every scrape').to.deep.equal([]);

    // The outcomes driven above are counted under their names.
    const apiSamples = parseExposition(scraped.api);
    expect(sumOf(apiSamples, 'apg_select_total', { outcome: 'ok' })).to.be.at.least(1);
    expect(sumOf(apiSamples, 'apg_select_total', { outcome: 'no_instance' })).to.be.at.least(1);
    expect(sumOf(apiSamples, 'apg_report_total', { outcome: 'accepted' })).to.be.at.least(2);
    expect(sumOf(apiSamples, 'apg_report_total', { outcome: 'invalid' })).to.be.at.least(1);
    expect(sumOf(apiSamples, 'apg_http_request_duration_seconds_count')).to.be.at.least(7);
    const partitions = parseExposition(scraped.aggregator).filter((s) => s.name === 'apg_aggregator_consumer_lag').map((s) => s.labels['partition']);
    expect(partitions).to.have.members(['0', '1', '2']);
  });
});
