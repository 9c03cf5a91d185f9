/** Shared fixtures of the routing tests (not part of the public API). */
import { DEFAULT_SMART_CONFIG, toCandidate } from './index.js';
import type { Candidate, CandidateInit, CandidateStats, ChooseContext, SmartConfig } from './index.js';

export const NOW = 1_000_000;

/** mulberry32: a tiny seeded PRNG, uniform in [0, 1), so every random test names a reproducible seed. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A `rand` that replays `values` in a loop: pins the draws of a table case. */
export function seq(...values: number[]): () => number {
  let i = 0;
  return () => {
    const v = values[i % values.length];
    i++;
    if (v === undefined) throw new Error('seq() needs at least one value');
    return v;
  };
}

/** Window stats with `calls` calls, `failures` of them failed, and the given latency as EWMA and average. */
export function stats(calls: number, failures = 0, latencyMs: number | null = 100): CandidateStats {
  return {
    calls,
    failures,
    successRate: calls > 0 ? 1 - failures / calls : null,
    avgLatencyMs: calls > 0 ? latencyMs : null,
    latencyEwmaMs: calls > 0 ? latencyMs : null,
  };
}

/** A frozen candidate (so a mutation by `choose` throws), warm and healthy unless told otherwise. */
export function cand(id: string, p: Partial<Omit<CandidateInit, 'id'>> = {}): Candidate {
  return Object.freeze(toCandidate({ stats: stats(100), ...p, id }));
}

export function ctx(p: Partial<Omit<ChooseContext, 'config'>> & { config?: Partial<SmartConfig> } = {}): ChooseContext {
  return {
    rand: p.rand ?? seq(0),
    now: p.now ?? NOW,
    rrCounter: p.rrCounter ?? 0,
    config: p.config === undefined ? DEFAULT_SMART_CONFIG : { ...DEFAULT_SMART_CONFIG, ...p.config },
  };
}

/** Share of each id over `draws` decisions (rrCounter advancing as the api does). */
export function shares(
  draws: number,
  decide: (rrCounter: number) => Candidate | null,
): Map<string, number> {
  const counts = new Map<string, number>();
  for (let i = 0; i < draws; i++) {
    const id = decide(i)?.id ?? 'null';
    counts.set(id, (counts.get(id) ?? 0) + 1);
  }
  return new Map([...counts].map(([id, n]) => [id, n / draws]));
}
