import { expect } from 'chai';
import type { KafkaMessage } from 'kafkajs';
import { CALL_RESULT_SCHEMA_VERSION, MAX_CALL_TIMESTAMP_SKEW_MS } from '@apg/contracts';
import { admitEvents } from './event-intake';
import type { InstanceDirectory } from './instance-directory';

const NOW = Date.parse('2026-11-30T12:00:00Z');
const RETENTION = 7 * 86_400_000;
const PROJECT = 'b'.repeat(32);
const OTHER = 'c'.repeat(32);
const INSTANCE = 'a'.repeat(32);
const STRANGER = 'd'.repeat(32);

/** Owners as the registry would answer; the look-up is the only I/O of intake. */
const directory = { ownersOf: (ids: Iterable<string>) => Promise.resolve(new Map([...ids].filter((i) => i !== 'e'.repeat(32)).map((i) => [i, i === STRANGER ? OTHER : PROJECT]))) } as unknown as InstanceDirectory;

let offset = 0;
const message = (over: Record<string, unknown> = {}, raw?: string): KafkaMessage => ({
  offset: String(offset++), key: null, timestamp: '0', attributes: 0, headers: {},
  value: Buffer.from(raw ?? JSON.stringify({
    eventId: '00000000-0000-4000-8000-000000000001', schemaVersion: CALL_RESULT_SCHEMA_VERSION, projectId: PROJECT, instanceId: INSTANCE,
    apiIdentifier: 'gpt4o', apiType: 'MODEL', businessId: 'b1', success: true, latencyMs: 5, callTimestamp: NOW, ...over,
  })),
});

const cases: [string, KafkaMessage, string][] = [
  ['an ordinary event', message(), 'admitted'],
  ['dated now + 5 min exactly', message({ callTimestamp: NOW + MAX_CALL_TIMESTAMP_SKEW_MS }), 'admitted'],
  ['dated now + 5 min + 1 ms', message({ callTimestamp: NOW + MAX_CALL_TIMESTAMP_SKEW_MS + 1 }), 'timestamp_out_of_range'],
  ['dated in 2100', message({ callTimestamp: Date.parse('2100-01-01T00:00:00Z') }), 'timestamp_out_of_range'],
  ['dated at 2^53 − 1', message({ callTimestamp: Number.MAX_SAFE_INTEGER }), 'timestamp_out_of_range'],
  ['dated exactly the retention ago', message({ callTimestamp: NOW - RETENTION }), 'admitted'],
  ['dated 1 ms before the retention', message({ callTimestamp: NOW - RETENTION - 1 }), 'timestamp_out_of_range'],
  ['dated 0 (1970)', message({ callTimestamp: 0 }), 'timestamp_out_of_range'],
  ['too large', message({ errorMessage: 'x'.repeat(1000) }), 'oversized'],
  ['not JSON', message({}, '{"eventId":'), 'malformed_json'],
  ['a newer schema version', message({ schemaVersion: 2 }), 'unknown_schema_version'],
  ['a negative latency', message({ latencyMs: -1 }), 'invalid_event'],
  ['an unregistered instance', message({ instanceId: 'e'.repeat(32) }), 'unknown_instance'],
  ['another tenant\'s instance', message({ instanceId: STRANGER }), 'foreign_instance'],
  ['out of range and another tenant\'s: the timestamp is checked first, without a look-up', message({ instanceId: STRANGER, callTimestamp: 0 }), 'timestamp_out_of_range'],
];

describe('admitEvents', () => {
  for (const [name, m, want] of cases) {
    it(`${name} → ${want}`, async () => {
      const intake = await admitEvents([m], 3, directory, { maxBytes: 600, now: NOW, retentionMs: RETENTION });
      const got = intake.admitted.length === 1 ? 'admitted' : intake.rejected[0]?.reason;
      expect(got).to.equal(want);
      expect(intake.admitted.length + intake.rejected.length).to.equal(1);
      for (const r of intake.rejected) expect(r.partition).to.equal(3);
    });
  }
});
