// `npm run bench:verify [-- --events 20000 --rounds 7]`: what verifying signed events costs the consumers.
//
// The same batch of realistic events goes through the consumers' intake (platform admitEvents: size,
// decode, timestamp window, ownership) twice per round, alternately: unsigned with REQUIRE_SIGNED_EVENTS
// off (no verification: the intake as it was), and signed with project keys (header parse, key look-up
// from the in-memory book, HMAC-SHA256 of the value, status and project checks). No I/O: the key store and
// the instance directory answer from memory, as they do once warm, so the difference is the CPU cost of
// verification per event. Prints both medians and the difference; the last line is
// `verify: <ns> ns per event (<pct> % of intake)`.
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import type { KafkaMessage } from 'kafkajs';
import { apiKeyDigest, CALL_RESULT_SCHEMA_VERSION, signEvent, signingKeyIdOfDigest, type CallResultEvent } from '@apg/contracts';
import { admitEvents, SigningKeyBook, type InstanceDirectory, type SigningKeyRow, type SigningPolicy } from '@apg/platform';

const { values: args } = parseArgs({ options: { events: { type: 'string', default: '20000' }, rounds: { type: 'string', default: '7' } } });
const EVENTS = Math.max(1, Number(args.events));
const ROUNDS = Math.max(1, Number(args.rounds));
const PROJECTS = 3;
const INSTANCES = 60;

const projects = Array.from({ length: PROJECTS }, (_, p) => ({ id: String(p).repeat(32).slice(0, 32), apiKey: `gw_bench-key-${p}-${randomUUID()}` }));
const instances = Array.from({ length: INSTANCES }, (_, i) => ({ id: randomUUID().replaceAll('-', ''), project: projects[i % PROJECTS]! }));
const owners = new Map(instances.map((i) => [i.id, i.project.id]));
const directory = { ownersOf: async (ids: Iterable<string>) => new Map([...new Set(ids)].map((id) => [id, owners.get(id)!])) } as unknown as InstanceDirectory;
const rows: SigningKeyRow[] = projects.map((p) => ({
  signingKeyId: signingKeyIdOfDigest(apiKeyDigest(p.apiKey)), keyDigest: apiKeyDigest(p.apiKey), status: 'ACTIVE', expiresAt: null, projectId: p.id, projectStatus: 'ACTIVE',
}));
const store = { keysOf: async (ids: readonly string[]) => rows.filter((r) => ids.includes(r.signingKeyId)) };

function event(i: (typeof instances)[number], now: number): CallResultEvent {
  const prompt = Math.floor(Math.random() * 2000);
  return {
    eventId: randomUUID(), schemaVersion: CALL_RESULT_SCHEMA_VERSION, projectId: i.project.id, instanceId: i.id,
    apiIdentifier: 'gpt4o', apiType: 'MODEL', businessId: `bench-${i.id.slice(0, 6)}`, success: true,
    latencyMs: Math.round(Math.exp(4 + Math.random() * 3)), statusCode: 200,
    usage: { promptTokens: prompt, completionTokens: 100, totalTokens: prompt + 100, cost: prompt * 0.000002 },
    callTimestamp: now, receivedAt: now,
  };
}

const now = Date.now();
const signed: KafkaMessage[] = [];
const unsigned: KafkaMessage[] = [];
for (let n = 0; n < EVENTS; n++) {
  const inst = instances[n % INSTANCES]!;
  const value = Buffer.from(JSON.stringify(event(inst, now)));
  const base = { key: Buffer.from(inst.id), value, timestamp: String(now), attributes: 0, offset: String(n) };
  // Headers as kafkajs hands them to a consumer: Buffers.
  const headers = Object.fromEntries(Object.entries(signEvent(value, inst.project.apiKey)).map(([k, v]) => [k, Buffer.from(v)]));
  signed.push({ ...base, headers });
  unsigned.push({ ...base, headers: {} });
}

const limits = { maxBytes: 16_384, now, retentionMs: 7 * 86_400_000 };
const required: SigningPolicy = { keys: new SigningKeyBook(store, [], { ttlMs: 3_600_000 }), requireSigned: true };
const migration: SigningPolicy = { keys: new SigningKeyBook(store, [], { ttlMs: 3_600_000 }), requireSigned: false };

/** ns per event of one pass of the batch through intake, in chunks of 500 (a Kafka batch). */
async function pass(messages: KafkaMessage[], policy: SigningPolicy): Promise<number> {
  const started = process.hrtime.bigint();
  let admitted = 0;
  for (let i = 0; i < messages.length; i += 500) admitted += (await admitEvents(messages.slice(i, i + 500), 0, directory, policy, limits)).admitted.length;
  const ns = Number(process.hrtime.bigint() - started);
  if (admitted !== messages.length) throw new Error(`only ${admitted} of ${messages.length} admitted`);
  return ns / messages.length;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  // Warm-up: JIT, and the books learn the keys (one look-up each).
  await pass(unsigned, migration);
  await pass(signed, required);
  const plain: number[] = [];
  const verified: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    plain.push(await pass(unsigned, migration));
    verified.push(await pass(signed, required));
  }
  const a = median(plain);
  const b = median(verified);
  console.log(`intake without verification: median ${a.toFixed(0)} ns per event (${plain.map((x) => x.toFixed(0)).join(', ')})`);
  console.log(`intake with verification:    median ${b.toFixed(0)} ns per event (${verified.map((x) => x.toFixed(0)).join(', ')})`);
  console.log(`verify: ${(b - a).toFixed(0)} ns per event (${((100 * (b - a)) / b).toFixed(0)} % of intake)`);
}

main().catch((err: Error) => {
  console.error(`bench: failed: ${err.stack ?? err.message}`);
  process.exit(1);
});
