import { mulberry32 as prng } from '@apg/core';
export { prng };
import { deref, type DocumentedOperation, type JsonSchema, type OpenApiDoc } from './openapi-walk';
import type { RawRequest } from './raw-http';

/**
 * Malformed-request generators for the fuzz test, driven by the served OpenAPI document: every
 * documented route gets the same families of bad input, and the per-field cases come from its request
 * schema. Random parts come from a seeded PRNG, so a failing case is reproduced by its seed.
 */


export interface FuzzCase extends RawRequest {
  label: string;
  op: DocumentedOperation;
  /** Statuses this case must answer with; any status < 500 when absent. */
  expect?: number[];
}

/** Values the fixtures provide, so a mutated request reaches past "unknown id" into the handler. */
export interface Fixtures {
  apiKey: string;
  adminToken: string;
  /** Path parameter values per name (a DELETE gets random ones instead: it must not remove the fixtures). */
  pathValues: Record<string, string>;
  /** Body and query field values per name. */
  fieldValues: Record<string, string>;
}

const hex32 = (rand: () => number) => Array.from({ length: 32 }, () => Math.floor(rand() * 16).toString(16)).join('');
const token = (rand: () => number) => `fz${Math.floor(rand() * 2 ** 32).toString(36)}`;

/** A plausible value for a schema: first enum value, a 32-hex id for that pattern, a short token, the minimum. */
function sample(doc: OpenApiDoc, schema: JsonSchema | undefined, rand: () => number, depth = 0): unknown {
  const s = deref(doc, schema);
  if (!s || depth > 4) return 'x';
  if (s.anyOf) return sample(doc, s.anyOf.find((b) => deref(doc, b)?.type !== 'null'), rand, depth + 1);
  if (s.enum) return s.enum[0];
  if (s.const !== undefined) return s.const;
  switch (Array.isArray(s.type) ? s.type[0] : s.type) {
    case 'string':
      return s.pattern === '^[0-9a-f]{32}$' ? hex32(rand) : token(rand);
    case 'integer':
    case 'number':
      return Math.max(s.minimum ?? 1, 1);
    case 'boolean':
      return true;
    case 'array':
      return [sample(doc, s.items, rand, depth + 1)];
    case 'object':
      return baseline(doc, s, rand, {}, depth + 1);
    default:
      return 'x';
  }
}

/** An object with its required fields filled (fixture values win). */
export function baseline(doc: OpenApiDoc, schema: JsonSchema | undefined, rand: () => number, fields: Record<string, string>, depth = 0): Record<string, unknown> {
  const s = deref(doc, schema);
  const out: Record<string, unknown> = {};
  for (const name of s?.required ?? []) out[name] = fields[name] ?? sample(doc, s?.properties?.[name], rand, depth);
  return out;
}

export const typeOf = (doc: OpenApiDoc, schema: JsonSchema | undefined): string[] => {
  const s = deref(doc, schema);
  if (!s) return [];
  if (s.anyOf) return s.anyOf.flatMap((b) => typeOf(doc, b));
  if (s.enum) return ['string'];
  return Array.isArray(s.type) ? s.type : s.type ? [s.type] : [];
};

const WRONG_TYPES: [string, unknown][] = [
  ['number', 12345],
  ['number', -1],
  ['number', 1.5],
  ['boolean', true],
  ['string', 'not-the-type'],
  ['array', []],
  ['array', ['a', 1, null]],
  ['object', {}],
  ['object', { $gt: '' }],
  ['null', null],
];

/** Raw JSON number literals, inserted as text (JSON.stringify cannot write 1e309). */
const NUMBERS = ['-1', '1e309', '-1e309', '1e308', '9007199254740993', '2147483648', '-0', '1.5', '0.0000001', '1E2', '-2147483649'];
const NUM_MARK = '__FUZZ_NUMBER__';

