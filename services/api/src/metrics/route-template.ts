/** The `route` label of a request that matches no route of the catalog (404s, scans, typos). */
export const UNMATCHED_ROUTE = 'unmatched';

/** Paths longer than this are never looked up: no route is that long, and matching them costs time. */
const MAX_PATH = 512;

/**
 * Maps a request path to its route template (`/api/instances/{apiType}/{businessId}`), the only form a
 * metric label may take: raw paths carry ids and tenant input, and would grow the series without bound.
 * Built from the OpenAPI route catalog, so every mounted route has its template, including requests that
 * were answered before routing (401 from the key check, 405, 429 from a throttle). Static paths are
 * found in a map; templates are tried with per-segment comparison (no regex, no allocation but the split).
 * Like express (non-strict, case-insensitive routing): a trailing slash and letter case do not matter.
 */
export class RouteTemplates {
  private readonly exact = new Map<string, string>();
  /** Parameterised templates, split in segments (`null` = a parameter), fewest parameters first. */
  private readonly patterns: { segments: (string | null)[]; template: string }[] = [];

  constructor(templates: Iterable<string>) {
    for (const template of new Set(templates)) {
      const segments = template.split('/').map((s) => (s.startsWith('{') && s.endsWith('}') ? null : s.toLowerCase()));
      if (segments.every((s) => s !== null)) this.exact.set(template.toLowerCase(), template);
      else this.patterns.push({ segments, template });
    }
    const params = (p: (string | null)[]) => p.filter((s) => s === null).length;
    this.patterns.sort((a, b) => params(a.segments) - params(b.segments));
  }

  /** The template `path` (no query string) belongs to, or {@link UNMATCHED_ROUTE}. */
  match(path: string): string {
    if (path.length > MAX_PATH) return UNMATCHED_ROUTE;
    let p = path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path;
    const hit = this.exact.get(p) ?? this.exact.get((p = p.toLowerCase()));
    if (hit !== undefined) return hit;
    const parts = p.split('/');
    for (const { segments, template } of this.patterns) {
      if (segments.length !== parts.length) continue;
      let ok = true;
      for (let i = 0; i < segments.length && ok; i++) {
        const s = segments[i];
        // A parameter takes any non-empty segment; a literal must be equal.
        ok = s === null ? parts[i] !== '' : s === parts[i];
      }
      if (ok) return template;
    }
    return UNMATCHED_ROUTE;
  }
}
