import { mulberry32 } from './seeded-random.js';
export { mulberry32 };
/** Shared fixtures of the routing tests (not part of the public API). */
import { DEFAULT_SMART_CONFIG, toCandidate } from './index.js';
import type { Candidate, CandidateInit, CandidateStats, ChooseContext, SmartConfig } from './index.js';

export const NOW = 1_000_000;


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
