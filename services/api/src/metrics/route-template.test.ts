import { expect } from 'chai';
import { ROUTE_CATALOG } from '../openapi/route-catalog';
import { RouteTemplates, UNMATCHED_ROUTE } from './route-template';

describe('RouteTemplates', () => {
  const routes = new RouteTemplates(ROUTE_CATALOG.map((r) => r.path));
  const cases: [string, string][] = [
    ['/api/gateway/select-instance', '/api/gateway/select-instance'],
    ['/api/gateway/report-result/', '/api/gateway/report-result'],
    ['/API/Gateway/Select-Instance', '/api/gateway/select-instance'],
    ['/api/instances/batch', '/api/instances/batch'],
    ['/api/instances/CHAT/gpt-4o', '/api/instances/{apiType}/{businessId}'],
    ['/api/instances/CHAT/gpt-4o/activate', '/api/instances/{apiType}/{businessId}/activate'],
    ['/api/instances/CHAT/a%2Fb', '/api/instances/{apiType}/{businessId}'],
    ['/api/admin/instances/0123456789abcdef0123456789abcdef/breaker', '/api/admin/instances/{id}/breaker'],
    ['/api/admin/projects/search', '/api/admin/projects/search'],
    ['/api/admin/projects/p1', '/api/admin/projects/{projectId}'],
    ['/metrics', '/metrics'],
    ['/healthz', '/healthz'],
    ['/', UNMATCHED_ROUTE],
    ['/api/instances//gpt', UNMATCHED_ROUTE],
    ['/api/nope', UNMATCHED_ROUTE],
    ['/wp-admin/setup.php', UNMATCHED_ROUTE],
    [`/api/instances/CHAT/${'x'.repeat(100_000)}`, UNMATCHED_ROUTE],
  ];
  for (const [path, template] of cases) {
    it(`${path.slice(0, 60)} → ${template}`, () => {
      expect(routes.match(path)).to.equal(template);
    });
  }

  it('never returns anything but a catalog template or "unmatched" (bounded label values)', () => {
    const allowed = new Set([...ROUTE_CATALOG.map((r) => r.path), UNMATCHED_ROUTE]);
    const junk = ['/api/instances/a/b/c/d', '/api/admin/instances/x/y', '/api/../etc/passwd', '//', '/api/health/protected/x', '/%00', '/api/projects/../../x'];
    for (const p of junk) expect(allowed.has(routes.match(p)), p).to.equal(true);
  });

  it('prefers a literal route over a parameterised one', () => {
    expect(routes.match('/api/admin/instances/all')).to.equal('/api/admin/instances/all');
    expect(routes.match('/api/admin/projects/statistics')).to.equal('/api/admin/projects/statistics');
  });
});
