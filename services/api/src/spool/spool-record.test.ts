import { expect } from 'chai';
import { CALL_RESULT_SCHEMA_VERSION, type CallResultEvent } from '@apg/contracts';
import { FRAME_HEADER_BYTES, MAX_PAYLOAD_BYTES, decodePayload, encodeFrame, readFrame } from './spool-record';

const event = (n: number): CallResultEvent => ({
  eventId: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`,
  schemaVersion: CALL_RESULT_SCHEMA_VERSION,
  projectId: 'f'.repeat(32),
  instanceId: 'a'.repeat(32),
  apiIdentifier: 'm',
  apiType: 'MODEL',
  businessId: 'b',
  success: n % 2 === 0,
  latencyMs: n,
  callTimestamp: 1_700_000_000_000 + n,
});

describe('spool record frames', () => {
  it('round-trips a report: length, checksum, payload with its time, request id and events', () => {
    const frame = encodeFrame({ spooledAt: 42, requestId: 'req-1', events: [event(1), event(2)] });
    const r = readFrame(frame, 0);
    expect(r.kind).to.equal('frame');
    if (r.kind !== 'frame') return;
    expect(r.size).to.equal(frame.length);
    const d = decodePayload(r.payload);
    expect(d).to.deep.equal({ ok: true, report: { spooledAt: 42, requestId: 'req-1', events: [event(1), event(2)] } });
  });

  it('reads frames back to back and says how many bytes a cut frame needs', () => {
    const a = encodeFrame({ spooledAt: 1, events: [event(1)] });
    const b = encodeFrame({ spooledAt: 2, events: [event(2)] });
    const buf = Buffer.concat([a, b]);
    const first = readFrame(buf, 0);
    expect(first.kind).to.equal('frame');
    expect(readFrame(buf, a.length).kind).to.equal('frame');
    // Every strict prefix of b is partial (a torn tail), never a frame and never garbage.
    for (let cut = 0; cut < b.length; cut++) {
      const r = readFrame(buf.subarray(0, a.length + cut), a.length);
      expect(r.kind, `cut at ${cut}`).to.equal('partial');
      if (r.kind === 'partial') expect(r.need).to.equal(cut < FRAME_HEADER_BYTES ? FRAME_HEADER_BYTES : b.length);
    }
  });

  it('calls any flipped payload or checksum bit corrupt', () => {
    const frame = encodeFrame({ spooledAt: 7, events: [event(3)] });
    for (let i = 4; i < frame.length; i++) {
      const bad = Buffer.from(frame);
      bad[i] = bad[i]! ^ 0x10;
      expect(readFrame(bad, 0).kind, `byte ${i}`).to.equal('corrupt');
    }
  });

  it('calls a zero or oversized length corrupt without allocating it', () => {
    const zero = Buffer.alloc(16);
    expect(readFrame(zero, 0)).to.deep.include({ kind: 'corrupt' });
    const huge = Buffer.alloc(16);
    huge.writeUInt32BE(MAX_PAYLOAD_BYTES + 1, 0);
    expect(readFrame(huge, 0)).to.deep.include({ kind: 'corrupt' });
  });

  it('refuses payloads it cannot send: not JSON, another version, an invalid event', () => {
    expect(decodePayload(Buffer.from('{'))).to.include({ ok: false });
    expect(decodePayload(Buffer.from(JSON.stringify({ v: 2, t: 1, e: [] })))).to.include({ ok: false });
    expect(decodePayload(Buffer.from(JSON.stringify({ v: 1, t: 1, e: [{ ...event(1), latencyMs: -1 }] })))).to.include({ ok: false });
    expect(decodePayload(Buffer.from(JSON.stringify({ v: 1, t: 1, r: 5, e: [] })))).to.include({ ok: false });
  });
});
