// What each section proves: one console line, and rows of the closing Markdown table.
import type { BenchEnv, StackNames } from './bench-env';

export interface Row {
  what: string;
  figure: string;
  target: string;
  /** undefined for figures given for context only. */
  pass?: boolean;
}

export interface Outcome {
  /** Order of the targets in the closing table (the brief's numbering). */
  order: number;
  name: string;
  figures: string;
  target: string;
  pass: boolean;
  rows: Row[];
}

export interface BenchContext {
  env: BenchEnv;
  quick: boolean;
  /** Node flags for api children (--cpu-prof when profiling). */
  apiNodeArgs(label: string): string[];
  /** Seconds of each measured load run, and of the warm-up before it. */
  durationS: number;
  warmupS: number;
  say(msg: string): void;
  stack(label: string): Promise<StackNames>;
}

export function line(o: Outcome): string {
  return `${o.name}: ${o.figures} (target ${o.target}) ${o.pass ? 'PASS' : 'FAIL'}`;
}

export function failed(order: number, name: string, target: string, err: unknown): Outcome {
  const msg = err instanceof Error ? err.message.split('\n')[0]! : String(err);
  return { order, name, figures: `error: ${msg}`, target, pass: false, rows: [{ what: name, figure: `error: ${msg}`, target, pass: false }] };
}

export function markdownTable(outcomes: Outcome[]): string {
  const rows = [...outcomes].sort((a, b) => a.order - b.order).flatMap((o) => o.rows);
  const out = ['| what | figure | target | |', '|---|---|---|---|'];
  for (const r of rows) out.push(`| ${r.what} | ${r.figure} | ${r.target} | ${r.pass === undefined ? '' : r.pass ? 'PASS' : 'FAIL'} |`);
  return out.join('\n');
}
