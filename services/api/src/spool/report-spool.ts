import { promises as fs, type Stats } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from '@apg/platform';
import { decodePayload, encodeFrame, readFrame, type SpooledReport } from './spool-record';
import { SpoolLock } from './spool-lock';

/**
 * `always` (default): an append resolves only once its bytes are fsynced (fdatasync), so a 200 survives a power
 * loss; appends that arrive while one is being written share the next write and fsync (group commit).
 * `never`: an append resolves once the bytes are in the kernel (a write(2)): it survives the api's own crash or
 * kill -9, not a machine crash.
 */
export type SpoolFsync = 'always' | 'never';

export interface ReportSpoolOptions {
  dir: string;
  /** Spooled bytes (frames not yet drained) beyond which an append is refused with {@link SpoolFullError}. */
  maxBytes: number;
  fsync: SpoolFsync;
  /** A segment file is closed and a new one started past this size. @default maxBytes / 8, within [64 KiB, 64 MiB] */
  segmentBytes?: number;
}

/** The spool holds `maxBytes` already: the report cannot be taken. */
export class SpoolFullError extends Error {
  constructor(readonly maxBytes: number) {
    super(`report spool full (${maxBytes} bytes)`);
  }
}

export type SpoolDropReason = 'corrupt' | 'invalid' | 'expired';

/** A run of spooled reports read from the head of the spool (one segment), not yet committed. */
export interface SpoolBatch {
  seq: number;
  /** In spool order; `report` null for a checksummed frame whose payload cannot be sent (counted `invalid` when committed). */
  items: { report: SpooledReport | null; end: number }[];
  /** A corrupt frame follows the items: committing the whole batch skips the rest of its segment (counted `corrupt`). */
  corruptTail: { end: number; detail: string } | null;
}

export interface SpoolStats {
  records: number;
  bytes: number;
  /** When the oldest undrained report was spooled (an upper bound on its age once the head has moved), null when empty. */
  oldestAt: number | null;
}

interface Segment {
  seq: number;
  file: string;
  size: number;
}

interface PendingAppend {
  frame: Buffer;
  at: number;
  resolve: () => void;
  reject: (err: Error) => void;
}

const SEGMENT_RE = /^seg-(\d{12})\.log$/;
const READ_CHUNK = 1024 * 1024;
const segmentName = (seq: number) => `seg-${String(seq).padStart(12, '0')}.log`;

/**
 * The api's write-ahead spool of reports Kafka could not take (README "Operations", Kafka row): an append-only
 * sequence of segment files of checksummed frames under one directory, drained from the head in order. Only
 * one process may own a directory (`spool.lock`). `cursor.json` says where the head is; it is rewritten after each
 * drained batch without fsync: after a crash the head may go back a batch, and those reports are produced twice,
 * which is safe because every consumer is idempotent on `eventId` (one effect per event).
 */
export class ReportSpool {
  private readonly lock: SpoolLock;
  private readonly segmentBytes: number;
  private segments: Segment[] = [];
  /** Offset of the next undrained frame in `segments[0]`. */
  private headOffset = 0;
  private records = 0;
  private oldestAt: number | null = null;
  /** Bytes of appends accepted but not yet written: counted against `maxBytes` so a burst cannot overshoot it. */
  private reserved = 0;
  private queue: PendingAppend[] = [];
  private writing: Promise<void> | null = null;
  private writer: FileHandle | null = null;
  private opened = false;

  constructor(
    private readonly opts: ReportSpoolOptions,
    private readonly log: Logger,
    private readonly events: { spooled?: (n: number) => void; dropped?: (reason: SpoolDropReason, n: number) => void } = {},
  ) {
    this.lock = new SpoolLock(opts.dir);
    this.segmentBytes = opts.segmentBytes ?? Math.min(64 << 20, Math.max(64 << 10, Math.floor(opts.maxBytes / 8)));
  }

  get dir(): string {
    return this.opts.dir;
  }

