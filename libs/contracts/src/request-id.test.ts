import { expect } from 'chai';
import { acceptRequestId, REQUEST_ID_KAFKA_HEADER, requestIdHeaders, requestIdOfHeaders } from './request-id';

describe('request id', () => {
  const cases: [string, unknown, string | null][] = [
    ['a UUID', '0b0e6c7a-5d1f-4a55-9d3e-2f5b1c1e9a10', '0b0e6c7a-5d1f-4a55-9d3e-2f5b1c1e9a10'],
    ['an AWS-style trace id', 'Root=1-5759e988-bd862e3fe1be46a994272793', 'Root=1-5759e988-bd862e3fe1be46a994272793'],
    ['a base64 token', 'aGVsbG8+/w==', 'aGVsbG8+/w=='],
    ['128 characters', 'x'.repeat(128), 'x'.repeat(128)],
    ['129 characters', 'x'.repeat(129), null],
    ['a megabyte', 'x'.repeat(1 << 20), null],
    ['empty', '', null],
    ['a newline (log forging)', 'abc\ninjected', null],
    ['a space', 'a b', null],
    ['a quote', 'a"b', null],
    ['a semicolon', 'Root=1;Parent=2', null],
    ['non-ASCII', 'réquest', null],
    ['a NUL', 'a\u0000b', null],
    ['not a string', 42, null],
    ['an array (repeated header)', ['a', 'b'], null],
    ['undefined', undefined, null],
  ];
  for (const [what, input, expected] of cases) {
    it(`${what} → ${expected === null ? 'refused' : 'accepted'}`, () => {
      expect(acceptRequestId(input)).to.equal(expected);
    });
  }

  it('round-trips through Kafka headers in every shape kafkajs hands them over', () => {
    const written = requestIdHeaders('req-1');
    expect(written).to.deep.equal({ [REQUEST_ID_KAFKA_HEADER]: 'req-1' });
    expect(requestIdOfHeaders({ [REQUEST_ID_KAFKA_HEADER]: Buffer.from('req-1') })).to.equal('req-1');
    expect(requestIdOfHeaders({ [REQUEST_ID_KAFKA_HEADER]: 'req-1' })).to.equal('req-1');
    expect(requestIdOfHeaders({ [REQUEST_ID_KAFKA_HEADER]: [Buffer.from('req-1'), Buffer.from('req-2')] })).to.equal('req-1');
  });

  it('ignores a missing, forged or oversized header', () => {
    expect(requestIdOfHeaders(undefined)).to.equal(undefined);
    expect(requestIdOfHeaders({})).to.equal(undefined);
    expect(requestIdOfHeaders({ [REQUEST_ID_KAFKA_HEADER]: Buffer.from('bad\nid') })).to.equal(undefined);
    expect(requestIdOfHeaders({ [REQUEST_ID_KAFKA_HEADER]: Buffer.alloc(900 * 1024, 0x61) })).to.equal(undefined);
  });
});
