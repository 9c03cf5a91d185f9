import { execFileSync, spawnSync } from 'node:child_process';
import { createHash, createHmac } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { Kafka, logLevel, Partitioners } from 'kafkajs';
import { signEvent } from '@apg/contracts';
import { waitForRecord } from '../aggregator/fixtures';
import { startAggregator, type TestAggregator } from '../stack';
import { testEnv } from '../test-env';
import { waitFor } from '../wait-for';
import {
  callEvent,
  closeIngestSuite,
  countStored,
  openIngestSuite,
  registerInstances,
  registerProjectKey,
  startIngestorInProcess,
  type IngestSuite,
  type TestInstance,
} from './ingest-fixture';

const README = path.resolve(__dirname, '../../../../README.md');

/** The fenced code blocks of the README's "Publishing results to Kafka" section, with their language. */
function recipeBlocks(): { lang: string; code: string }[] {
  const text = readFileSync(README, 'utf8');
  const start = text.indexOf('\n## Publishing results to Kafka\n');
  expect(start, 'README section "Publishing results to Kafka"').to.be.greaterThan(-1);
  const end = text.indexOf('\n## ', start + 10);
  const section = text.slice(start, end === -1 ? undefined : end);
  return [...section.matchAll(/```(\w*)\n([\s\S]*?)```/g)].map((m) => ({ lang: m[1]!, code: m[2]! }));
}

const block = (lang: string, contains: string): string => {
  const found = recipeBlocks().find((b) => b.lang === lang && b.code.includes(contains));
  expect(found, `a ${lang} block with ${contains}`).to.not.equal(undefined);
  return found!.code;
};

/**
 * The README's derivation, implemented here from its text alone with node:crypto (no contracts code):
 * what a publisher in another language writes.
 */
function readmeHeaders(value: Buffer, apiKey: string): { 'apg-key-id': string; 'apg-signature': string } {
  const keyDigest = createHash('sha256').update(Buffer.from(apiKey, 'utf8')).digest('hex');
  const keyId = createHash('sha256').update(Buffer.from(`apg-key-id:v1:${keyDigest}`, 'utf8')).digest('hex').slice(0, 32);
  const secret = createHmac('sha256', Buffer.from(keyDigest, 'utf8')).update(Buffer.from('apg-event-signing:v1', 'utf8')).digest();
  return { 'apg-key-id': keyId, 'apg-signature': `v1=${createHmac('sha256', secret).update(value).digest('hex')}` };
}

const has = (cmd: string): boolean => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;

/**
 * A publisher that follows only the README (issue 10 §3): no SDK, no contracts code. Its events, published
 * straight to the topic, are stored and counted by the real ingestor and aggregator. The README's Python
 * and Java lines (run as written with python3 and `java Sign.java`) produce exactly the headers of the
 * gateway's signEvent, and the README's shell recipe (openssl + kcat) publishes an event that counts.
 */
