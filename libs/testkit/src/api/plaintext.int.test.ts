import { randomBytes } from 'node:crypto';
import { expect } from 'chai';
import { spawnApi, type ChildService } from '../child-service';
import type { HttpClient } from '../http-client';
import { openProbe, stackNames, type Probe, type StackNames } from '../stack';

/**
 * API keys exist in plaintext only in the creation response: after creating keys (one of them seeded
 * through SEED_API_KEY), linking projects and using the keys every way the api accepts them, no row of
 * any table of the database, no Redis value of the stack, and no line the api printed at LOG_LEVEL=debug
 * contains a key — nor any 12-character piece of one (the stored 8-character prefix is allowed).
 */
const WINDOW = 12;

/** Every WINDOW-long piece of `key`, so a truncated or partly masked key is caught too. */
const piecesOf = (key: string) => Array.from({ length: key.length - WINDOW + 1 }, (_, i) => key.slice(i, i + WINDOW));

function leaksIn(text: string, keys: string[]): string[] {
  return keys.flatMap((key) => piecesOf(key).filter((p) => text.includes(p)).map((p) => `${key.slice(0, 6)}… (piece "${p}")`));
}

describe('no plaintext API key in Postgres, Redis or the logs', function () {
  this.timeout(60_000);
  let names: StackNames;
  let probe: Probe;
  let child: (ChildService & { http: HttpClient; admin: HttpClient }) | undefined;
  const seedKey = `seed-key-${randomBytes(12).toString('hex')}`;
  const keys: string[] = [seedKey];
  const responses: string[] = [];

  before(async () => {
    names = stackNames();
    probe = await openProbe(names);
    child = await spawnApi(names, { LOG_LEVEL: 'debug', SEED_API_KEY: seedKey });
  });

  after(async () => {
    await child?.kill();
    await probe?.close();
  });

  it('creates keys and projects and uses the keys every way the api accepts them', async () => {
    const api = child!;
    for (let i = 0; i < 3; i++) {
      const created = await api.admin.post<{ data: { apiKeyValue: string } }>('/api/admin/apikeys', { description: `plaintext probe ${i}` });
      expect(created.status, created.text).to.equal(200);
      keys.push(created.body.data.apiKeyValue);
    }
    for (const [i, key] of keys.entries()) {
      const tenant = api.http.with({ 'api-key': key });
      const project = await tenant.post('/api/projects', { name: `plaintext-${i}`, description: '明文检查', apiKey: key });
      expect(project.status, project.text).to.equal(200);
      responses.push(project.text);
      const businessId = `pt-${i}-${randomBytes(4).toString('hex')}`;
      const instance = await tenant.post<{ data: { id: string } }>('/api/instances', { apiIdentifier: 'pt-model', apiType: 'MODEL', businessId, metadata: { note: 'no key here' } });
      expect(instance.status, instance.text).to.equal(200);
      // The three ways a key is accepted: header, ?apiKey=, Authorization: Bearer.
      const selected = await tenant.post('/api/gateway/select-instance', { apiIdentifier: 'pt-model', apiType: 'MODEL', affinityKey: 's', affinityType: 'SESSION' });
      expect(selected.status, selected.text).to.equal(200);
      expect((await api.http.get(`/api/health/protected?apiKey=${encodeURIComponent(key)}`)).status).to.equal(200);
      expect((await api.http.with({ authorization: `Bearer ${key}` }).get('/api/health/protected')).status).to.equal(200);
      const report = await tenant.post('/api/gateway/report-result', { instanceId: instance.body.data.id, businessId, success: false, latencyMs: 7, errorMessage: 'upstream said no' });
      expect(report.status, report.text).to.equal(200);
      // Failures that carry the key: a malformed body, a key in a wrong place, validation on the key itself.
      await tenant.post('/api/instances', `{"apiKey":"${key}",`);
      await api.http.get(`/api/admin/apikeys/validate?apiKey=${encodeURIComponent(key)}`);
      await api.admin.get(`/api/admin/apikeys/validate?apiKey=${encodeURIComponent(key)}`);
      await api.http.with({ 'api-key': `${key}x` }).post('/api/gateway/select-instance', { apiIdentifier: 'pt-model', apiType: 'MODEL' });
    }
    // A revoked key still used, and admin listings (which must show prefixes only).
    const listed = await api.admin.get<{ data: { id: string }[] }>('/api/admin/apikeys');
    const revokeId = listed.body.data[0]!.id;
    expect((await api.admin.put(`/api/admin/apikeys/${revokeId}/status`, { status: 'REVOKED' })).status).to.equal(200);
    for (const key of keys) await api.http.with({ 'api-key': key }).get('/api/health/protected');
    for (const path of ['/api/admin/apikeys', '/api/admin/projects', `/api/admin/apikeys/${revokeId}`, '/api/admin/instances/all']) {
      responses.push((await api.admin.get(path)).text);
    }
    expect(leaksIn(responses.join('\n'), keys), 'a response after creation showed a key').to.deep.equal([]);
  });

  it('no row of any table holds a key', async () => {
    const { rows: tables } = await probe.db.query<{ schema: string; name: string }>(
      'test.tables',
      `SELECT table_schema AS schema, table_name AS name FROM information_schema.tables
        WHERE table_type = 'BASE TABLE' AND table_schema NOT IN ('pg_catalog', 'information_schema') ORDER BY 1, 2`,
    );
    expect(tables.map((t) => t.name)).to.include.members(['api_keys', 'projects']);
    let dump = '';
    let rowCount = 0;
    for (const t of tables) {
      const ident = `"${t.schema.replace(/"/g, '""')}"."${t.name.replace(/"/g, '""')}"`;
      const { rows } = await probe.db.query<{ j: string }>('test.dump', `SELECT row_to_json(t)::text AS j FROM ${ident} t`);
      rowCount += rows.length;
      dump += rows.map((r) => `${t.name}: ${r.j}`).join('\n');
    }
    // The dump is real: it has our projects and the keys' prefixes.
    expect(dump).to.contain('plaintext-0');
    expect(dump).to.contain(seedKey.slice(0, 8));
    expect(rowCount).to.be.above(10);
    expect(leaksIn(dump, keys), 'a key in Postgres').to.deep.equal([]);
  });

  it('no Redis key or value of the stack holds a key', async () => {
    const r = probe.redis;
    let text = '';
    let cursor = '0';
    do {
      const [next, found] = await r.scan(cursor, 'MATCH', `${names.redisPrefix}*`, 'COUNT', 500);
      cursor = next;
      for (const k of found) {
        const type = await r.type(k);
        const value =
          type === 'string' ? await r.get(k)
          : type === 'hash' ? JSON.stringify(await r.hgetall(k))
          : type === 'zset' ? JSON.stringify(await r.zrange(k, 0, -1))
          : type === 'set' ? JSON.stringify(await r.smembers(k))
          : type === 'list' ? JSON.stringify(await r.lrange(k, 0, -1))
          : type;
        text += `${k} ${value}\n`;
      }
    } while (cursor !== '0');
    expect(text, 'the stack wrote to Redis').to.contain('lease');
    expect(leaksIn(text, keys), 'a key in Redis').to.deep.equal([]);
  });

  // The api logs no request lines (a key could only leak through warnings, errors or start-up lines),
  // so this mostly guards the provisioning message and any error path the calls above went through.
  it('no log line holds a key (LOG_LEVEL=debug, the process stopped so every line is flushed)', async () => {
    expect(await child!.kill()).to.satisfy((code: number | null) => code === 0 || code === null);
    const output = child!.output();
    expect(output).to.contain('api listening');
    expect(output).to.contain('provisioned the configured seed API key');
    expect(leaksIn(output, keys), 'a key in the logs').to.deep.equal([]);
  });
});
