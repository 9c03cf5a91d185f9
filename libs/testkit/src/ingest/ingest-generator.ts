import type { IHeaders } from 'kafkajs';
import { CALL_RESULT_SCHEMA_VERSION, ERROR_TYPES, MAX_COST_PER_EVENT, MAX_TOKENS_PER_EVENT, type CallResultEvent } from '@apg/contracts';
import { newId } from '@apg/platform';
import { serviceSignature } from '../signing';
import type { TestInstance } from './ingest-fixture';

/** One generated Kafka message and what the ingestor must do with it. */
export interface Generated {
  key: string;
  value: string | null;
  headers: IHeaders;
  /** `row`: the event's id must be stored exactly once; otherwise the DLQ reason expected. */
  expect: { kind: 'row'; event: CallResultEvent } | { kind: 'dlq'; reason: string };
  /** Sent in a request of its own (a 900 KB header). */
  alone?: boolean;
}

export interface GeneratorWorld {
  /** Instances of the tenant whose events these are. */
  own: TestInstance[];
  /** Instances of another tenant (an event naming one of them with our projectId is foreign). */
  foreign: TestInstance[];
  now: number;
  maxEventBytes: number;
  retentionMs: number;
}

const DAY = 86_400_000;
const uuid = (rand: () => number): string => {
  const hex = Array.from({ length: 32 }, () => Math.floor(rand() * 16).toString(16)).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-8${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
};

/**
 * A seeded stream of messages a hostile or careless world sends: valid events (extreme numbers, NUL
 * characters, the edges of the callTimestamp window), exact duplicates of any earlier message, client
 * retries (same eventId, another callTimestamp), invalid JSON, empty values, unknown schema versions,
 * out-of-bounds fields, foreign and unknown instances, old and future timestamps, oversized values and
 * 900 KB headers. Each message has exactly one defect (or none), so its expected outcome is exact.
 */
export function generateMessages(rand: () => number, count: number, world: GeneratorWorld): Generated[] {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const out: Generated[] = [];
  const valids: CallResultEvent[] = [];
  let hugeHeaders = 0;

  const baseEvent = (inst: TestInstance): CallResultEvent => {
    const success = rand() < 0.8;
    const e: CallResultEvent = {
      eventId: uuid(rand), schemaVersion: CALL_RESULT_SCHEMA_VERSION, projectId: inst.projectId, instanceId: inst.id,
      apiIdentifier: 'gpt4o', apiType: 'MODEL', businessId: inst.businessId, success,
      latencyMs: rand() < 0.05 ? 2_147_483_647 : Math.floor(rand() * 10_000),
      // Within the window, up to its edges: 6.9 days old to 2 min ahead (client retries add ≤ 60 s).
      callTimestamp: world.now - Math.floor(rand() * (world.retentionMs - 0.1 * DAY)) + (rand() < 0.1 ? Math.floor(rand() * 120_000) : 0),
    };
    if (!success) e.errorType = rand() < 0.8 ? pick(ERROR_TYPES) : 'made-up';
    if (rand() < 0.5) {
      const max = rand() < 0.2;
      e.usage = {
        promptTokens: max ? MAX_TOKENS_PER_EVENT : Math.floor(rand() * 5000),
        completionTokens: max ? MAX_TOKENS_PER_EVENT : Math.floor(rand() * 5000),
        totalTokens: max ? MAX_TOKENS_PER_EVENT : Math.floor(rand() * 10_000),
        cost: max ? MAX_COST_PER_EVENT : Math.round(rand() * 1e6) / 1e6,
      };
    }
    if (rand() < 0.05) e.userId = 'user\u0000nul';
    if (rand() < 0.1) e.statusCode = pick([100, 200, 429, 503, 599]);
    return e;
  };
  // Every message is signed as the api signs (the stack's service credential), unless its defect is the
  // signature: then `signature` holds the headers it carries instead.
  const push = (key: string, value: string | null, expect: Generated['expect'], extra: Partial<Generated> & { signature?: IHeaders } = {}) => {
    const { signature, ...rest } = extra;
    out.push({ key, value, expect, ...rest, headers: { 'x-seq': String(out.length), ...(signature ?? serviceSignature(value)) } });
  };
  const valid = (e: CallResultEvent, extra: Partial<Generated> = {}) => {
    valids.push(e);
    push(e.instanceId, JSON.stringify(e), { kind: 'row', event: e }, extra);
  };
  const bad = (e: unknown, reason: string, key = 'k') => push(key, JSON.stringify(e), { kind: 'dlq', reason });

  const kinds: [number, () => void][] = [
    [40, () => valid(baseEvent(pick(world.own)))],
    [8, () => {
      if (out.length === 0) return valid(baseEvent(pick(world.own)));
      const original = pick(out);
      const { 'x-seq': _seq, ...signature } = original.headers;
      push(original.key, original.value, original.expect, { ...(original.alone ? { alone: true } : {}), signature });
    }],
    [8, () => {
      if (valids.length === 0) return valid(baseEvent(pick(world.own)));
      const original = pick(valids);
      const retried = { ...original, callTimestamp: Math.min(original.callTimestamp + 1 + Math.floor(rand() * 60_000), world.now + 180_000) };
      push(retried.instanceId, JSON.stringify(retried), { kind: 'row', event: original });
    }],
    [4, () => push('k', pick(['{"eventId": "x", oops', '', 'null{', '\u0000\u0001', '[1, 2']), { kind: 'dlq', reason: 'malformed_json' })],
    [2, () => push('k', null, { kind: 'dlq', reason: 'malformed_json' })],
    [4, () => bad({ ...baseEvent(pick(world.own)), schemaVersion: 2 }, 'unknown_schema_version')],
    [8, () => {
      const e = baseEvent(pick(world.own));
      const broken = pick<(x: Record<string, unknown>) => void>([
        (x) => (x['latencyMs'] = -1),
        (x) => (x['latencyMs'] = 2_147_483_648),
        (x) => (x['latencyMs'] = 1e308),
        (x) => (x['usage'] = { promptTokens: MAX_TOKENS_PER_EVENT + 1 }),
        (x) => (x['usage'] = { cost: MAX_COST_PER_EVENT * 1.5 }),
        (x) => (x['usage'] = { totalTokens: 1.5 }),
        (x) => (x['eventId'] = 'not-a-uuid'),
        (x) => delete x['instanceId'],
        (x) => (x['businessId'] = 'b'.repeat(129)),
        (x) => (x['callTimestamp'] = -1),
        (x) => (x['statusCode'] = 600),
      ]);
      const x = e as unknown as Record<string, unknown>;
      broken(x);
      bad(x, 'invalid_event', e.instanceId);
    }],
    [4, () => {
      const stranger = pick(world.foreign);
      bad({ ...baseEvent(pick(world.own)), instanceId: stranger.id }, 'foreign_instance', stranger.id);
    }],
    [3, () => bad({ ...baseEvent(pick(world.own)), instanceId: newId() }, 'unknown_instance')],
    [5, () => {
      const e = baseEvent(pick(world.own));
      e.callTimestamp = rand() < 0.5 ? world.now - world.retentionMs - 3_600_000 - Math.floor(rand() * 30 * DAY) : world.now + 600_000 + Math.floor(rand() * 400 * DAY);
      bad(e, 'timestamp_out_of_range', e.instanceId);
    }],
    [3, () => {
      const e = baseEvent(pick(world.own));
      bad({ ...e, errorMessage: undefined, pad: 'p'.repeat(world.maxEventBytes) }, 'oversized', e.instanceId);
    }],
    // Signature defects: each refused with its reason, whatever the event.
    [2, () => {
      const e = baseEvent(pick(world.own));
      push(e.instanceId, JSON.stringify(e), { kind: 'dlq', reason: 'unsigned' }, { signature: {} });
    }],
    [2, () => {
      const e = baseEvent(pick(world.own));
      const forged = serviceSignature(JSON.stringify({ ...e, success: !e.success }));
      push(e.instanceId, JSON.stringify(e), { kind: 'dlq', reason: 'bad_signature' }, { signature: forged });
    }],
    [1, () => {
      const e = baseEvent(pick(world.own));
      const value = JSON.stringify(e);
      push(e.instanceId, value, { kind: 'dlq', reason: 'unknown_key' }, { signature: { ...serviceSignature(value), 'apg-key-id': 'f'.repeat(32) } });
    }],
    [1, () => {
      if (hugeHeaders >= 2) return valid(baseEvent(pick(world.own)));
      hugeHeaders++;
      valid(baseEvent(pick(world.own)), { alone: true });
      out[out.length - 1]!.headers['x-huge'] = Buffer.alloc(900 * 1024, 104);
    }],
  ];
  const total = kinds.reduce((s, [w]) => s + w, 0);
  while (out.length < count) {
    let r = rand() * total;
    for (const [w, make] of kinds) {
      if ((r -= w) < 0) {
        make();
        break;
      }
    }
  }
  return out;
}
