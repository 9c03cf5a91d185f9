import { expect } from 'chai';
import { ERROR_CODES } from '@apg/contracts';
import { startApi, stackNames } from '../stack';
import { createTenant, type TestTenant } from '../tenant';
import { appRoutes, fetchOpenApi, operationsOf, resolvePointer, type OpenApiDoc } from './openapi-walk';

/**
 * The OpenAPI document cannot drift from the app: the (method, path) pairs the express router actually
 * serves equal the document's operations, the document is structurally sound OpenAPI 3 (every $ref
 * resolves), and each operation's declared security is what the app enforces.
 */
describe('api: OpenAPI document', function () {
  this.timeout(30_000);
  let api: Awaited<ReturnType<typeof startApi>>;
  let doc: OpenApiDoc;
  let tenant: TestTenant;

  before(async () => {
    api = await startApi(stackNames());
    tenant = await createTenant(api);
    doc = await fetchOpenApi(api.http);
  });
  after(async () => api?.close());

  it('is served publicly at GET /api/openapi.json as JSON', async () => {
    const res = await api.http.get('/api/openapi.json');
    expect(res.status).to.equal(200);
    expect(res.headers.get('content-type')).to.match(/^application\/json/);
    expect(res.headers.get('x-content-type-options')).to.equal('nosniff');
    // A second request serves the same (cached) document.
    expect((await api.http.get('/api/openapi.json')).text).to.equal(res.text);
    const wrong = await api.http.post('/api/openapi.json', {});
    expect(wrong.status).to.equal(405);
    expect(wrong.headers.get('allow')).to.equal('GET');
  });

  it('lists exactly the routes the express app mounts (no more, no fewer)', () => {
    const mounted = appRoutes(api.service.app).map((r) => `${r.method} ${r.path}`).sort();
    const documented = operationsOf(doc).map((o) => `${o.method} ${o.path}`).sort();
    expect(mounted.length, 'the router walk found routes').to.be.above(40);
    const missing = mounted.filter((r) => !documented.includes(r));
    const stale = documented.filter((r) => !mounted.includes(r));
    expect({ missing, stale }, 'undocumented routes (missing) / documented routes that do not exist (stale)').to.deep.equal({ missing: [], stale: [] });
  });

  it('is structurally sound OpenAPI 3', () => {
    expect(doc.openapi).to.match(/^3\.\d+\.\d+$/);
    expect(doc.info.title).to.be.a('string').with.length.above(0);
    expect(doc.info.version).to.equal('test');
    expect(doc.paths).to.be.an('object');
    expect(doc.components.schemas).to.be.an('object');

    const ids = new Set<string>();
    for (const op of operationsOf(doc)) {
      const where = `${op.method} ${op.path}`;
      expect(op.path, where).to.match(/^\//);
      expect(['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'], where).to.include(op.method);
      expect(op.operation.operationId, where).to.be.a('string');
      expect(ids.has(op.operation.operationId), `operationId ${op.operation.operationId} unique`).to.equal(false);
      ids.add(op.operation.operationId);
      expect(op.operation.summary, where).to.be.a('string').with.length.above(0);
      expect(op.operation.responses, where).to.have.property('200');
      for (const [status, response] of Object.entries(op.operation.responses)) {
        expect(status, where).to.match(/^[1-5]\d\d$/);
        expect(response.description, `${where} ${status}`).to.be.a('string');
        if (Number(status) >= 400) {
          // Every error response is the ErrorBody envelope, with errorCodes whose status is this one.
          const schema = response.content?.['application/json']?.schema as { allOf: Record<string, unknown>[] };
          expect(schema.allOf[0], `${where} ${status}`).to.deep.equal({ $ref: '#/components/schemas/ErrorBody' });
          const codes = (schema.allOf[1] as { properties: { errorCode: { enum: string[] } } }).properties.errorCode.enum;
          for (const code of codes) expect(ERROR_CODES[code as keyof typeof ERROR_CODES], `${where} ${code}`).to.equal(Number(status));
        }
      }
      // Every {param} of the path is a required path parameter, and nothing else is.
      const templated = [...op.path.matchAll(/\{([^{}]+)\}/g)].map((m) => m[1]);
      const pathParams = (op.operation.parameters ?? []).filter((p) => p.in === 'path');
      expect(pathParams.map((p) => p.name).sort(), where).to.deep.equal(templated.sort());
      for (const p of pathParams) expect(p.required, `${where} ${p.name}`).to.equal(true);
      for (const p of op.operation.parameters ?? []) {
        expect(['path', 'query', 'header', 'cookie'], where).to.include(p.in);
        expect(p.schema, `${where} ${p.name} schema`).to.be.an('object');
      }
      for (const requirement of op.operation.security ?? []) {
        for (const scheme of Object.keys(requirement)) expect(doc.components.securitySchemes, where).to.have.property(scheme);
      }
    }
  });

  it('documents the security schemes, the envelope and the error body as components', () => {
    expect(doc.components.securitySchemes['apiKey']).to.deep.include({ type: 'apiKey', in: 'header', name: 'api-key' });
    expect(doc.components.securitySchemes['adminToken']).to.deep.include({ type: 'http', scheme: 'bearer' });
    const envelope = doc.components.schemas['Envelope'] as { properties: Record<string, unknown>; required: string[] };
    expect(Object.keys(envelope.properties)).to.have.members(['code', 'message', 'data', 'timestamp']);
    expect(envelope.required).to.have.members(['code', 'message', 'timestamp']);
    const error = doc.components.schemas['ErrorBody'] as { properties: Record<string, unknown>; required: string[] };
    expect(Object.keys(error.properties)).to.have.members(['code', 'message', 'data', 'timestamp', 'errorCode', 'errors']);
    expect(error.required).to.have.members(['code', 'message', 'timestamp', 'errorCode']);
    expect(doc.components.schemas['ErrorCode']).to.deep.include({ enum: Object.keys(ERROR_CODES) });
    for (const name of ['ApiType', 'InstanceStatus', 'SelectInstanceRequest', 'ReportResultRequest', 'ApiInstance', 'SelectedInstance', 'Project', 'ApiKey']) {
      expect(doc.components.schemas, name).to.have.property(name);
    }
  });

  it('every $ref resolves inside the document', () => {
    const refs: string[] = [];
    const collect = (v: unknown): void => {
      if (Array.isArray(v)) v.forEach(collect);
      else if (v && typeof v === 'object') {
        for (const [k, x] of Object.entries(v)) {
          if (k === '$ref') refs.push(x as string);
          else collect(x);
        }
      }
    };
    collect(doc);
    expect(refs.length).to.be.above(50);
    const unresolved = [...new Set(refs)].filter((r) => !r.startsWith('#/') || resolvePointer(doc, r) === undefined);
    expect(unresolved).to.deep.equal([]);
  });

  it('the request schemas are the validators: a documented enum value is accepted, another is refused', async () => {
    const select = doc.components.schemas['SelectInstanceRequest'] as { required: string[]; properties: Record<string, unknown> };
    expect(select.required).to.have.members(['apiIdentifier', 'apiType']);
    const apiTypes = (doc.components.schemas['ApiType'] as { enum: string[] }).enum;
    expect(apiTypes).to.include('MODEL');
    const businessId = `b-${Date.now()}`;
    expect((await tenant.http.post('/api/instances', { apiIdentifier: 'x', apiType: apiTypes.at(-1), businessId })).status).to.equal(200);
    expect((await tenant.http.post('/api/instances', { apiIdentifier: 'x', apiType: 'model', businessId })).status).to.equal(400);
  });

  it('each operation\'s security is what the app enforces', async () => {
    const fill = (path: string) => path.replace(/\{apiType\}/g, 'MODEL').replace(/\{[^{}]+\}/g, '0123456789abcdef0123456789abcdef');
    for (const op of operationsOf(doc)) {
      const scheme = Object.keys(op.operation.security?.[0] ?? {})[0] ?? 'none';
      const url = fill(op.path);
      const anonymous = await api.http.request(op.method.toUpperCase(), url);
      const where = `${op.method} ${op.path} (${scheme})`;
      if (scheme === 'none') {
        expect(anonymous.status, where).not.to.be.oneOf([401, 403]);
        continue;
      }
      expect(anonymous.status, where).to.equal(401);
      // The other kind of credential is refused as well.
      const other = scheme === 'apiKey'
        ? await api.admin.request(op.method.toUpperCase(), url)
        : await tenant.http.request(op.method.toUpperCase(), url);
      expect(other.status, `${where} with the other credential`).to.equal(401);
    }
  });
});
