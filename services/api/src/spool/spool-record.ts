import { crc32 } from 'node:zlib';
import { CallResultEventSchema, type CallResultEvent } from '@apg/contracts';

/**
 * One spooled report on disk: `[u32 length][u32 crc32(payload)][payload]`, big-endian, payload a JSON
 * {@link SpoolPayload}. The checksum is what tells a torn tail (the process or the machine died in the middle
 * of a write) or a corrupt block from a record: such a frame is cut, never replayed as garbage.
 */
export const FRAME_HEADER_BYTES = 8;

/**
 * Largest payload a frame may announce. A report is one event of at most a few KiB (the body limit is 1 MiB);
 * a length above this is a corrupt header, and trusting it would make the reader allocate whatever it says.
 */
export const MAX_PAYLOAD_BYTES = 4 * 1024 * 1024;

/** Version 1 of the payload: when it was spooled, the HTTP request id (the `apg-request-id` header), the events. */
export interface SpoolPayload {
  v: 1;
  /** Spool time (ms): the age limit counts from here. */
  t: number;
  r?: string;
  e: CallResultEvent[];
}

export interface SpooledReport {
  spooledAt: number;
  requestId?: string;
  events: CallResultEvent[];
}

export function encodeFrame(report: SpooledReport): Buffer {
  const payload: SpoolPayload = { v: 1, t: report.spooledAt, e: report.events };
  if (report.requestId !== undefined) payload.r = report.requestId;
  const body = Buffer.from(JSON.stringify(payload), 'utf8');
  if (body.length > MAX_PAYLOAD_BYTES) throw new RangeError(`spool record of ${body.length} bytes exceeds ${MAX_PAYLOAD_BYTES}`);
  const frame = Buffer.allocUnsafe(FRAME_HEADER_BYTES + body.length);
  frame.writeUInt32BE(body.length, 0);
  frame.writeUInt32BE(crc32(body), 4);
  body.copy(frame, FRAME_HEADER_BYTES);
  return frame;
}

/**
 * What the bytes at `offset` of `buf` hold:
 * - `frame`: a whole frame whose checksum matches (`payload` still to be decoded, `size` its bytes on disk);
 * - `partial`: the buffer ends inside a frame that may still be whole on disk (`need` bytes from `offset`);
 * - `corrupt`: a header no writer produces, or a checksum that does not match — nothing after it can be trusted.
 */
export type FrameRead =
  | { kind: 'frame'; payload: Buffer; size: number }
  | { kind: 'partial'; need: number }
  | { kind: 'corrupt'; detail: string };

export function readFrame(buf: Buffer, offset: number): FrameRead {
  const left = buf.length - offset;
  if (left < FRAME_HEADER_BYTES) return { kind: 'partial', need: FRAME_HEADER_BYTES };
  const length = buf.readUInt32BE(offset);
  if (length === 0 || length > MAX_PAYLOAD_BYTES) return { kind: 'corrupt', detail: `frame length ${length}` };
  const size = FRAME_HEADER_BYTES + length;
  if (left < size) return { kind: 'partial', need: size };
  const payload = buf.subarray(offset + FRAME_HEADER_BYTES, offset + size);
  if (crc32(payload) !== buf.readUInt32BE(offset + 4)) return { kind: 'corrupt', detail: 'checksum mismatch' };
  return { kind: 'frame', payload, size };
}

/** The report a checksummed payload holds, or why it cannot be sent (an unknown version, an event the schema refuses). */
export function decodePayload(payload: Buffer): { ok: true; report: SpooledReport } | { ok: false; detail: string } {
  let raw: unknown;
  try {
    raw = JSON.parse(payload.toString('utf8'));
  } catch (err) {
    return { ok: false, detail: `payload: ${(err as Error).message}` };
  }
  if (typeof raw !== 'object' || raw === null) return { ok: false, detail: 'payload is not an object' };
  const p = raw as Partial<Record<keyof SpoolPayload, unknown>>;
  if (p.v !== 1) return { ok: false, detail: `payload version ${String(p.v)}` };
  if (typeof p.t !== 'number' || !Array.isArray(p.e)) return { ok: false, detail: 'payload without t or e' };
  if (p.r !== undefined && typeof p.r !== 'string') return { ok: false, detail: 'payload r is not a string' };
  const events: CallResultEvent[] = [];
  for (const e of p.e) {
    const parsed = CallResultEventSchema.safeParse(e);
    if (!parsed.success) return { ok: false, detail: `event: ${parsed.error.issues[0]?.message ?? 'invalid'}` };
    events.push(parsed.data);
  }
  return { ok: true, report: { spooledAt: p.t, events, ...(p.r === undefined ? {} : { requestId: p.r }) } };
}
