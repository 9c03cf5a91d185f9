import type { HttpClient } from '../http-client';

/**
 * Helpers shared by the OpenAPI, fuzz and isolation tests: the routes an express app really serves
 * (from its router tree), and the operations of the served OpenAPI document.
 */

export interface JsonSchema {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
  enum?: unknown[];
  const?: unknown;
  anyOf?: JsonSchema[];
  allOf?: JsonSchema[];
  $ref?: string;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  maxItems?: number;
  pattern?: string;
  additionalProperties?: JsonSchema | boolean;
}

export interface OpenApiParameter {
  name: string;
  in: string;
  required?: boolean;
  schema: JsonSchema;
}

export interface OpenApiOperation {
  operationId: string;
  summary: string;
  security?: Record<string, string[]>[];
  parameters?: OpenApiParameter[];
  requestBody?: { required: boolean; content: Record<string, { schema: JsonSchema }> };
  responses: Record<string, { description: string; content?: Record<string, { schema: unknown }> }>;
}

export interface OpenApiDoc {
  openapi: string;
  info: { title: string; version: string };
  paths: Record<string, Record<string, OpenApiOperation>>;
  components: { schemas: Record<string, unknown>; securitySchemes: Record<string, unknown> };
}

export interface DocumentedOperation {
  method: string;
  path: string;
  operation: OpenApiOperation;
  auth: 'none' | 'apiKey' | 'admin';
}

export async function fetchOpenApi(http: HttpClient): Promise<OpenApiDoc> {
  const res = await http.get<OpenApiDoc>('/api/openapi.json');
  if (res.status !== 200) throw new Error(`GET /api/openapi.json: ${res.status} ${res.text.slice(0, 500)}`);
  return res.body;
}

export function operationsOf(doc: OpenApiDoc): DocumentedOperation[] {
  return Object.entries(doc.paths).flatMap(([path, ops]) =>
    Object.entries(ops).map(([method, operation]): DocumentedOperation => {
      const scheme = Object.keys(operation.security?.[0] ?? {})[0];
      const auth = scheme === 'apiKey' ? 'apiKey' : scheme === 'adminToken' ? 'admin' : 'none';
      return { method, path, operation, auth };
    }),
  );
}

/** `#/components/schemas/X` → the value it points at, or undefined. */
export function resolvePointer(doc: unknown, ref: string): unknown {
  let node: unknown = doc;
  for (const raw of ref.slice(2).split('/')) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (!node || typeof node !== 'object' || !(key in node)) return undefined;
    node = (node as Record<string, unknown>)[key];
  }
  return node;
}

/** Follows `$ref`s (and single-entry allOf) down to a concrete schema. */
export function deref(doc: OpenApiDoc, schema: JsonSchema | undefined): JsonSchema | undefined {
  let s = schema;
  for (let i = 0; s?.$ref && i < 10; i++) s = resolvePointer(doc, s.$ref) as JsonSchema | undefined;
  return s;
}

interface ListedRoute {
  path: unknown;
  methods?: string[];
  router?: { listRoutes?: () => ListedRoute[] };
}

/**
 * Every (method, path) the app serves, from express 5's router tree (`Router#listRoutes`, router ≥ 2.3),
 * recursing into mounted routers. Paths come back in OpenAPI form (`:id` → `{id}`); the automatic HEAD of
 * GET routes is left out.
 */
export function appRoutes(app: unknown): { method: string; path: string }[] {
  const root = (app as { router?: { listRoutes?: () => ListedRoute[] } }).router;
  if (typeof root?.listRoutes !== 'function') throw new Error('app.router.listRoutes() is missing: express 5 with router >= 2.3 is required');
  const out: { method: string; path: string }[] = [];
  const walk = (routes: ListedRoute[], prefix: string) => {
    for (const r of routes) {
      if (typeof r.path !== 'string') throw new Error(`a route with a non-string path (${String(r.path)}) cannot be documented`);
      const joined = `${prefix}${r.path === '/' ? '' : r.path}` || '/';
      if (r.router) {
        if (typeof r.router.listRoutes !== 'function') throw new Error(`router mounted at ${joined} cannot list its routes`);
        // A router mounted without a path lists as '/': its routes carry their own leading slash.
        walk(r.router.listRoutes(), joined === '/' ? '' : joined);
        continue;
      }
      for (const m of r.methods ?? []) {
        if (m === '*') throw new Error(`${joined} has an .all() handler, which no document can describe`);
        if (m === 'HEAD') continue;
        out.push({ method: m.toLowerCase(), path: joined.replace(/:(\w+)/g, '{$1}') });
      }
    }
  };
  walk(root.listRoutes(), '');
  // The same path may be mounted twice (two routers under /admin/instances): keep each pair once.
  return [...new Map(out.map((r) => [`${r.method} ${r.path}`, r])).values()];
}
