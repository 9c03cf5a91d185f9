import type { DeadLetter } from '@apg/platform';

/** Bytes of letters sent in one produce request: well under the broker's default 1 MB request limit. */
export const DLQ_REQUEST_BYTES = 512 * 1024;
/** Bytes of a value kept when one letter alone is too large for the DLQ topic. */
export const DLQ_TRUNCATED_BYTES = 64 * 1024;

const sizeOf = (l: DeadLetter): number => {
  let n = 200 + l.detail.length + (l.message.value?.length ?? 0) + (l.message.key?.length ?? 0);
  for (const [k, v] of Object.entries(l.message.headers ?? {})) n += k.length + (Buffer.isBuffer(v) ? v.length : String(v).length);
  return n;
};

const isTooLarge = (err: unknown): boolean => {
  const e = err as { type?: unknown; message?: unknown };
  return e.type === 'MESSAGE_TOO_LARGE' || e.type === 'RECORD_LIST_TOO_LARGE' || /larger than the max message size/i.test(String(e.message));
};

/**
 * Sends dead letters in requests the broker accepts. A burst of oversized messages (each one fitting
 * the source topic, all of them together not fitting one request) must not make the DLQ send fail —
 * that would be retried forever and stop the consumer. A letter too large on its own (headers added)
 * goes with its value cut to DLQ_TRUNCATED_BYTES, saying so in its detail, rather than blocking.
 */
export async function sendDeadLettersInChunks(send: (letters: DeadLetter[]) => Promise<void>, letters: DeadLetter[], maxBytes = DLQ_REQUEST_BYTES): Promise<void> {
  let chunk: DeadLetter[] = [];
  let bytes = 0;
  for (const letter of letters) {
    const size = sizeOf(letter);
    if (chunk.length > 0 && bytes + size > maxBytes) {
      await sendSplitting(send, chunk);
      chunk = [];
      bytes = 0;
    }
    chunk.push(letter);
    bytes += size;
  }
  if (chunk.length > 0) await sendSplitting(send, chunk);
}

async function sendSplitting(send: (letters: DeadLetter[]) => Promise<void>, letters: DeadLetter[]): Promise<void> {
  try {
    await send(letters);
  } catch (err) {
    if (!isTooLarge(err)) throw err;
    if (letters.length > 1) {
      const mid = letters.length >>> 1;
      await sendSplitting(send, letters.slice(0, mid));
      await sendSplitting(send, letters.slice(mid));
      return;
    }
    const letter = letters[0]!;
    const value = letter.message.value;
    if (!value || value.length <= DLQ_TRUNCATED_BYTES) throw err;
    await send([{
      ...letter,
      message: { ...letter.message, value: value.subarray(0, DLQ_TRUNCATED_BYTES) },
      detail: `${letter.detail} (value truncated from ${value.length} bytes: too large for the DLQ topic)`,
    }]);
  }
}
