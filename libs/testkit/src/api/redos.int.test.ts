import { readFileSync } from 'node:fs';
import http from 'node:http';
import { expect } from 'chai';
import { spawnApi, type ChildService } from '../child-service';
import type { HttpClient } from '../http-client';
import { openProbe, stackNames, ADMIN_TOKEN, type Probe } from '../stack';
import { createTenant, type TestTenant } from '../tenant';
import { expectOk, type Env } from './contract';
import { baseline, prng, typeOf } from './fuzz-cases';
import { deref, fetchOpenApi, operationsOf, type DocumentedOperation, type JsonSchema, type OpenApiDoc } from './openapi-walk';
import { rawRequest, type RawRequest } from './raw-http';

const MB = 1 << 20;
/** A request may block the api's event loop this long at most. */
const MAX_BLOCK_MS = 50;
/** Linux's USER_HZ (`getconf CLK_TCK`): the unit of utime and stime in /proc/<pid>/stat. */
const CLOCK_TICKS_PER_SECOND = 100;
/** A request unanswered this long means a stuck event loop (the 60,000-digit regex took 34 s). */
const ANSWER_TIMEOUT_MS = 5_000;
/** prom-client's `monitorEventLoopDelay` resolution (its `eventLoopMonitoringPrecision` default). */
const MONITOR_RESOLUTION_MS = 10;
/**
 * Path and query values travel in the request line, which Node's header limit (16 KiB) caps: a longer one is
 * answered 431 and the socket closed, which can reach the client as a reset while it is still writing. Values
 * are cut so their percent-encoded form stays under this many bytes (`"` is 3 bytes encoded, a lone surrogate 9).
 */
const URL_VALUE_BYTES = 12_000;

/**
 * Inputs that make backtracking regexes and naive scanners go quadratic or worse, about 1 MB each (their JSON
 * encoding stays under the api's 2 MB body limit).
 */
const PATTERNS: [string, string][] = [
  ['digits + a letter', `${'1'.repeat(MB)}a`],
  ['digits and points + a letter', `${'1.'.repeat(MB / 2)}x`],
  ['exponent soup', `${'1e'.repeat(MB / 2)}!`],
  ['hex digits + a non-hex letter', `${'0'.repeat(MB)}g`],
  ['spaces + a letter', `${' '.repeat(MB)}x`],
  ['mixed whitespace + a letter', `${' \t\n\r'.repeat(MB / 4)}x`],
  ['repeated a + !', `${'a'.repeat(MB)}!`],
  ['repeated -', '-'.repeat(MB)],
  ['repeated .', '.'.repeat(MB)],
  ['repeated {', '{'.repeat(MB)],
  ['deep quotes', '"'.repeat(MB / 2)],
  ['lone surrogates', '\ud800'.repeat(MB / 8)],
];

/** Percent-encodes for a URL, lone surrogates included (as their 3 WTF-8 bytes: the server must cope). */
function urlEncode(value: string): string {
  let out = '';
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    const pair = c >= 0xd800 && c <= 0xdbff && i + 1 < value.length && value.charCodeAt(i + 1) >= 0xdc00 && value.charCodeAt(i + 1) <= 0xdfff;
    if (pair) {
      out += encodeURIComponent(value.slice(i, i + 2));
      i++;
    } else if (c >= 0xd800 && c <= 0xdfff) {
      out += `%${(0xe0 | (c >> 12)).toString(16)}%${(0x80 | ((c >> 6) & 0x3f)).toString(16)}%${(0x80 | (c & 0x3f)).toString(16)}`.toUpperCase();
    } else {
      out += encodeURIComponent(value[i]!);
    }
  }
  return out;
}

/** `value` cut (keeping its last character, often the one that fails a scan) to fit the request line. */
function forUrl(value: string): string {
  const cut = (n: number) => (n >= value.length ? value : value.slice(0, n - 1) + value.slice(-1));
  if (value.length <= URL_VALUE_BYTES && urlEncode(value).length <= URL_VALUE_BYTES) return value;
  // Every character takes at least one byte encoded, so no longer cut can fit: search below that only.
  let lo = 1;
  let hi = Math.min(value.length, URL_VALUE_BYTES);
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (urlEncode(cut(mid)).length <= URL_VALUE_BYTES) lo = mid;
    else hi = mid - 1;
  }
  return cut(lo);
}

