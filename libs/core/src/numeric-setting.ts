/**
 * Numeric settings that tenants write into `routingParams` (routing weights, rate limits, breaker thresholds):
 * their bounds, and the one reader both the HTTP schemas (`libs/contracts`) and the read path (`routingParamsOf`,
 * `resolveBreakerConfig`) use, so a value the api accepts is a value the aggregator and the selector accept,
 * and a stored row written before the bounds existed is judged by the same rules.
 */

/** The accepted range of one numeric setting. */
export interface NumericBound {
  min: number;
  max: number;
  /**
   * `min` itself is refused: the range is (min, max].
   * @default false
   */
  minExclusive?: boolean;
  /**
   * Only whole numbers.
   * @default false
   */
  integer?: boolean;
  /** Unit named in messages, e.g. `ms`. */
  unit?: string;
}

/**
 * Longest numeric string read. The longest useful decimal (17 significant digits, a sign, a point, an exponent)
 * is far shorter; a longer string is refused before it is looked at, whatever it holds.
 */
export const NUMERIC_STRING_MAX_LENGTH = 64;

/** A problem with one setting: where it is (relative to the object checked) and what is wrong. */
export interface SettingProblem {
  path: string[];
  message: string;
}

export type NumericReadResult = { ok: true; value: number } | { ok: false; problem: string };

const isSpace = (c: number) => c === 0x20 || (c >= 0x09 && c <= 0x0d);
const isDigit = (c: number) => c >= 0x30 && c <= 0x39;

/**
 * Parses a plain decimal (`12`, `-0.5`, `.5`, `1e-3`, `+60`, surrounding ASCII blanks allowed) in one left-to-right
 * pass: no regular expression, so no backtracking whatever the input. `Number('')` (0), `'0x10'`, `'1_0'` or
 * `'Infinity'` are not decimals here, and neither is a value that overflows to ±Infinity. Strings longer than
 * `maxLength` are refused unread.
 */
export function parseDecimal(s: string, maxLength: number = NUMERIC_STRING_MAX_LENGTH): number | null {
  if (s.length > maxLength) return null;
  let i = 0;
  let end = s.length;
  while (i < end && isSpace(s.charCodeAt(i))) i++;
  while (end > i && isSpace(s.charCodeAt(end - 1))) end--;
  const start = i;
  if (i < end && (s.charCodeAt(i) === 0x2b || s.charCodeAt(i) === 0x2d)) i++; // + -
  let digits = 0;
  while (i < end && isDigit(s.charCodeAt(i))) {
    i++;
    digits++;
  }
  if (i < end && s.charCodeAt(i) === 0x2e) {
    i++; // .
    while (i < end && isDigit(s.charCodeAt(i))) {
      i++;
      digits++;
    }
  }
  if (digits === 0) return null;
  if (i < end && (s.charCodeAt(i) | 0x20) === 0x65) {
    i++; // e E
    if (i < end && (s.charCodeAt(i) === 0x2b || s.charCodeAt(i) === 0x2d)) i++;
    const expStart = i;
    while (i < end && isDigit(s.charCodeAt(i))) i++;
    if (i === expStart) return null;
  }
  if (i !== end) return null;
  const n = Number(s.slice(start, end));
  return Number.isFinite(n) ? n : null;
}

/** `1000`, `3600000 ms`, `1e9` — how a bound reads in a message. */
function show(n: number, unit?: string): string {
  const text = Math.abs(n) >= 1e7 && Number.isInteger(n) ? n.toExponential().replace('e+', 'e') : String(n);
  return unit ? `${text} ${unit}` : text;
}

/** The range of `bound` in words, for messages and API documentation. */
export function describeBound(bound: NumericBound): string {
  const kind = bound.integer ? 'an integer' : 'a number';
  const low = bound.minExclusive ? `greater than ${show(bound.min)}` : `from ${show(bound.min)}`;
  return `${kind} ${low} to ${show(bound.max, bound.unit)}`;
}

/** Why `n` is outside `bound`, or `null` when it is inside. */
export function boundProblem(n: number, bound: NumericBound): string | null {
  const inside =
    Number.isFinite(n) &&
    (!bound.integer || Number.isInteger(n)) &&
    (bound.minExclusive ? n > bound.min : n >= bound.min) &&
    n <= bound.max;
  return inside ? null : `must be ${describeBound(bound)}`;
}

/**
 * Reads one setting: a JSON number (or, when `strings` is set, a numeric string — the seed's clients sent
 * `"priority": "2"`) inside `bound`. Never throws and never echoes the value back: it may be a megabyte long.
 */
export function readNumericSetting(raw: unknown, bound: NumericBound, opts: { strings: boolean }): NumericReadResult {
  let n: number | null;
  if (typeof raw === 'number') n = raw;
  else if (typeof raw === 'bigint') n = Number(raw);
  else if (opts.strings && typeof raw === 'string') {
    n = parseDecimal(raw);
    if (n === null) {
      return { ok: false, problem: `must be ${describeBound(bound)} (a JSON number, or a plain decimal string of at most ${NUMERIC_STRING_MAX_LENGTH} characters)` };
    }
  } else {
    return { ok: false, problem: `must be ${describeBound(bound)}${opts.strings ? ' (a number or a numeric string)' : ' (a JSON number)'}` };
  }
  const problem = boundProblem(n, bound);
  return problem === null ? { ok: true, value: n } : { ok: false, problem };
}
