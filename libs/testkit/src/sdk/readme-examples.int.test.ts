import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { freePort } from '../child-service';
import { openProbe, startApi, startIngestor, stackNames, type Probe, type StackNames } from '../stack';
import { createTenant, type TestTenant } from '../tenant';
import { testEnv } from '../test-env';
import { waitFor } from '../wait-for';

const ROOT = path.resolve(__dirname, '../../../..');
const README = path.join(ROOT, 'libs/sdk/README.md');
const run = promisify(execFile);

/** The README's runnable blocks: fenced `js` blocks whose first line is `// example: <name>`. */
export function readmeExamples(markdown: string): Map<string, string> {
  const out = new Map<string, string>();
  const lines = markdown.split('\n');
  for (let i = 0; i < lines.length; i++) {
    if (lines[i] !== '```js') continue;
    const first = lines[i + 1] ?? '';
    const marker = '// example: ';
    const end = lines.indexOf('```', i + 1);
    if (first.startsWith(marker) && end > i) out.set(first.slice(marker.length).trim(), lines.slice(i + 1, end).join('\n'));
    i = end > i ? end : i;
  }
  return out;
}

/**
 * Issue 10 part 4: the SDK README's examples are executed as they are written (plain JavaScript,
 * `require('@apg/sdk')`) against the real api and ingestor, with local HTTP servers playing the providers:
 * an LLM that fails over to its fallback, a payment provider that refuses connections, a worker publishing
 * to Kafka. A README change that breaks an example fails here.
 */
describe('libs/sdk/README.md examples run against the real stack', function () {
  this.timeout(180_000);
  let names: StackNames;
  let probe: Probe;
  let api: Awaited<ReturnType<typeof startApi>>;
  let ingestor: Awaited<ReturnType<typeof startIngestor>>;
  let tenant: TestTenant;
  let providers: http.Server;
  let dir: string;
  const ids = new Map<string, string>();
  const examples = readmeExamples(readFileSync(README, 'utf8'));

  before(async () => {
    names = stackNames();
    probe = await openProbe(names);
    api = await startApi(names);
    ingestor = await startIngestor(names);
    tenant = await createTenant(api);
    // The providers: gpt-a is down (503), claude answers, psp-b charges; psp-a is a closed port.
    providers = http.createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        const send = (status: number, body: unknown) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
        if (req.url === '/gpt-a/v1/chat/completions') return send(503, { error: { message: 'overloaded' } });
        if (req.url === '/claude/v1/chat/completions') return send(200, { choices: [{ message: { content: 'Hello from claude' } }], usage: { prompt_tokens: 3, completion_tokens: 4 } });
        if (req.url === '/psp-b/charges') return send(200, { chargeId: 'ch_1' });
        send(404, {});
      });
    });
    await new Promise<void>((r) => providers.listen(0, '127.0.0.1', r));
    const base = `http://127.0.0.1:${(providers.address() as { port: number }).port}`;
    const closed = `http://127.0.0.1:${await freePort()}`;
    const instances = [
      { apiType: 'MODEL', apiIdentifier: 'gpt-4o', businessId: 'gpt-a', metadata: { baseUrl: `${base}/gpt-a` } },
      { apiType: 'MODEL', apiIdentifier: 'claude-sonnet', businessId: 'claude-1', metadata: { baseUrl: `${base}/claude` } },
      { apiType: 'PAYMENT_GATEWAY', apiIdentifier: 'card-payments', businessId: 'psp-a', metadata: { baseUrl: closed } },
      { apiType: 'PAYMENT_GATEWAY', apiIdentifier: 'card-payments', businessId: 'psp-b', metadata: { baseUrl: `${base}/psp-b` } },
      { apiType: 'SMS_SERVICE', apiIdentifier: 'sms_sender', businessId: 'sms-eu-1' },
    ];
    const reg = await tenant.http.post<{ data: { id: string; businessId: string }[] }>('/api/instances/batch', { instances });
    expect(reg.status, reg.text).to.equal(200);
    for (const i of reg.body.data) ids.set(i.businessId, i.id);
    dir = mkdtempSync(path.join(os.tmpdir(), 'apg-sdk-readme-'));
  });

  after(async () => {
    if (dir) rmSync(dir, { recursive: true, force: true });
    await new Promise((r) => providers?.close(r));
    await ingestor?.close();
    await api?.close();
    await probe?.close();
  });

  /** Runs one README block as a .js file in its own node process (async: the api answers from this process). */
  async function runExample(name: string): Promise<string> {
    const code = examples.get(name);
    expect(code, `README example "${name}"`).to.be.a('string');
    const file = path.join(dir, `${name}.js`);
    writeFileSync(file, code!);
    const env = {
      PATH: process.env['PATH'] ?? '',
      NODE_PATH: path.join(ROOT, 'node_modules'),
      GATEWAY_URL: `http://127.0.0.1:${api.port}`,
      APG_API_KEY: tenant.apiKey,
      KAFKA_BROKERS: testEnv().brokers.join(','),
      APG_TOPIC: names.topic,
      APG_PROJECT_ID: tenant.projectId,
      APG_INSTANCE_ID: ids.get('sms-eu-1')!,
    };
    const { stdout, stderr } = await run(process.execPath, [file], { env, timeout: 60_000 });
    console.log(stdout.trim().split('\n').map((l) => `      [${name}] ${l}`).join('\n'));
    if (stderr.trim()) console.log(`      [${name} stderr] ${stderr.trim()}`);
    return stdout;
  }

  it('finds the three examples', () => {
    expect([...examples.keys()]).to.have.members(['llm', 'payment', 'worker']);
  });

  it('llm: the failing gpt-4o instance is tried, then the fallback chain serves', async () => {
    const out = await runExample('llm');
    expect(out).to.include('served by claude-1 (claude-sonnet), fallback true: gpt-a:UPSTREAM_5XX → claude-1:ok');
    expect(out).to.include('Hello from claude');
  });

  it('payment: a refused connection (nothing charged) is retried on the other provider', async () => {
    // SMART may pick either first; run until psp-a (the refused one) has been tried at least once.
    let sawRetry = false;
    for (let i = 0; i < 6 && !sawRetry; i++) {
      const out = await runExample('payment');
      expect(out).to.match(/charged ch_1 via psp-b after [12] attempt\(s\)/);
      sawRetry = out.includes('after 2 attempt(s)');
    }
    expect(sawRetry, 'psp-a tried and skipped at least once').to.equal(true);
  });

  it('worker: a signed result and a call() outcome published to Kafka land in Postgres', async () => {
    const out = await runExample('worker');
    expect(out).to.include('sms queued via sms-eu-1');
    expect(out).to.include('published 2, dropped 0');
    const rows = await waitFor('the worker\'s two rows', async () => {
      const { rows: found } = await probe.db.query<{ success: boolean; error_message: string | null }>('test.readme-worker',
        'SELECT success, error_message FROM call_results WHERE project_id = $1 AND instance_id = $2 ORDER BY success', [tenant.projectId, ids.get('sms-eu-1')]);
      return found.length >= 2 ? found : null;
    }, { timeoutMs: 60_000 });
    expect(rows).to.deep.equal([{ success: false, error_message: 'provider unavailable' }, { success: true, error_message: null }]);
  });
});
