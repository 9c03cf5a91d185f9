import { isDeepStrictEqual } from 'node:util';
import { z } from 'zod';
import { ERROR_CODES, type ErrorCode } from '@apg/contracts';
import type { RouteSpec } from './route-catalog';
import { COMPONENT_NAMES } from './component-names';

/**
 * Builds the OpenAPI 3.1 document from the route catalog with zod 4's own `z.toJSONSchema` (JSON Schema
 * 2020-12, which is OpenAPI 3.1's schema dialect). Request schemas are rendered as the client must send
 * them (`io: 'input'`: before defaults and transforms), response schemas as the api sends them.
 */

type Json = Record<string, unknown>;

export interface OpenApiDocument {
  openapi: string;
  info: { title: string; version: string; description: string };
  tags: { name: string }[];
  paths: Record<string, Record<string, Json>>;
  components: { schemas: Record<string, Json>; securitySchemes: Record<string, Json> };
}

export interface OpenApiOptions {
  /** The service version, as `/api/health` reports it. */
  version: string;
  /** The configured JSON body limit (BODY_LIMIT), stated in the description. */
  bodyLimit: string;
}

/**
 * A registry that adds component ids to the metadata zod already holds (`.describe()` lives in the global
 * registry, which `toJSONSchema` would otherwise not read once a registry is passed).
 */
class ComponentRegistry extends z.core.$ZodRegistry<z.core.GlobalMeta> {
  override get(schema: z.core.$ZodType): z.core.GlobalMeta | undefined {
    const global = z.globalRegistry.get(schema);
    const own = super.get(schema);
    return global || own ? { ...global, ...own } : undefined;
  }
}

const COMPONENT_PREFIX = '#/components/schemas/';

/** Turns one zod schema into JSON Schema, moving every named sub-schema into `components`. */
class SchemaWriter {
  readonly components: Record<string, Json> = {};
  private readonly registry = new ComponentRegistry();

  constructor() {
    for (const [schema, name] of COMPONENT_NAMES) this.registry.add(schema, { id: name });
  }

  write(schema: z.ZodType, io: 'input' | 'output'): Json {
    const json = z.toJSONSchema(schema, { metadata: this.registry, io, unrepresentable: 'any', target: 'draft-2020-12' }) as Json;
    delete json['$schema'];
    const defs = (json['$defs'] ?? {}) as Record<string, Json>;
    delete json['$defs'];
    for (const [name, def] of Object.entries(defs)) {
      const rewritten = rewriteRefs(def) as Json;
      const existing = this.components[name];
      if (existing && !isDeepStrictEqual(existing, rewritten)) {
        throw new Error(`OpenAPI component ${name} renders differently in two places (request vs response?)`);
      }
      this.components[name] = rewritten;
    }
    return rewriteRefs(json) as Json;
  }
}

function rewriteRefs(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(rewriteRefs);
  if (typeof value !== 'object' || value === null) return value;
  const out: Json = {};
  for (const [k, v] of Object.entries(value)) {
    out[k] = k === '$ref' && typeof v === 'string' && v.startsWith('#/$defs/') ? `${COMPONENT_PREFIX}${v.slice('#/$defs/'.length)}` : rewriteRefs(v);
  }
  return out;
}

const ref = (name: string) => ({ $ref: `${COMPONENT_PREFIX}${name}` });

/** `post /api/instances/{apiType}/{businessId}/activate` → `postInstancesByApiTypeByBusinessIdActivate`. */
export function operationIdOf(route: Pick<RouteSpec, 'method' | 'path'>): string {
  const words = route.path
    .split('/')
    .filter((s) => s && s !== 'api')
    .map((s) => (s.startsWith('{') ? `by-${s.slice(1, -1)}` : s))
    .flatMap((s) => s.split(/[^\da-z]+/i))
    .filter(Boolean);
  return route.method + words.map((w) => w[0]!.toUpperCase() + w.slice(1)).join('');
}