/** Where a string goes in a request: a body field (by path), a path parameter or a query parameter. */
type Target = { in: 'body'; path: (string | number)[] } | { in: 'path' | 'query'; name: string };

/** Every string-typed field of a request body schema, nested objects and array items included. */
function stringFields(doc: OpenApiDoc, schema: JsonSchema | undefined, prefix: (string | number)[] = [], depth = 0): (string | number)[][] {
  const s = deref(doc, schema);
  if (!s || depth > 5) return [];
  const out: (string | number)[][] = [];
  if (prefix.length > 0 && typeOf(doc, s).includes('string')) out.push(prefix);
  const branches = [s, ...(s.anyOf ?? []).map((b) => deref(doc, b)).filter((b): b is JsonSchema => b !== undefined)];
  for (const b of branches) {
    for (const [name, prop] of Object.entries(b.properties ?? {})) out.push(...stringFields(doc, prop, [...prefix, name], depth + 1));
    if (b.items) out.push(...stringFields(doc, b.items, [...prefix, 0], depth + 1));
  }
  return out;
}

function setAt(body: Record<string, unknown>, path: (string | number)[], value: unknown): unknown {
  const root: Record<string, unknown> = structuredClone(body);
  let node: Record<string | number, unknown> = root;
  path.forEach((key, i) => {
    if (i === path.length - 1) {
      node[key] = value;
      return;
    }
    const next = node[key];
    if (typeof next !== 'object' || next === null) node[key] = typeof path[i + 1] === 'number' ? [] : {};
    node = node[key] as Record<string | number, unknown>;
  });
  return root;
}

/**
 * No regular expression or scanner of the api may go super-linear on tenant input (issue 8: a 60,000-digit
 * string ending in a letter once blocked a replica for 34 s). Every string field of every documented route —
 * body fields at any depth, path and query parameters — gets each pathological pattern, and the api itself says
 * how long its event loop was blocked: prom-client's `apg_nodejs_eventloop_lag_max_seconds` is the max of a
 * `monitorEventLoopDelay` histogram that every scrape of /metrics reads and resets, so a scrape after each
 * request gives the longest block while the api handled it. The api runs as its own process (BODY_LIMIT 2mb),
 * so the test's own work never counts. On a busy machine the loop is also late when the OS runs other processes:
 * a request that blocked it for 50 ms must have used 50 ms of the api's CPU (/proc/<pid>/stat), so a late field
 * whose requests used less is scheduling, not the api; the others are measured alone, best of five.
 */
