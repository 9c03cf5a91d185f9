import { spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { CALL_RESULT_SCHEMA_VERSION, type CallResultEvent } from '@apg/contracts';
import { createLogger } from '@apg/platform';
import { ReportSpool, SpoolFullError, SpoolLockedError, encodeFrame, removeStaleSpoolDirs, type ReportSpoolFileOptions, type SpoolDropReason } from '@apg/api';

const log = createLogger('test', process.env['TEST_LOG_LEVEL'] ?? 'silent');

const event = (n: number): CallResultEvent => ({
  eventId: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`,
  schemaVersion: CALL_RESULT_SCHEMA_VERSION,
  projectId: 'f'.repeat(32),
  instanceId: 'a'.repeat(32),
  apiIdentifier: 'm',
  apiType: 'MODEL',
  businessId: 'b',
  success: true,
  latencyMs: n,
  callTimestamp: 1_700_000_000_000 + n,
});

/** The spool's files on the real filesystem (a fresh temp dir per test): recovery, cuts, limits, the lock. */
describe('report spool on disk', function () {
  this.timeout(60_000);
  let dir: string;
  let drops: Record<SpoolDropReason, number>;
  const open: ReportSpool[] = [];

  const spool = async (opts: Partial<ReportSpoolFileOptions> = {}) => {
    const s = new ReportSpool({ dir, maxBytes: 1 << 20, fsync: 'always', ...opts }, log, { dropped: (r, n) => void (drops[r] += n) });
    await s.open();
    open.push(s);
    return s;
  };
  /** Reads and commits everything, returning the latencyMs (our sequence numbers) in drain order. */
  const drainAll = async (s: ReportSpool) => {
    const seen: number[] = [];
    for (let b = await s.read(50, 4096); b; b = await s.read(50, 4096)) {
      for (const i of b.items) if (i.report) seen.push(...i.report.events.map((e) => e.latencyMs));
      await s.commit(b);
    }
    return seen;
  };
  const segments = async () => (await fs.readdir(dir)).filter((n) => n.startsWith('seg-')).sort();

  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'apg-spool-test-'));
    drops = { corrupt: 0, invalid: 0, expired: 0 };
  });
  afterEach(async () => {
    for (const s of open.splice(0)) await s.close();
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('takes concurrent appends in arrival order (group commit), drains them in that order, and leaves nothing behind', async () => {
    const s = await spool({ segmentBytes: 64 << 10 });
    await Promise.all(Array.from({ length: 400 }, (_, n) => s.append({ spooledAt: Date.now(), events: [event(n)] })));
    expect(s.stats().records).to.equal(400);
    expect(s.isEmpty()).to.equal(false);
    expect(await drainAll(s)).to.deep.equal(Array.from({ length: 400 }, (_, n) => n));
    expect(s.stats()).to.deep.include({ records: 0, bytes: 0, oldestAt: null });
    await s.close();
    open.length = 0;
    expect(await fs.stat(dir).then(() => 'exists', () => 'gone')).to.equal('gone');
  });

  it('survives a restart across segments: a second process drains what the first left, from its cursor', async () => {
    const a = await spool({ segmentBytes: 4096 });
    for (let n = 0; n < 120; n++) await a.append({ spooledAt: 1000 + n, events: [event(n)] });
    expect((await segments()).length).to.be.greaterThan(3);
    const first = await a.read(30, 1 << 20);
    await a.commit(first!);
    await a.close();
    open.length = 0;

    const b = await spool({ segmentBytes: 4096 });
    expect(b.stats().records).to.equal(120 - first!.items.length);
    expect(b.stats().oldestAt).to.equal(1000 + first!.items.length);
    expect(await drainAll(b)).to.deep.equal(Array.from({ length: 120 - first!.items.length }, (_, n) => n + first!.items.length));
    expect(drops).to.deep.equal({ corrupt: 0, invalid: 0, expired: 0 });
  });

  it('cuts a torn tail left by a crash in mid-write, counts it, and appends after it', async () => {
    const a = await spool();
    for (let n = 0; n < 10; n++) await a.append({ spooledAt: Date.now(), events: [event(n)] });
    // What kill -9 in the middle of write(2) leaves: the first half of a frame.
    const last = path.join(dir, (await segments()).at(-1)!);
    const sizeBefore = (await fs.stat(last)).size;
    const torn = encodeFrame({ spooledAt: Date.now(), events: [event(99)] });
    await fs.appendFile(last, torn.subarray(0, Math.floor(torn.length / 2)));
    // No close(): the lock file stays, as after kill -9 (our own pid counts as a previous process's).
    open.length = 0;

    const b = await spool();
    expect(drops.corrupt).to.equal(1);
    expect((await fs.stat(last)).size).to.equal(sizeBefore);
    expect(b.stats().records).to.equal(10);
    await b.append({ spooledAt: Date.now(), events: [event(10)] });
    expect(await drainAll(b)).to.deep.equal(Array.from({ length: 11 }, (_, n) => n));
  });

  it('cuts a frame whose checksum fails and whatever follows it in that segment; later segments still drain', async () => {
    const a = await spool({ segmentBytes: 4096 });
    for (let n = 0; n < 60; n++) await a.append({ spooledAt: Date.now(), events: [event(n)] });
    open.length = 0;
    const segs = await segments();
    expect(segs.length).to.be.greaterThan(1);
    // Flip a byte inside the third frame of the first segment.
    const file = path.join(dir, segs[0]!);
    const buf = await fs.readFile(file);
    const frameSize = buf.readUInt32BE(0) + 8;
    buf[2 * frameSize + 20] = buf[2 * frameSize + 20]! ^ 0xff;
    await fs.writeFile(file, buf);
    const inFirst = Math.floor(buf.length / frameSize);

    const b = await spool({ segmentBytes: 4096 });
    expect(drops.corrupt).to.equal(1);
    const seen = await drainAll(b);
    expect(seen.slice(0, 2)).to.deep.equal([0, 1]);
    expect(seen.slice(2)).to.deep.equal(Array.from({ length: 60 - inFirst }, (_, n) => n + inFirst));
  });

  it('refuses an append past maxBytes with SpoolFullError and keeps everything already spooled', async () => {
    const s = await spool({ maxBytes: 4096 });
    let taken = 0;
    let full: unknown = null;
    for (let n = 0; n < 100 && full === null; n++) {
      await s.append({ spooledAt: Date.now(), events: [event(n)] }).then(() => void taken++, (err: unknown) => void (full = err));
    }
    expect(full).to.be.instanceOf(SpoolFullError);
    expect(taken).to.be.greaterThan(5);
    expect(s.stats().bytes).to.be.at.most(4096);
    // Concurrent appends are bounded too (bytes reserved before they are written).
    const burst = await Promise.allSettled(Array.from({ length: 20 }, (_, n) => s.append({ spooledAt: Date.now(), events: [event(1000 + n)] })));
    expect(burst.every((r) => r.status === 'rejected')).to.equal(true);
    expect(await drainAll(s)).to.deep.equal(Array.from({ length: taken }, (_, n) => n));
    await s.append({ spooledAt: Date.now(), events: [event(7)] });
    expect(s.stats().records).to.equal(1);
  });

  it('refuses a directory a live process holds, and takes over one whose owner is dead', async () => {
    const sleeper = spawn('sleep', ['30'], { stdio: 'ignore' });
    try {
      await fs.writeFile(path.join(dir, 'spool.lock'), `${sleeper.pid}\n`);
      const err = await new ReportSpool({ dir, maxBytes: 4096, fsync: 'always' }, log).open().then(() => null, (e: unknown) => e);
      expect(err).to.be.instanceOf(SpoolLockedError);
      expect((err as SpoolLockedError).pid).to.equal(sleeper.pid);
    } finally {
      sleeper.kill('SIGKILL');
      await new Promise((r) => sleeper.once('exit', r));
    }
    // The same lock file, its owner now dead (kill -9): the next api takes the directory.
    const s = await spool();
    expect((await fs.readFile(path.join(dir, 'spool.lock'), 'utf8')).trim()).to.equal(String(process.pid));
    await s.append({ spooledAt: Date.now(), events: [event(1)] });
    expect(s.stats().records).to.equal(1);
  });
  it('clears the empty api-pid-<pid> directories dead processes left, keeps live ones and any that still hold reports', async () => {
    const sleeper = spawn('sleep', ['30'], { stdio: 'ignore' });
    const dead = spawn('true', [], { stdio: 'ignore' });
    await new Promise((r) => dead.once('exit', r));
    try {
      const mk = async (name: string) => {
        const d = path.join(dir, name);
        await fs.mkdir(d);
        await fs.writeFile(path.join(d, 'seg-000000000001.log'), '');
        await fs.writeFile(path.join(d, 'spool.lock'), `${name.slice(8)}\n`);
        return d;
      };
      const emptyDead = await mk(`api-pid-${dead.pid}`);
      const live = await mk(`api-pid-${sleeper.pid}`);
      // A dead one fully drained (cursor at the end of its only segment) is empty too.
      const drained = await mk(`api-pid-${dead.pid! + 1_000_000}`);
      await fs.writeFile(path.join(drained, 'seg-000000000001.log'), encodeFrame({ spooledAt: 1, events: [event(1)] }));
      await fs.writeFile(path.join(drained, 'cursor.json'), JSON.stringify({ seq: 1, offset: (await fs.stat(path.join(drained, 'seg-000000000001.log'))).size }));
      const holding = await mk(`api-pid-${dead.pid! + 2_000_000}`);
      await fs.writeFile(path.join(holding, 'seg-000000000001.log'), encodeFrame({ spooledAt: 1, events: [event(2)] }));
      const other = path.join(dir, 'api-8081');
      await fs.mkdir(other);

      const removed = await removeStaleSpoolDirs(dir, log);
      expect(removed.sort()).to.deep.equal([emptyDead, drained].sort());
      for (const kept of [live, holding, other]) expect((await fs.stat(kept)).isDirectory(), kept).to.equal(true);
    } finally {
      sleeper.kill('SIGKILL');
    }
  });
});
