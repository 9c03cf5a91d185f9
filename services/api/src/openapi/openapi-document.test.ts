import { expect } from 'chai';
import { z } from 'zod';
import { buildOpenApiDocument, operationIdOf } from './openapi-document';
import { ROUTE_CATALOG, type RouteSpec } from './route-catalog';

const options = { version: '1.2.3', bodyLimit: '1mb' };

describe('openapi: document builder', () => {
  it('builds the catalog into an OpenAPI 3.1 document with one operation per route', () => {
    const doc = buildOpenApiDocument(ROUTE_CATALOG, options);
    expect(doc.openapi).to.equal('3.1.0');
    expect(doc.info.version).to.equal('1.2.3');
    const operations = Object.values(doc.paths).flatMap((p) => Object.keys(p));
    expect(operations).to.have.length(ROUTE_CATALOG.length);
  });

  it('renders request schemas as clients send them and refers to named components', () => {
    const doc = buildOpenApiDocument(ROUTE_CATALOG, options);
    const op = doc.paths['/api/gateway/select-instance']!['post']! as { requestBody: { required: boolean; content: Record<string, { schema: unknown }> } };
    expect(op.requestBody.required).to.equal(true);
    expect(op.requestBody.content['application/json']!.schema).to.deep.equal({ $ref: '#/components/schemas/SelectInstanceRequest' });
    const select = doc.components.schemas['SelectInstanceRequest'] as { properties: Record<string, unknown>; required: string[] };
    expect(select.properties['apiType']).to.deep.equal({ $ref: '#/components/schemas/ApiType' });
    expect(select.required).to.have.members(['apiIdentifier', 'apiType']);
    // An activate carries no body at all.
    expect(doc.paths['/api/instances/{apiType}/{businessId}/activate']!['post']).not.to.have.property('requestBody');
    // A body `{}` satisfies: not required.
    const keys = doc.paths['/api/admin/apikeys']!['post']! as { requestBody: { required: boolean } };
    expect(keys.requestBody.required).to.equal(false);
  });

  it('turns path and query schemas into parameters', () => {
    const doc = buildOpenApiDocument(ROUTE_CATALOG, options);
    const op = doc.paths['/api/admin/instances/business/{businessId}']!['get']! as { parameters: { name: string; in: string; required: boolean }[] };
    expect(op.parameters.map((p) => [p.name, p.in, p.required])).to.deep.equal([
      ['businessId', 'path', true],
      ['projectId', 'query', true],
      ['apiType', 'query', false],
    ]);
  });

  it('groups error codes by status and adds those of the route\'s kind', () => {
    const doc = buildOpenApiDocument(ROUTE_CATALOG, options);
    const responses = (doc.paths['/api/gateway/select-instance']!['post']! as { responses: Record<string, { description: string }> }).responses;
    expect(Object.keys(responses)).to.deep.equal(['200', '400', '401', '403', '404', '409', '413', '415', '429', '503']);
    // DEPENDENCY_UNAVAILABLE: a key this replica has not seen while Postgres is down (README "Outages").
    expect(responses['503']!.description).to.equal('DEPENDENCY_UNAVAILABLE, FALLBACK_EXHAUSTED, NO_HEALTHY_INSTANCE');
    expect(responses['400']!.description).to.equal('MALFORMED_JSON, VALIDATION_FAILED');
    const health = (doc.paths['/api/health']!['get']! as { responses: Record<string, unknown> }).responses;
    expect(Object.keys(health)).to.deep.equal(['200', '429']);
  });

  it('names operations after method and path', () => {
    expect(operationIdOf({ method: 'post', path: '/api/instances/{apiType}/{businessId}/activate' })).to.equal('postInstancesByApiTypeByBusinessIdActivate');
    expect(operationIdOf({ method: 'get', path: '/api/openapi.json' })).to.equal('getOpenapiJson');
    expect(operationIdOf({ method: 'get', path: '/healthz' })).to.equal('getHealthz');
  });

  it('refuses a catalog whose path parameters and schema disagree, or that lists a route twice', () => {
    const base: RouteSpec = { method: 'get', path: '/api/x/{id}', auth: 'admin', tag: 't', summary: 's', data: { description: 'd' } };
    expect(() => buildOpenApiDocument([base], options)).to.throw(/path parameters \{id\}/);
    const ok: RouteSpec = { ...base, params: z.object({ id: z.string() }) };
    expect(() => buildOpenApiDocument([ok, ok], options)).to.throw(/catalogued twice/);
    expect(() => buildOpenApiDocument([ok], options)).not.to.throw();
  });
});