describe('api: no request blocks the event loop (1 MB pathological strings in every field)', function () {
  this.timeout(300_000);
  let probe: Probe;
  let api: ChildService & { http: HttpClient; admin: HttpClient };
  let tenant: TestTenant;
  let doc: OpenApiDoc;
  let port = 0;
  let fields: Record<string, string> = {};
  let instanceId = '';
  let keyId = '';
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

  before(async () => {
    const names = stackNames();
    probe = await openProbe(names);
    api = await spawnApi(names, { BODY_LIMIT: '2mb' });
    port = Number(new URL(api.http.baseUrl).port);
    tenant = await createTenant(api);
    instanceId = expectOk<{ id: string }>(await tenant.http.post<Env<{ id: string }>>('/api/instances', { apiIdentifier: 'redos-model', apiType: 'MODEL', businessId: 'redos-b1' })).id;
    keyId = tenant.keyId;
    fields = { instanceId, businessId: 'redos-b1', apiIdentifier: 'redos-model', apiKey: tenant.apiKey, projectId: tenant.projectId };
    doc = await fetchOpenApi(api.http);
  });

  after(async () => {
    agent.destroy();
    // SIGKILL: a process stuck in a regex would not get to its SIGTERM handler.
    await api?.kill('SIGKILL');
    await probe?.close();
  });

  const headersOf = (op: DocumentedOperation): Record<string, string> => ({
    'Content-Type': 'application/json',
    ...(op.auth === 'apiKey' ? { 'api-key': tenant.apiKey } : op.auth === 'admin' ? { authorization: `Bearer ${ADMIN_TOKEN}` } : {}),
  });

  /** The longest event-loop block since the previous scrape, in ms (the scrape resets it). */
  async function blockedMs(): Promise<number> {
    const res = await rawRequest(port, { method: 'GET', path: '/metrics' }, agent);
    // `apg_nodejs_eventloop_lag_max_seconds{service="api"} 0.0123`
    const line = res.text.split('\n').find((l) => l.startsWith('apg_nodejs_eventloop_lag_max_seconds{') || l.startsWith('apg_nodejs_eventloop_lag_max_seconds '));
    if (!line) throw new Error('apg_nodejs_eventloop_lag_max_seconds missing from /metrics');
    return Number(line.slice(line.lastIndexOf(' ') + 1)) * 1000;
  }

  const firstEnum = (schema: JsonSchema | undefined): string => {
    const value = deref(doc, schema)?.enum?.[0];
    return typeof value === 'string' ? value : 'x';
  };

  /** CPU time (user + system) the api process has used, in ms, from /proc (10 ms ticks): reading it resets nothing. */
  const cpuMs = (): number => {
    const stat = readFileSync(`/proc/${api.child.pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * (1000 / CLOCK_TICKS_PER_SECOND);
  };

  /**
   * Resets the gauge, then waits two monitor intervals: right after a reset the histogram drops its first
   * sample, so a block that started at once would go unseen.
   */
  async function settle(): Promise<void> {
    await blockedMs();
    await new Promise((r) => setTimeout(r, 2 * MONITOR_RESOLUTION_MS + 5));
  }

  function urlOf(op: DocumentedOperation, override?: { in: 'path' | 'query'; name: string; value: string }): string {
    const path = op.path.replace(/\{([^{}]+)\}/g, (_m, name: string) => {
      if (override?.in === 'path' && override.name === name) return urlEncode(override.value);
      if (name === 'apiType') return 'MODEL';
      if (name === 'id') return op.path.startsWith('/api/admin/apikeys') ? keyId : instanceId;
      if (name === 'status') return 'ACTIVE';
      return encodeURIComponent(fields[name] ?? 'x');
    });
    const query = (op.operation.parameters ?? [])
      .filter((p) => p.in === 'query' && (p.required || (override?.in === 'query' && override.name === p.name)))
      .map((p) => `${p.name}=${urlEncode(override?.in === 'query' && override.name === p.name ? override.value : (fields[p.name] ?? firstEnum(p.schema)))}`);
    return query.length ? `${path}?${query.join('&')}` : path;
  }

  it('every string field of every route: no 5xx, no event-loop block over 50 ms', async () => {
    const rand = prng(8);
    const ops = operationsOf(doc).filter((op) => op.path.startsWith('/api/') && op.path !== '/api/openapi.json');
    const cases: { label: string; op: DocumentedOperation; target: Target }[] = [];
    for (const op of ops) {
      for (const p of op.operation.parameters ?? []) if (p.in === 'path' || p.in === 'query') cases.push({ label: `${p.in} ${p.name}`, op, target: { in: p.in, name: p.name } });
      const schema = op.operation.requestBody?.content['application/json']?.schema;
      for (const path of stringFields(doc, schema)) cases.push({ label: `body ${path.join('.')}`, op, target: { in: 'body', path } });
    }
    expect(cases.length, 'string fields found in the OpenAPI document').to.be.above(40);

    const t0 = Date.now();
    const problems: string[] = [];
    const worst: { ms: number; label: string } = { ms: 0, label: '' };
    const worstCpu: { ms: number; label: string } = { ms: 0, label: '' };
    const blocks: number[] = [];
    let remeasured = 0;
    let explained = 0;
    const check = (label: string, res: { status: number; text: string }) => {
      if (res.status >= 500) problems.push(`${label}: status ${res.status} ${res.text.slice(0, 200)}`);
    };
    for (const c of cases) {
      const { op, target } = c;
      const base = baseline(doc, op.operation.requestBody?.content['application/json']?.schema, rand, fields);
      const label = (name: string) => `${op.method.toUpperCase()} ${op.path} ${c.label}: ${name}`;
      const send = (value: string, name: string) => {
        const req: RawRequest =
          target.in === 'body'
            ? { method: op.method.toUpperCase(), path: urlOf(op), headers: headersOf(op), body: JSON.stringify(setAt(base, target.path, value)), timeoutMs: ANSWER_TIMEOUT_MS }
            : { method: op.method.toUpperCase(), path: urlOf(op, { in: target.in, name: target.name, value: forUrl(value) }), headers: headersOf(op), timeoutMs: ANSWER_TIMEOUT_MS };
        return rawRequest(port, req, agent).catch((err: Error) => {
          throw new Error(`${label(name)}: no answer within ${ANSWER_TIMEOUT_MS} ms, the api's event loop is stuck (${err.message})`);
        });
      };
      /** Sends one pattern; returns the api's CPU time for it. */
      const measured = async (name: string, value: string): Promise<number> => {
        const before = cpuMs();
        check(label(name), await send(value, name));
        const used = cpuMs() - before;
        if (used > worstCpu.ms) Object.assign(worstCpu, { ms: used, label: label(name) });
        return used;
      };
      // Every pattern of the field in a row, then one reading: the gauge is a max, so it is the longest block.
      await settle();
      const cpu: number[] = [];
      for (const [name, value] of PATTERNS) cpu.push(await measured(name, value));
      const groupMs = await blockedMs();
      blocks.push(groupMs);
      if (groupMs > worst.ms) Object.assign(worst, { ms: groupMs, label: `${op.method.toUpperCase()} ${op.path} ${c.label}` });
      if (groupMs <= MAX_BLOCK_MS) continue;
      // The loop was late. Blocking it for 50 ms takes 50 ms of the api's own CPU: a pattern that did not use
      // that much was delayed by other processes, not by its own work. The others are measured alone, up to
      // five times: a GC pause comes and goes, a super-linear regex stays (at 1 MB: seconds, not milliseconds).
      explained += cpu.filter((used) => used <= MAX_BLOCK_MS).length;
      for (const [i, [name, value]] of PATTERNS.entries()) {
        if (cpu[i]! <= MAX_BLOCK_MS) continue;
        let ok = false;
        let last = '';
        for (let attempt = 0; attempt < 5 && !ok; attempt++) {
          remeasured++;
          await settle();
          const used = await measured(name, value);
          const ms = await blockedMs();
          ok = ms <= MAX_BLOCK_MS || used <= MAX_BLOCK_MS;
          last = `event loop blocked ${ms.toFixed(1)} ms, ${used} ms of CPU`;
        }
        if (!ok) problems.push(`${label(name)}: ${last}`);
      }
    }
    const seconds = (Date.now() - t0) / 1000;
    blocks.sort((a, b) => a - b);
    const at = (q: number) => blocks[Math.min(blocks.length - 1, Math.floor(q * blocks.length))]!.toFixed(0);
    console.log(
      `      ${cases.length} fields × ${PATTERNS.length} patterns in ${seconds.toFixed(1)} s; longest event-loop block per field p50 ${at(0.5)} ms, ` +
        `p99 ${at(0.99)} ms, max ${worst.ms.toFixed(1)} ms (${worst.label}); most api CPU for one request ${worstCpu.ms} ms (${worstCpu.label}); ` +
        `${explained} requests in a late field used ≤ ${MAX_BLOCK_MS} ms of CPU, ${remeasured} re-measured alone`,
    );
    expect(problems).to.deep.equal([]);
    expect(worst.ms, 'the monitor saw the 1 MB bodies being parsed at all').to.be.above(0);
    // Still serving, with its state intact.
    expectOk(await tenant.http.post<Env>('/api/gateway/select-instance', { apiIdentifier: 'redos-model', apiType: 'MODEL' }));
  });
});
