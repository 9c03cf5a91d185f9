import { expect } from 'chai';
import type { IHeaders, Message } from 'kafkajs';
import {
  DLQ_HEADER_BUDGET_BYTES,
  DLQ_HEADERS,
  DLQ_REQUEST_BYTES,
  DLQ_VALUE_BUDGET_BYTES,
  deadLetterRecord,
  sendDeadLetterRecords,
  type DeadLetter,
} from './dead-letter';
import { ClassifiedError, classifyError } from './error-class';

const letter = (over: { value?: Buffer | null; key?: Buffer | null; headers?: IHeaders; offset?: string } = {}): DeadLetter => ({
  message: {
    offset: over.offset ?? '7', key: over.key === undefined ? Buffer.from('k') : over.key,
    value: over.value === undefined ? Buffer.from('{"bad":') : over.value, timestamp: '0', attributes: 0, headers: over.headers ?? {},
  },
  partition: 2,
  reason: 'malformed_json',
  detail: 'Unexpected end of JSON input',
});
const tooLarge = () => Object.assign(new Error('The request included a message larger than the max message size the server will accept'), { name: 'KafkaJSProtocolError', type: 'MESSAGE_TOO_LARGE', retriable: false });
const size = (m: Message) => (m.value?.length ?? 0) + (m.key?.length ?? 0)
  + Object.entries(m.headers ?? {}).reduce((s, [k, v]) => s + k.length + (v === undefined ? 0 : Buffer.byteLength(v as Buffer | string)), 0);

describe('dead-letter records', () => {
  it('copies key, value and headers and adds reason, detail, source and time', () => {
    const r = deadLetterRecord(letter({ headers: { trace: 'abc' } }), 'apg.call-results', 42);
    expect(r.value!.toString()).to.equal('{"bad":');
    expect(r.key!.toString()).to.equal('k');
    expect(r.headers).to.deep.equal({
      trace: 'abc', [DLQ_HEADERS.reason]: 'malformed_json', [DLQ_HEADERS.detail]: 'Unexpected end of JSON input',
      [DLQ_HEADERS.source]: 'apg.call-results/2/7', [DLQ_HEADERS.at]: '42',
    });
  });

  it('drops original headers beyond 64 KiB (saying so), keeps the ones that fit, and ignores forged dlq headers', () => {
    const huge = { small: 'x', big: Buffer.alloc(900 * 1024, 1), 'apg-dlq-reason': 'forged', after: 'y' };
    const r = deadLetterRecord(letter({ headers: huge }), 't', 1);
    expect(Object.keys(r.headers!)).to.include.members(['small', 'after']);
    expect(r.headers).to.not.have.property('big');
    expect(r.headers![DLQ_HEADERS.reason]).to.equal('malformed_json');
    expect(String(r.headers![DLQ_HEADERS.headersDropped])).to.match(/^1 original headers \(921603 bytes\) dropped/);
    expect(size(r)).to.be.below(DLQ_HEADER_BUDGET_BYTES + 2048);
  });

  it('bounds a record whose key, headers and value are all huge below 1 MiB', () => {
    const headers: IHeaders = {};
    for (let i = 0; i < 100; i++) headers[`h${i}`] = 'z'.repeat(9000);
    const r = deadLetterRecord(letter({ key: Buffer.alloc(100_000), value: Buffer.alloc(1_000_000), headers }), 't', 1);
    expect(r.value!.length).to.equal(DLQ_VALUE_BUDGET_BYTES);
    expect(r.headers![DLQ_HEADERS.valueTruncated]).to.equal('1000000');
    expect(r.key).to.equal(null);
    expect(r.headers![DLQ_HEADERS.keyDropped]).to.equal('100000');
    expect(size(r)).to.be.below(1024 * 1024 - 1024);
  });
});

describe('sending dead letters', () => {
  it('sends a burst in requests under the byte limit, in order', async () => {
    const sent: Message[][] = [];
    const letters = Array.from({ length: 200 }, (_, i) => letter({ value: Buffer.alloc(17_000, 120), offset: String(i) }));
    await sendDeadLetterRecords(async (records) => void sent.push(records), letters, 't', 1);
    expect(sent.length).to.be.above(1);
    for (const chunk of sent) expect(chunk.reduce((s, r) => s + size(r), 0)).to.be.at.most(DLQ_REQUEST_BYTES);
    expect(sent.flat().map((r) => String(r.headers![DLQ_HEADERS.source]))).to.deep.equal(letters.map((l) => `t/2/${l.message.offset}`));
  });

  it('splits a request the broker finds too large, and falls back to a minimal record for a letter too large alone', async () => {
    const sent: Message[][] = [];
    let calls = 0;
    const send = async (records: Message[]) => {
      calls++;
      if (records.reduce((s, r) => s + size(r), 0) > 200_000) throw tooLarge();
      sent.push(records);
    };
    const letters = [letter({ value: Buffer.alloc(150_000), offset: '1' }), letter({ value: Buffer.alloc(150_000), offset: '2' }), letter({ value: Buffer.alloc(300_000), offset: '3' })];
    await sendDeadLetterRecords(send, letters, 't', 1);
    expect(sent.map((c) => c.map((r) => String(r.headers![DLQ_HEADERS.source])))).to.deep.equal([['t/2/1'], ['t/2/2'], ['t/2/3']]);
    const minimal = sent[2]![0]!;
    expect(minimal.value).to.equal(null);
    expect(minimal.headers![DLQ_HEADERS.minimal]).to.be.a('string');
    expect(minimal.headers![DLQ_HEADERS.reason]).to.equal('malformed_json');
    expect(calls, 'bounded attempts').to.be.at.most(6);
  });

  it('never retries for ever: a DLQ refusing even the minimal record is a bug', async () => {
    let thrown: unknown;
    await sendDeadLetterRecords(() => Promise.reject(tooLarge()), [letter()], 't', 1).catch((err: unknown) => (thrown = err));
    expect(thrown).to.be.instanceOf(ClassifiedError);
    expect(classifyError(thrown)).to.equal('bug');
  });

  it('lets infrastructure errors through for the caller to retry', async () => {
    const down = Object.assign(new Error('Connection error: connect ECONNREFUSED'), { name: 'KafkaJSConnectionError', retriable: true });
    let thrown: unknown;
    await sendDeadLetterRecords(() => Promise.reject(down), [letter()], 't', 1).catch((err: unknown) => (thrown = err));
    expect(thrown).to.equal(down);
    expect(classifyError(thrown)).to.equal('infrastructure');
  });
});
