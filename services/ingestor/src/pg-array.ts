/**
 * Postgres array literals built directly ('{a,b,NULL}'), for the column arrays of the batch insert.
 * node-postgres would serialise a JS array element by element through its generic value preparation;
 * at tens of thousands of rows per second that shows up in profiles, and these columns only ever hold
 * strings, finite numbers, booleans and nulls. Parsed by Postgres as the `$n::type[]` they are cast to.
 */

/** Strings of a fixed safe alphabet (UUIDs, hex ids): no quoting needed. */
export function safeTokenArray(values: readonly string[]): string {
  return `{${values.join(',')}}`;
}

/** Arbitrary text: every element quoted, backslash and double quote escaped; null is NULL. */
export function textArray(values: readonly (string | null)[]): string {
  let out = '{';
  for (let i = 0; i < values.length; i++) {
    if (i > 0) out += ',';
    const v = values[i];
    out += v === null || v === undefined ? 'NULL' : `"${v.replace(/[\\"]/g, '\\$&')}"`;
  }
  return `${out}}`;
}

/** Finite numbers (integers or decimals, exponent notation included); null is NULL. */
export function numberArray(values: readonly (number | null)[]): string {
  let out = '{';
  for (let i = 0; i < values.length; i++) {
    if (i > 0) out += ',';
    const v = values[i];
    out += v === null || v === undefined ? 'NULL' : String(v);
  }
  return `${out}}`;
}

export function boolArray(values: readonly boolean[]): string {
  let out = '{';
  for (let i = 0; i < values.length; i++) out += (i > 0 ? ',' : '') + (values[i] ? 't' : 'f');
  return `${out}}`;
}
