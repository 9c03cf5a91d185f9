import { expect } from 'chai';
import { Registry } from 'prom-client';
import { ABANDON, BatchRetrier, retryInBatch } from './batch-retry';
import { createLogger } from './logger';

const refused = () => Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
const outOfRange = () => Object.assign(new Error('numeric field overflow'), { code: '22003', severity: 'ERROR', name: 'error' });

function setup(opts: { maxHeldMs?: number } = {}) {
  let clock = 1_000_000;
  const bugs: [unknown, string][] = [];
  const metrics = new Registry();
  const retrier = new BatchRetrier({
    service: 'test', metrics, log: createLogger('test', 'silent'), onBug: (err, stage) => bugs.push([err, stage]),
    baseDelayMs: 1, maxDelayMs: 2, now: () => clock, ...opts,
  });
  const value = async (name: string) => (await metrics.getSingleMetric(name)!.get()).values.reduce((s, v) => s + v.value, 0);
  return { retrier, bugs, value, advance: (ms: number) => (clock += ms), signal: new AbortController().signal };
}

/** A step failing with the given errors in turn, then succeeding with 'ok'. */
function failing(...errors: unknown[]) {
  let calls = 0;
  const fn = async () => {
    const err = errors[calls++];
    if (err !== undefined) throw err as Error; // the cases throw Errors
    return 'ok';
  };
  return { fn, calls: () => calls };
}

describe('BatchRetrier', () => {
  it('heart-beats while a step hangs when asked to (a statement waiting on a black-holed connection), and stops after', async () => {
    const { retrier, signal } = setup();
    let beats = 0;
    let release!: (v: string) => void;
    const hung = new Promise<string>((r) => (release = r));
    const run = retrier.run('admit', () => hung, { signal, heartbeat: async () => void beats++, heartbeatEveryMs: 10 });
    await new Promise((r) => setTimeout(r, 120));
    expect(beats, 'beats while the attempt is pending').to.be.at.least(5);
    release('ok');
    expect(await run).to.equal('ok');
    const after = beats;
    await new Promise((r) => setTimeout(r, 50));
    expect(beats, 'no beat once the step returned').to.equal(after);
  });

  it('does not heart-beat during an attempt unless asked (the aggregator lets a hung member be evicted)', async () => {
    const { retrier, signal } = setup();
    let beats = 0;
    expect(await retrier.run('apply', () => new Promise<string>((r) => setTimeout(() => r('ok'), 60)), { signal, heartbeat: async () => void beats++ })).to.equal('ok');
    expect(beats).to.equal(0);
  });

  it('retries infrastructure errors until they pass, counting each retry by stage', async () => {
    const { retrier, value, signal } = setup();
    const step = failing(refused(), refused(), refused());
    expect(await retrier.run('write', step.fn, { signal })).to.equal('ok');
    expect(step.calls()).to.equal(4);
    expect(await value('apg_test_batch_retries_total')).to.equal(3);
  });

  it('rethrows a data error at once, for the caller to dead-letter', async () => {
    const { retrier, bugs, value, signal } = setup();
    const step = failing(outOfRange());
    let thrown: unknown;
    await retrier.run('write', step.fn, { signal }).catch((err: unknown) => (thrown = err));
    expect((thrown as { code: string }).code).to.equal('22003');
    expect(step.calls()).to.equal(1);
    expect(bugs).to.have.length(0);
    expect(await value('apg_test_batch_retries_total')).to.equal(0);
  });

  it('hands a bug to onBug once, never retries it, and abandons the step', async () => {
    const { retrier, bugs, signal } = setup();
    const bug = new TypeError("Cannot read properties of undefined (reading 'eventId')");
    const step = failing(bug);
    expect(await retrier.run('admit', step.fn, { signal })).to.equal(ABANDON);
    expect(step.calls()).to.equal(1);
    expect(bugs).to.deep.equal([[bug, 'admit']]);
  });

  it('reports how long a batch has been held, and turns unready past the threshold', async () => {
    const { retrier, value, advance, signal } = setup({ maxHeldMs: 30_000 });
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let attempts = 0;
    const running = retrier.run('write', async () => {
      if (++attempts === 1) throw refused();
      await gate;
      return 'ok';
    }, { signal });
    while (attempts < 2) await new Promise((r) => setImmediate(r));
    expect(retrier.ready()).to.equal(true);
    advance(30_001);
    expect(retrier.heldMs()).to.equal(30_001);
    expect(await value('apg_test_batch_held_seconds')).to.equal(30.001);
    expect(retrier.ready()).to.equal(false);
    release();
    expect(await running).to.equal('ok');
    expect(retrier.heldMs()).to.equal(0);
    expect(retrier.ready()).to.equal(true);
  });

  it('counts a step that hangs (never answers, never fails) as held', async () => {
    const { retrier, advance, signal } = setup({ maxHeldMs: 30_000 });
    void retrier.run('write', () => new Promise<never>(() => undefined), { signal });
    expect(retrier.heldMs()).to.equal(0);
    advance(45_000);
    expect(retrier.heldMs()).to.equal(45_000);
    expect(retrier.ready()).to.equal(false);
  });

  it('gives up (ABANDON, nothing rethrown) when stopped or when the batch is no longer ours', async () => {
    const { retrier, bugs } = setup();
    const stop = new AbortController();
    let attempts = 0;
    const r1 = retrier.run('write', () => {
      if (++attempts === 2) stop.abort();
      return Promise.reject(refused());
    }, { signal: stop.signal });
    expect(await r1).to.equal(ABANDON);
    // A bug-looking error raised because we are stopping is not a bug.
    let ours = true;
    const r2 = await retrier.run('dead-letter', () => {
      ours = false;
      return Promise.reject(new Error('The producer is disconnected'));
    }, { signal: new AbortController().signal, active: () => ours });
    expect(r2).to.equal(ABANDON);
    expect(bugs).to.have.length(0);
    expect(retrier.heldMs()).to.equal(0);
  });
});

describe('retryInBatch without a retrier', () => {
  const payload = { isRunning: () => true, isStale: () => false, heartbeat: () => Promise.resolve() };
  const ctx = { payload, signal: new AbortController().signal, log: createLogger('test', 'silent') };

  it('retries infrastructure errors and rethrows anything else', async () => {
    const step = failing(refused());
    expect(await retryInBatch('x', step.fn, ctx)).to.equal('ok');
    const bug = new RangeError('Invalid array length');
    let thrown: unknown;
    await retryInBatch('x', failing(bug).fn, ctx).catch((err: unknown) => (thrown = err));
    expect(thrown).to.equal(bug);
  });
});