  /**
   * Takes the directory (refusing one a live process holds), then recovers what a previous process left: each
   * segment from the head is checked frame by frame, and a frame that is torn (cut by a crash in mid-write) or
   * whose checksum fails is cut off with everything after it in that segment — counted `corrupt`, never sent.
   */
  async open(): Promise<void> {
    await fs.mkdir(this.opts.dir, { recursive: true });
    await this.lock.acquire();
    try {
      const names = (await fs.readdir(this.opts.dir)).filter((n) => SEGMENT_RE.test(n)).sort();
      this.segments = names.map((n) => ({ seq: Number(SEGMENT_RE.exec(n)![1]), file: path.join(this.opts.dir, n), size: 0 }));
      const cursor = await this.readCursor();
      // Segments before the cursor's were drained; a cursor naming a deleted segment means its successor is the head.
      while (this.segments.length > 0 && cursor !== null && this.segments[0]!.seq < cursor.seq) {
        await fs.unlink(this.segments.shift()!.file);
      }
      this.headOffset = cursor !== null && this.segments[0]?.seq === cursor.seq ? cursor.offset : 0;
      for (const [i, seg] of this.segments.entries()) {
        const from = i === 0 ? this.headOffset : 0;
        const scan = await this.scan(seg, from);
        seg.size = scan.end;
        if (i === 0 && from > scan.end) this.headOffset = scan.end;
        this.records += scan.records;
        this.oldestAt ??= scan.firstAt;
      }
      if (this.segments.length === 0) await this.createSegment(1);
      this.writer = await fs.open(this.segments.at(-1)!.file, 'r+');
      this.opened = true;
      if (this.records > 0) this.log.warn({ dir: this.opts.dir, records: this.records, bytes: this.stats().bytes }, 'report spool holds reports from a previous run; draining them');
    } catch (err) {
      await this.lock.release();
      throw err;
    }
  }

  stats(): SpoolStats {
    let bytes = -this.headOffset;
    for (const s of this.segments) bytes += s.size;
    return { records: this.records, bytes, oldestAt: this.records > 0 ? this.oldestAt : null };
  }

  /** Nothing spooled and nothing being appended: a new report may go straight to Kafka without overtaking one. */
  isEmpty(): boolean {
    return this.records === 0 && this.queue.length === 0 && this.writing === null;
  }