export const pathParamsOf = (path: string): string[] => [...path.matchAll(/\{([^{}]+)\}/g)].map((m) => m[1]!);

function parametersOf(writer: SchemaWriter, schema: z.ZodObject | undefined, location: 'path' | 'query'): Json[] {
  if (!schema) return [];
  const json = writer.write(schema, 'input');
  const properties = (json['properties'] ?? {}) as Record<string, Json>;
  const required = new Set((json['required'] ?? []) as string[]);
  return Object.entries(properties).map(([name, propertySchema]) => {
    const { description, ...rest } = propertySchema;
    const parameter: Json = { name, in: location, required: location === 'path' || required.has(name), schema: rest };
    if (typeof description === 'string') parameter['description'] = description;
    return parameter;
  });
}

/** The errors any route of this kind can answer with, on top of its own. */
function errorCodesOf(route: RouteSpec): ErrorCode[] {
  const codes = new Set<ErrorCode>(route.errors ?? []);
  if (route.params || route.query || route.body) codes.add('VALIDATION_FAILED');
  if (route.body) {
    codes.add('MALFORMED_JSON');
    codes.add('PAYLOAD_TOO_LARGE');
    codes.add('UNSUPPORTED_MEDIA_TYPE');
  }
  if (route.auth !== 'none') codes.add('UNAUTHORIZED');
  if (route.auth === 'apiKey') codes.add('FORBIDDEN');
  // Anonymous /api routes are throttled per client address, and so are tenant requests whose key the
  // cache cannot answer (see app.ts); admin and ops routes are not.
  if (route.auth !== 'admin' && route.path.startsWith('/api/')) codes.add('RATE_LIMITED');
  // Any /api route that needs Postgres, Redis or Kafka and cannot reach them answers 503 (README "Outages");
  // an authenticated one needs Postgres for a key it has not seen.
  if (route.path.startsWith('/api/') && (route.auth !== 'none' || route.method !== 'get')) codes.add('DEPENDENCY_UNAVAILABLE');
  return [...codes];
}

function errorResponses(route: RouteSpec): Record<string, Json> {
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of errorCodesOf(route)) byStatus.set(ERROR_CODES[code], [...(byStatus.get(ERROR_CODES[code]) ?? []), code]);
  const responses: Record<string, Json> = {};
  for (const [status, codes] of [...byStatus].sort(([a], [b]) => a - b)) {
    codes.sort();
    responses[String(status)] = {
      description: codes.join(', '),
      content: {
        'application/json': {
          schema: { allOf: [ref('ErrorBody'), { type: 'object', properties: { code: { const: status }, errorCode: { enum: codes } } }] },
        },
      },
    };
  }
  return responses;
}

function successResponse(writer: SchemaWriter, route: RouteSpec): Json {
  if (route.raw) {
    const schema = route.raw.schema ? writer.write(route.raw.schema, 'output') : {};
    return { description: route.data.description, content: { [route.raw.contentType]: { schema } } };
  }
  const fixed: Json = { type: 'object', properties: { code: { const: 200 } } };
  if (route.data.schema) {
    fixed['properties'] = { code: { const: 200 }, data: writer.write(route.data.schema, 'output') };
    fixed['required'] = ['data'];
  }
  return {
    description: route.data.description,
    content: { 'application/json': { schema: { allOf: [ref('Envelope'), fixed] } } },
  };
}

