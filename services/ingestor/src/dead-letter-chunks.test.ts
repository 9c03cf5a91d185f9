import { expect } from 'chai';
import type { DeadLetter } from '@apg/platform';
import { DLQ_TRUNCATED_BYTES, sendDeadLettersInChunks } from './dead-letter-chunks';

const letter = (bytes: number, offset = '0'): DeadLetter => ({
  message: { offset, key: Buffer.from('k'), value: Buffer.alloc(bytes, 120), timestamp: '0', attributes: 0, headers: {} },
  partition: 0,
  reason: 'oversized',
  detail: 'too big',
});
const tooLarge = () => Object.assign(new Error('The request included a message larger than the max message size the server will accept'), { type: 'MESSAGE_TOO_LARGE' });

describe('dead letters in chunks', () => {
  it('sends a burst of large letters in requests under the byte limit, in order', async () => {
    const sent: DeadLetter[][] = [];
    const letters = Array.from({ length: 200 }, (_, i) => letter(17_000, String(i)));
    await sendDeadLettersInChunks(async (chunk) => void sent.push(chunk), letters);
    expect(sent.length).to.be.above(1);
    for (const chunk of sent) expect(chunk.reduce((s, l) => s + l.message.value!.length, 0)).to.be.at.most(512 * 1024);
    expect(sent.flat().map((l) => l.message.offset)).to.deep.equal(letters.map((l) => l.message.offset));
  });

  it('splits a request the broker still finds too large, and truncates a letter too large on its own', async () => {
    const sent: DeadLetter[][] = [];
    const send = async (chunk: DeadLetter[]) => {
      const bytes = chunk.reduce((s, l) => s + l.message.value!.length, 0);
      if (bytes > 200_000) throw tooLarge();
      sent.push(chunk);
    };
    await sendDeadLettersInChunks(send, [letter(150_000, '1'), letter(150_000, '2'), letter(300_000, '3')]);
    expect(sent.map((c) => c.map((l) => l.message.offset))).to.deep.equal([['1'], ['2'], ['3']]);
    const truncated = sent[2]![0]!;
    expect(truncated.message.value!.length).to.equal(DLQ_TRUNCATED_BYTES);
    expect(truncated.detail).to.match(/truncated from 300000 bytes/);
  });

  it('lets infrastructure errors through for the caller to retry', async () => {
    let error: unknown;
    try {
      await sendDeadLettersInChunks(async () => { throw new Error('Connection error: ECONNREFUSED'); }, [letter(10)]);
    } catch (err) {
      error = err;
    }
    expect((error as Error).message).to.match(/ECONNREFUSED/);
  });
});
