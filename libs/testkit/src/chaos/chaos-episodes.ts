/**
 * Open episodes of the chaos run's dead instance, read from the traffic's own records (when each call to it
 * was selected), not from the breaker under test. While the breaker is OPEN the instance takes no call for
 * at least its open duration; so a gap of at least `gapMs` (well under the open duration) between two calls
 * marks a transition to OPEN and back, and the calls between two such gaps are one episode: the calls that
 * reached the instance between two transitions to OPEN (the first one is the warm-up, CLOSED → OPEN).
 * A breaker that let calls through while it should be OPEN leaves no gap, so its episode grows past the bound.
 */
export interface DeadCall {
  at: number;
  replica: string;
}

export interface Episode {
  start: number;
  end: number;
  calls: number;
  byReplica: Map<string, number>;
}

export function episodesOf(calls: readonly DeadCall[], gapMs: number): Episode[] {
  const sorted = [...calls].sort((a, b) => a.at - b.at);
  const episodes: Episode[] = [];
  let cur: Episode | null = null;
  for (const c of sorted) {
    if (cur === null || c.at - cur.end >= gapMs) {
      cur = { start: c.at, end: c.at, calls: 0, byReplica: new Map() };
      episodes.push(cur);
    }
    cur.end = c.at;
    cur.calls++;
    cur.byReplica.set(c.replica, (cur.byReplica.get(c.replica) ?? 0) + 1);
  }
  return episodes;
}