  /**
   * Appends one report; resolves once it is durable by the fsync policy. Rejects with {@link SpoolFullError}
   * (nothing written) when it would take the spool past `maxBytes`, or with the I/O error of a failed write.
   */
  append(report: SpooledReport): Promise<void> {
    if (!this.opened) return Promise.reject(new Error('report spool is not open'));
    const frame = encodeFrame(report);
    if (this.stats().bytes + this.reserved + frame.length > this.opts.maxBytes) return Promise.reject(new SpoolFullError(this.opts.maxBytes));
    this.reserved += frame.length;
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ frame, at: report.spooledAt, resolve, reject });
      this.writing ??= this.writeLoop();
    });
  }

  /** Up to `maxRecords` reports (about `maxBytes` of frames) from the head, without moving it; null when empty. */
  async read(maxRecords: number, maxBytes: number): Promise<SpoolBatch | null> {
    if (!this.opened) return null;
    for (;;) {
      const head = this.segments[0]!;
      if (this.headOffset < head.size) break;
      if (this.segments.length === 1) {
        // Drained to the end of the segment being written: whatever the counter says, nothing is left.
        this.records = 0;
        return null;
      }
      this.segments.shift();
      this.headOffset = 0;
      await fs.unlink(head.file).catch((err: Error) => this.log.warn({ err: err.message, file: head.file }, 'drained spool segment not removed'));
      await this.writeCursor();
    }
    const head = this.segments[0]!;
    const start = this.headOffset;
    let buf = await this.readAt(head.file, start, Math.min(head.size - start, maxBytes));
    const batch: SpoolBatch = { seq: head.seq, items: [], corruptTail: null };
    let off = 0;
    while (batch.items.length < maxRecords && off < buf.length) {
      const f = readFrame(buf, off);
      if (f.kind === 'partial') {
        // A frame larger than `maxBytes`: read it alone. A frame running past the written end cannot happen
        // (the size only grows by whole frames), so it is corruption.
        if (batch.items.length === 0 && start + f.need <= head.size) {
          buf = await this.readAt(head.file, start, f.need);
          continue;
        }
        if (start + off + f.need <= head.size) break;
        batch.corruptTail = { end: head.size, detail: 'frame runs past the end of its segment' };
        break;
      }
      if (f.kind === 'corrupt') {
        batch.corruptTail = { end: head.size, detail: f.detail };
        break;
      }
      off += f.size;
      const decoded = decodePayload(f.payload);
      if (!decoded.ok) this.log.error({ dir: this.opts.dir, seq: head.seq, offset: start + off - f.size, detail: decoded.detail }, 'spooled report cannot be sent; dropped');
      batch.items.push({ report: decoded.ok ? decoded.report : null, end: start + off });
    }
    return batch;
  }

  /**
   * Moves the head past the first `count` items of `batch` (all of them, and a corrupt tail, by default);
   * `expired` of those were dropped for age rather than sent. Counts the drops.
   */
  async commit(batch: SpoolBatch, count = batch.items.length, expired = 0): Promise<void> {
    if (this.segments[0]?.seq !== batch.seq) return;
    const items = batch.items.slice(0, count);
    const whole = count === batch.items.length;
    const end = whole && batch.corruptTail ? batch.corruptTail.end : (items.at(-1)?.end ?? this.headOffset);
    if (end <= this.headOffset) return;
    this.headOffset = end;
    const invalid = items.filter((i) => i.report === null).length;
    this.records = Math.max(0, this.records - items.length);
    if (invalid > 0) this.events.dropped?.('invalid', invalid);
    if (expired > 0) this.events.dropped?.('expired', expired);
    if (whole && batch.corruptTail) {
      this.log.error({ dir: this.opts.dir, seq: batch.seq, detail: batch.corruptTail.detail }, 'corrupt spool frame: the rest of its segment is skipped');
      this.events.dropped?.('corrupt', 1);
    }
    // The next head is spooled no earlier than the last one committed: its time bounds the oldest age from above.
    const last = [...items].reverse().find((i) => i.report !== null)?.report;
    if (this.records === 0) this.oldestAt = null;
    else if (last) this.oldestAt = last.spooledAt;
    await this.writeCursor();
  }

  /** Stops taking appends, waits for the one in flight, and releases the directory (removing it when empty). */
  async close(): Promise<void> {
    if (!this.opened) return;
    this.opened = false;
    while (this.writing) await this.writing;
    await this.writer?.close();
    this.writer = null;
    if (this.stats().bytes === 0) {
      // Nothing left to drain: leave no files behind (a PORT=0 api gets a fresh directory per process).
      for (const s of this.segments) await fs.unlink(s.file).catch(() => undefined);
      await fs.unlink(path.join(this.opts.dir, 'cursor.json')).catch(() => undefined);
      await this.lock.release();
      await fs.rmdir(this.opts.dir).catch(() => undefined);
      return;
    }
    await this.writeCursor().catch(() => undefined);
    await this.lock.release();
  }

  /**
   * Writes whatever is queued, one write (and fsync) per round, until the queue is empty. `writing` is cleared in
   * the same synchronous step that finds the queue empty: an append resolved by the last round and followed at
   * once by another (its caller's continuation runs before any `finally`) must start a new loop, not join this one.
   */
  private async writeLoop(): Promise<void> {
    for (;;) {
      if (this.queue.length === 0) {
        this.writing = null;
        return;
      }
      const batch = this.queue;
      this.queue = [];
      const buf = batch.length === 1 ? batch[0]!.frame : Buffer.concat(batch.map((b) => b.frame));
      try {
        let seg = this.segments.at(-1)!;
        if (seg.size >= this.segmentBytes) seg = await this.rotate();
        let written = 0;
        // Positional writes: a failed or partial write leaves `size` where it was, and the next write covers it.
        while (written < buf.length) {
          const { bytesWritten } = await this.writer!.write(buf, written, buf.length - written, seg.size + written);
          written += bytesWritten;
        }
        if (this.opts.fsync === 'always') await this.writer!.datasync();
        seg.size += buf.length;
        if (this.records === 0) this.oldestAt = batch[0]!.at;
        this.records += batch.length;
        this.reserved -= buf.length;
        this.events.spooled?.(batch.length);
        for (const b of batch) b.resolve();
      } catch (err) {
        this.reserved -= buf.length;
        this.log.error({ err: (err as Error).message, dir: this.opts.dir, reports: batch.length }, 'report spool write failed');
        for (const b of batch) b.reject(err as Error);
      }
    }
  }

  private async rotate(): Promise<Segment> {
    const next = this.segments.at(-1)!.seq + 1;
    const seg = await this.createSegment(next);
    await this.writer?.close();
    this.writer = await fs.open(seg.file, 'r+');
    return seg;
  }

  private async createSegment(seq: number): Promise<Segment> {
    const seg = { seq, file: path.join(this.opts.dir, segmentName(seq)), size: 0 };
    await (await fs.open(seg.file, 'a')).close();
    // The new file's directory entry must be durable before a record in it is acknowledged.
    if (this.opts.fsync === 'always') await this.syncDir();
    this.segments.push(seg);
    return seg;
  }

  private async syncDir(): Promise<void> {
    const d = await fs.open(this.opts.dir, 'r');
    try {
      await d.sync();
    } finally {
      await d.close();
    }
  }

  /** Valid frames of `seg` from `from`; cuts the file after the last one when a torn or corrupt frame follows. */
  private async scan(seg: Segment, from: number): Promise<{ records: number; end: number; firstAt: number | null }> {
    const st: Stats = await fs.stat(seg.file);
    let records = 0;
    let firstAt: number | null = null;
    let pos = Math.min(from, st.size);
    let buf = Buffer.alloc(0);
    let bufAt = pos;
    let bad: string | null = null;
    const fh = await fs.open(seg.file, 'r');
    try {
      while (pos < st.size) {
        const f = readFrame(buf, pos - bufAt);
        if (f.kind === 'frame') {
          if (firstAt === null) {
            const d = decodePayload(f.payload);
            if (d.ok) firstAt = d.report.spooledAt;
          }
          records++;
          pos += f.size;
          continue;
        }
        if (f.kind === 'corrupt') {
          bad = f.detail;
          break;
        }
        if (pos + f.need > st.size) {
          bad = 'torn frame at the end of the segment';
          break;
        }
        const len = Math.max(f.need, Math.min(READ_CHUNK, st.size - pos));
        buf = Buffer.alloc(len);
        const { bytesRead } = await fh.read(buf, 0, len, pos);
        buf = buf.subarray(0, bytesRead);
        bufAt = pos;
        if (bytesRead < f.need) {
          bad = 'short read';
          break;
        }
      }
    } finally {
      await fh.close();
    }
    if (bad !== null) {
      this.log.error({ file: seg.file, offset: pos, cutBytes: st.size - pos, detail: bad }, 'report spool: torn or corrupt frame cut');
      await fs.truncate(seg.file, pos);
      this.events.dropped?.('corrupt', 1);
    }
    return { records, end: pos, firstAt };
  }

  private async readAt(file: string, position: number, length: number): Promise<Buffer> {
    const fh = await fs.open(file, 'r');
    try {
      const buf = Buffer.alloc(length);
      const { bytesRead } = await fh.read(buf, 0, length, position);
      return buf.subarray(0, bytesRead);
    } finally {
      await fh.close();
    }
  }

  private async readCursor(): Promise<{ seq: number; offset: number } | null> {
    const text = await fs.readFile(path.join(this.opts.dir, 'cursor.json'), 'utf8').catch(() => null);
    if (text === null) return null;
    try {
      const c = JSON.parse(text) as { seq?: unknown; offset?: unknown };
      if (Number.isSafeInteger(c.seq) && Number.isSafeInteger(c.offset) && (c.offset as number) >= 0) return { seq: c.seq as number, offset: c.offset as number };
    } catch {
      // A torn cursor: start from the first segment (reports may be produced twice; consumers dedupe by eventId).
    }
    this.log.warn({ dir: this.opts.dir }, 'report spool cursor unreadable; draining from the first segment');
    return null;
  }

  private async writeCursor(): Promise<void> {
    const file = path.join(this.opts.dir, 'cursor.json');
    const tmp = `${file}.tmp`;
    await fs.writeFile(tmp, JSON.stringify({ seq: this.segments[0]!.seq, offset: this.headOffset }));
    await fs.rename(tmp, file);
  }
}