describe('README recipe: a publisher with no SDK signs events that count (real stack)', function () {
  this.timeout(240_000);
  let suite: IngestSuite;
  let ingestor: Awaited<ReturnType<typeof startIngestorInProcess>> | null = null;
  let aggregator: TestAggregator | null = null;
  let projectId: string;
  let instances: TestInstance[];
  let apiKey: string;
  const value = Buffer.from(JSON.stringify({ note: 'any bytes: the signature covers them as sent', ünïcode: '✓' }), 'utf8');

  before(async () => {
    suite = await openIngestSuite();
    ingestor = await startIngestorInProcess(suite.names);
    aggregator = await startAggregator(suite.names);
    ({ projectId, instances } = await registerInstances(suite.probe.db, 3));
    apiKey = await registerProjectKey(suite.probe.db, projectId);
  });

  after(async () => {
    await aggregator?.close();
    await ingestor?.close();
    await closeIngestSuite(suite);
  });

  it('the README\'s derivation (node:crypto, from the text) gives the headers signEvent gives', () => {
    expect(block('', 'keyDigest')).to.include('apg-event-signing:v1');
    expect(readmeHeaders(value, apiKey)).to.deep.equal(signEvent(value, apiKey));
  });

  it('events signed that way and published with plain kafkajs are stored and counted', async () => {
    const kafka = new Kafka({ clientId: 'readme-publisher', brokers: testEnv().brokers, logLevel: logLevel.NOTHING });
    const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    try {
      const inst = instances[0]!;
      const messages = Array.from({ length: 5 }, () => {
        const bytes = Buffer.from(JSON.stringify(callEvent(inst, { success: false })), 'utf8');
        return { key: inst.id, value: bytes, headers: readmeHeaders(bytes, apiKey) };
      });
      await producer.send({ topic: suite.names.topic, acks: -1, messages });
    } finally {
      await producer.disconnect();
    }
    await waitFor('5 rows', async () => (await countStored(suite.probe.db, projectId)).rows === 5);
    await waitForRecord(suite.probe.redis, suite.names, instances[0]!.id, '5 failures in the window', (r) => r.stats?.calls === 5 && r.stats.failures === 5);
  });

  it('the README\'s Python lines (python3, standard library) give the same headers', function () {
    if (!has('python3')) this.skip();
    const harness = `${block('python', 'def apg_signature_headers')}
import json, sys
print(json.dumps({k: v.decode("utf-8") for k, v in apg_signature_headers(sys.stdin.buffer.read(), sys.argv[1])}))
`;
    const out = execFileSync('python3', ['-c', harness, apiKey], { input: value, encoding: 'utf8' });
    expect(JSON.parse(out)).to.deep.equal(signEvent(value, apiKey));
  });

  it('the README\'s Java lines (java Sign.java, javax.crypto only) give the same headers', function () {
    if (!has('java')) this.skip();
    this.timeout(120_000);
    const code = block('java', 'final class ApgSignature');
    const lines = code.split('\n');
    const imports = lines.filter((l) => l.startsWith('import '));
    const body = lines.filter((l) => !l.startsWith('import ')).join('\n');
    // Single-file source launch runs the first class of the file: the harness comes first, the README's class after.
    const source = `${imports.join('\n')}
public class Sign {
  public static void main(String[] args) throws Exception {
    String[] h = ApgSignature.headers(System.in.readAllBytes(), args[0]);
    System.out.println(h[0]);
    System.out.println(h[1]);
  }
}
${body}`;
    const dir = mkdtempSync(path.join(tmpdir(), 'apg-readme-java-'));
    try {
      writeFileSync(path.join(dir, 'Sign.java'), source);
      const out = execFileSync('java', ['Sign.java', apiKey], { cwd: dir, input: value, encoding: 'utf8' }).trim().split('\n');
      const want = signEvent(value, apiKey);
      expect(out).to.deep.equal([want['apg-key-id'], want['apg-signature']]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the README\'s shell recipe (openssl + kcat), run as written, publishes an event that counts', async function () {
    if (!has('kcat') || !has('openssl')) this.skip();
    const script = block('sh', 'kcat -P')
      .split('\n')
      // The example's own values are replaced by this stack's (given in the environment).
      .filter((l) => !/^(?:API_KEY|INSTANCE_ID|VALUE|BROKERS|TOPIC)=/.test(l))
      .join('\n');
    const inst = instances[1]!;
    const event = callEvent(inst, { success: false, errorType: 'TIMEOUT' });
    const result = spawnSync('bash', ['-euo', 'pipefail', '-c', script], {
      env: { ...process.env, API_KEY: apiKey, INSTANCE_ID: inst.id, VALUE: JSON.stringify(event), BROKERS: testEnv().brokers.join(','), TOPIC: suite.names.topic },
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(result.status, result.stderr).to.equal(0);
    await waitFor('the kcat event stored', async () => {
      const { rows } = await suite.probe.db.query<{ n: number }>('test.kcat', 'SELECT count(*)::int AS n FROM call_results WHERE event_id = $1', [event.eventId]);
      return rows[0]!.n === 1;
    }, { timeoutMs: 30_000 });
    await waitForRecord(suite.probe.redis, suite.names, inst.id, 'the kcat event in the window', (r) => r.stats?.calls === 1 && r.stats.failures === 1);
  });
});