const ENUM_GARBAGE = (values: unknown[]) => [
  String(values[0]).toLowerCase(),
  `${String(values[0])} `,
  ` ${String(values[0])}`,
  '',
  'UNKNOWN_VALUE',
  'ＭＯＤＥＬ',
  `${String(values[0])}\u0000`,
];

const STRINGS = [
  'a\u0000b',
  '\u0000',
  '高可用🚀 AgentX高可用项目',
  '\u202eRTL override',
  'e\u0301\u0301\u0301 combining',
  '\ud800 lone surrogate',
  '\udfff\ud800 reversed pair',
  '\uffff\ufffe noncharacters',
  '" OR 1=1 --',
  '${jndi:ldap://x}',
  '../../../../etc/passwd',
  '\r\nX-Injected: 1',
];

const deep = (depth: number, open: string, close: string, leaf = '1') => `${open.repeat(depth)}${leaf}${close.repeat(depth)}`;

/** The body-level cases every route gets, whatever it documents. */
function bodyShapes(base: string, rand: () => number, limitBytes: number): [string, string][] {
  const cut = Math.max(1, Math.floor(rand() * (base.length - 1)));
  // Nesting as deep as the body limit allows: a parser or serializer that recurses must not crash.
  const depth = Math.floor((limitBytes - 64) / 6);
  return [
    ['invalid JSON', '{"a":'],
    ['single quotes', "{'a':1}"],
    ['trailing comma', '{"a":1,}'],
    ['NaN literal', '{"a":NaN}'],
    ['undefined literal', '{"a":undefined}'],
    ['truncated JSON', base.slice(0, cut)],
    ['truncated JSON (last byte)', base.slice(0, -1)],
    ['JSON array', '[]'],
    ['JSON array of objects', `[${base}]`],
    ['JSON string', '"str"'],
    ['JSON number', '42'],
    ['JSON null', 'null'],
    ['JSON true', 'true'],
    ['empty object', '{}'],
    ['whitespace only', '   \n\t '],
    ['duplicate keys', base.replace(/^\{/, '{"apiType":"MODEL","apiType":"NOPE",')],
    ['__proto__ key', base.replace(/^\{/, '{"__proto__":{"polluted":true,"apiType":"MODEL"},')],
    ['constructor.prototype key', base.replace(/^\{/, '{"constructor":{"prototype":{"polluted":true}},')],
    ['NUL key', base.replace(/^\{/, '{"\\u0000":1,')],
    ['BOM prefix', `\ufeff${base}`],
    ['deep objects', deep(depth, '{"a":', '}')],
    ['deep arrays', deep(Math.floor((limitBytes - 64) / 2), '[', ']')],
    ['deep objects in every field', base.replace(/^\{/, `{"metadata":${deep(Math.floor(depth / 2), '{"a":', '}')},`)],
  ];
}

/** One case per (field × bad value) of the route's documented body, plus the body-level shapes. */
export function bodyCases(doc: OpenApiDoc, op: DocumentedOperation, fx: Fixtures, rand: () => number, limitBytes: number, request: (body: string, label: string) => FuzzCase): FuzzCase[] {
  const schemaRef = op.operation.requestBody?.content['application/json']?.schema;
  const schema = deref(doc, schemaRef);
  const fields = op.method === 'delete' ? {} : fx.fieldValues;
  const base = baseline(doc, schema, rand, fields);
  const baseText = JSON.stringify(base);
  const cases: FuzzCase[] = bodyShapes(baseText, rand, limitBytes).map(([label, body]) => request(body, label));
  cases.push(request(`{"x":"${'x'.repeat(limitBytes + 1024)}"}`, 'over the body limit'));
  cases.push({ ...request(`{"x":"${'y'.repeat(limitBytes + 1024)}"}`, 'over the body limit, chunked'), chunked: true });
  for (const c of cases.slice(-2)) c.expect = [413];

  const perField = (container: Record<string, unknown>, props: Record<string, JsonSchema>, wrap: (inner: Record<string, unknown>) => unknown, prefix: string) => {
    for (const [name, propSchema] of Object.entries(props)) {
      const types = typeOf(doc, propSchema);
      const s = deref(doc, propSchema);
      const put = (value: unknown) => JSON.stringify(wrap({ ...container, [name]: value }));
      for (const [type, value] of WRONG_TYPES) {
        if (types.includes(type) || (type === 'number' && types.includes('integer') && Number.isInteger(value))) continue;
        cases.push(request(put(value), `${prefix}${name}: wrong type ${JSON.stringify(value)}`));
      }
      if (s?.enum) for (const v of ENUM_GARBAGE(s.enum)) cases.push(request(put(v), `${prefix}${name}: unknown enum ${JSON.stringify(v)}`));
      if (types.includes('string')) {
        for (const v of STRINGS) cases.push(request(put(v), `${prefix}${name}: string ${JSON.stringify(v)}`));
        // Far over every documented maxLength (≤ 2000), well under the body limit.
        cases.push(request(put('s'.repeat(100_000)), `${prefix}${name}: huge string`));
        const random = Array.from({ length: 1 + Math.floor(rand() * 40) }, () => String.fromCharCode(Math.floor(rand() * 0xffff))).join('');
        cases.push(request(put(random), `${prefix}${name}: random UTF-16 ${JSON.stringify(random)}`));
      }
      if (types.includes('integer') || types.includes('number')) {
        for (const n of NUMBERS) cases.push(request(put(NUM_MARK).replace(`"${NUM_MARK}"`, n), `${prefix}${name}: number ${n}`));
      }
      if (types.includes('object')) {
        cases.push(request(put({ priority: 'high', weight: -5, rpm: 0, tpm: 'x', breaker: { minCalls: -1, windowMs: 'y' }, costPerUnit: 1e308 }), `${prefix}${name}: hostile object`));
      }
      if (types.includes('array')) {
        const item = s?.items ? sample(doc, s.items, rand) : 'x';
        cases.push(request(put(Array.from({ length: 20_000 }, () => item)), `${prefix}${name}: 20000 items`));
        cases.push(request(put([null]), `${prefix}${name}: [null]`));
        const itemSchema = deref(doc, s?.items);
        if (itemSchema?.properties) {
          const itemBase = baseline(doc, itemSchema, rand, fields);
          perField(itemBase, itemSchema.properties, (inner) => wrap({ ...container, [name]: [inner] }), `${prefix}${name}[0].`);
        }
      }
    }
  };
  if (schema?.properties) perField(base, schema.properties, (inner) => inner, '');
  return cases;
}

/** Garbage for one path parameter, already percent-encoded. */
export function pathGarbage(rand: () => number): string[] {
  const randomBytes = Array.from({ length: 1 + Math.floor(rand() * 24) }, () => `%${Math.floor(rand() * 256).toString(16).padStart(2, '0')}`).join('');
  return [
    '%00',
    'a%00b',
    '..%2F..%2F..%2Fetc%2Fpasswd',
    '%2E%2E',
    '%ZZ',
    '%',
    '%C0%AF',
    '%ED%A0%80',
    '%E4%B8%AD%E6%96%87',
    '%F0%9F%98%80',
    '%20',
    "'%20OR%201=1--",
    'x'.repeat(6000),
    encodeURIComponent('0123456789abcdef0123456789ABCDEF'),
    randomBytes,
  ];
}

export function queryGarbage(name: string, rand: () => number): string[] {
  const random = Array.from({ length: 1 + Math.floor(rand() * 12) }, () => `%${Math.floor(rand() * 256).toString(16).padStart(2, '0')}`).join('');
  return [
    `${name}=a&${name}=b`,
    `${name}=%00`,
    `${name}=${'q'.repeat(6000)}`,
    `${name}=NOT_A_VALUE`,
    `${name}=%ZZ`,
    `${name}[x]=1`,
    `${name}=`,
    `${name}=${random}`,
    `${name}=%E4%B8%AD`,
  ];
}