function operationOf(writer: SchemaWriter, route: RouteSpec): Json {
  const declared = pathParamsOf(route.path);
  const given = Object.keys(route.params?.shape ?? {});
  if (declared.length !== given.length || declared.some((p) => !given.includes(p))) {
    throw new Error(`${route.method} ${route.path}: path parameters {${declared.join(', ')}} but schema keys ${given.join(', ') || 'none'}`);
  }
  const operation: Json = {
    operationId: operationIdOf(route),
    summary: route.summary,
    tags: [route.tag],
    security: route.auth === 'apiKey' ? [{ apiKey: [] }] : route.auth === 'admin' ? [{ adminToken: [] }, { consoleSession: [] }] : [],
  };
  if (route.description) operation['description'] = route.description;
  const parameters = [...parametersOf(writer, route.params, 'path'), ...parametersOf(writer, route.query, 'query')];
  if (parameters.length) operation['parameters'] = parameters;
  if (route.body) {
    operation['requestBody'] = {
      // Handlers read an absent body as `{}`: the body is required exactly when `{}` is not valid.
      required: !route.body.safeParse({}).success,
      content: { 'application/json': { schema: writer.write(route.body, 'input') } },
    };
  }
  operation['responses'] = { '200': successResponse(writer, route), ...errorResponses(route) };
  return operation;
}

const DESCRIPTION = (bodyLimit: string) => `Seed-compatible HTTP API of the API Premium Gateway.

Every \`/api\` response is the envelope \`{code, message, data?, timestamp}\`; on errors the HTTP status equals \`code\` and
the body adds a stable \`errorCode\` and, for validation errors, \`errors[]\` naming each offending field.
Any request may also answer 404 \`NOT_FOUND\` (unknown route) or 405 \`METHOD_NOT_ALLOWED\` (with \`Allow\`); any request
carrying a body may answer 400 \`MALFORMED_JSON\`, 413 \`PAYLOAD_TOO_LARGE\` (limit ${bodyLimit}) or 415
\`UNSUPPORTED_MEDIA_TYPE\` (bodies are \`application/json\`, UTF-8; the charset parameter may be left out).`;

export function buildOpenApiDocument(routes: readonly RouteSpec[], options: OpenApiOptions): OpenApiDocument {
  const writer = new SchemaWriter();
  // The envelope parts and enums are components even where no route names them directly.
  for (const [schema, name] of COMPONENT_NAMES) {
    if (ALWAYS_LISTED.has(name)) writer.write(schema, 'output');
  }
  const paths: Record<string, Record<string, Json>> = {};
  const seen = new Set<string>();
  for (const route of routes) {
    const key = `${route.method} ${route.path}`;
    if (seen.has(key)) throw new Error(`route ${key} is catalogued twice`);
    seen.add(key);
    (paths[route.path] ??= {})[route.method] = operationOf(writer, route);
  }
  const operationIds = Object.values(paths).flatMap((p) => Object.values(p).map((o) => o['operationId'] as string));
  const duplicate = operationIds.find((id, i) => operationIds.indexOf(id) !== i);
  if (duplicate) throw new Error(`duplicate operationId ${duplicate}`);

  return {
    openapi: '3.1.0',
    info: { title: 'API Premium Gateway', version: options.version, description: DESCRIPTION(options.bodyLimit) },
    tags: [...new Set(routes.map((r) => r.tag))].map((name) => ({ name })),
    paths,
    components: {
      schemas: Object.fromEntries(Object.entries(writer.components).sort(([a], [b]) => a.localeCompare(b))),
      securitySchemes: {
        apiKey: {
          type: 'apiKey',
          in: 'header',
          name: 'api-key',
          description: 'The tenant\'s API key. Also accepted, as by the seed, as `?apiKey=` or `Authorization: Bearer <key>`.',
        },
        adminToken: { type: 'http', scheme: 'bearer', description: '`Authorization: Bearer <ADMIN_TOKEN>`; a tenant key is never accepted here.' },
        consoleSession: {
          type: 'apiKey', in: 'cookie', name: 'apg_console',
          description: 'The admin console\'s session cookie (`POST /api/console/session`); a request that changes state must also send `X-APG-Console: 1` and, if any, its own Origin.',
        },
      },
    },
  };
}

const ALWAYS_LISTED = new Set(['Envelope', 'ErrorBody', 'FieldError', 'ErrorCode', 'ApiType', 'InstanceStatus', 'ApiKeyStatus', 'ProjectStatus']);
