import { expect } from 'chai';
import type { KafkaMessage } from 'kafkajs';
import { REQUEST_ID_KAFKA_HEADER } from '@apg/contracts';
import type { DeadLetter } from '@apg/platform';
import { logDeadLetteredRequests } from './dead-letter-log';

function letter(offset: number, headers: KafkaMessage['headers']): DeadLetter {
  const message = { key: null, value: Buffer.from('{'), timestamp: '0', attributes: 0, offset: String(offset), headers } as KafkaMessage;
  return { message, partition: 2, reason: 'malformed_json', detail: 'x' };
}

describe('logDeadLetteredRequests', () => {
  const lines: Record<string, unknown>[] = [];
  const log = { warn: (obj: Record<string, unknown>) => void lines.push(obj) } as never;
  beforeEach(() => {
    lines.length = 0;
  });

  it('writes one line per letter that carries a valid request id, with its reason and position', () => {
    const n = logDeadLetteredRequests(log, [
      letter(1, { [REQUEST_ID_KAFKA_HEADER]: Buffer.from('req-1') }),
      letter(2, {}),
      letter(3, { [REQUEST_ID_KAFKA_HEADER]: Buffer.from('forged\nline') }),
      letter(4, { [REQUEST_ID_KAFKA_HEADER]: Buffer.alloc(64 * 1024, 0x61) }),
      letter(5, { [REQUEST_ID_KAFKA_HEADER]: 'req-5' }),
    ]);
    expect(n).to.equal(2);
    expect(lines).to.deep.equal([
      { requestId: 'req-1', reason: 'malformed_json', partition: 2, offset: '1' },
      { requestId: 'req-5', reason: 'malformed_json', partition: 2, offset: '5' },
    ]);
  });

  it('stops at the cap however many letters a batch has', () => {
    const letters = Array.from({ length: 10_000 }, (_, i) => letter(i, { [REQUEST_ID_KAFKA_HEADER]: `r${i}` }));
    expect(logDeadLetteredRequests(log, letters, 20)).to.equal(20);
    expect(lines).to.have.length(20);
  });
});
