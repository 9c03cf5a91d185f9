import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { createRedis, LuaScript, type Redis, type RedisTarget } from '@apg/platform';
import { freePort, serviceEnv, spawnApi, spawnService, type ChildService } from '../child-service';
import type { HttpClient } from '../http-client';
import { register } from '../routing/routing-fixture';
import { openProbe, stackNames, type Probe, type StackNames } from '../stack';
import { createTenant, type TestTenant } from '../tenant';
import { waitFor } from '../wait-for';
import { RedisHa } from './redis-ha';

/**
 * Issue 12: Redis as a primary, a replica and three Sentinels, all real `redis-server` processes on free
 * ports. Every client the services make follows a failover: writes reach the new primary (none
 * acknowledged and then lost), Lua scripts run although the new primary never saw them (NOSCRIPT
 * fallback), subscriptions come back by themselves, and the services keep serving and announcing.
 */
describe('Redis failover behind Sentinels (real redis-server processes)', function () {
  this.timeout(180_000);
  let dir: string;
  let ha: RedisHa;
  let target: RedisTarget;
  const clients: Redis[] = [];
  const client = (): Redis => {
    const r = createRedis(target);
    clients.push(r);
    return r;
  };

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'apg-redis-ha-'));
    const ports = await distinctFreePorts(5);
    ha = new RedisHa({ dir, serverPorts: [ports[0]!, ports[1]!], sentinelPorts: [ports[2]!, ports[3]!, ports[4]!], name: 'apg-test' });
    await ha.start();
    target = { kind: 'sentinel', sentinels: ha.sentinelList.split(',').map((hp) => ({ host: '127.0.0.1', port: Number(hp.split(':')[1]) })), name: ha.name };
  });

  after(async () => {
    for (const c of clients) c.disconnect();
    await ha?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** Writes `SET k:<i>` in a loop, remembering each acknowledged i, until stopped. */
  function writeLoop(redis: Redis, key: string) {
    const acked: number[] = [];
    let errors = 0;
    let firstErrorAt = 0;
    let lastErrorAt = 0;
    let stopped = false;
    const done = (async () => {
      for (let i = 0; !stopped; i++) {
        try {
          await redis.set(`${key}:${i}`, String(i));
          acked.push(i);
        } catch {
          errors++;
          lastErrorAt = Date.now();
          firstErrorAt ||= lastErrorAt;
          await new Promise((r) => setTimeout(r, 20));
        }
        await new Promise((r) => setTimeout(r, 2));
      }
    })();
    return {
      acked,
      get errors() { return errors; },
      outageMs: () => (firstErrorAt ? lastErrorAt - firstErrorAt : 0),
      async stop() { stopped = true; await done; },
    };
  }

  async function missingOnPrimary(key: string, acked: number[]): Promise<number[]> {
    const port = (await ha.primaryPort())!;
    const direct = createRedis(`redis://127.0.0.1:${port}`);
    clients.push(direct);
    const values = acked.length ? await direct.mget(...acked.map((i) => `${key}:${i}`)) : [];
    return acked.filter((_, n) => values[n] === null);
  }

  it('kill -9 of the primary: the replica is promoted, acknowledged writes are all there, scripts and subscriptions work on the new primary', async () => {
    const writer = client();
    const sub = client();
    const received: string[] = [];
    sub.on('message', (_c: string, m: string) => received.push(m));
    await waitFor('subscriber ready', () => sub.status === 'ready');
    await sub.subscribe('apg-test:chan');
    const script = new LuaScript("return redis.call('INCR', KEYS[1])");
    expect(await script.run(writer, ['apg-test:counter'])).to.equal(1);
    await writer.publish('apg-test:chan', 'before');
    await waitFor('the message before the failover', () => received.includes('before'));

    const loop = writeLoop(writer, 'apg-test:kill');
    await waitFor('some writes', () => loop.acked.length > 50);
    // Acknowledged writes must be replicated before the kill to survive it (replication is asynchronous:
    // WAIT is how a writer that needs it asks); the loop's later ones are checked the same way below.
    expect(await writer.wait(1, 2000)).to.equal(1);
    const t0 = Date.now();
    const old = await ha.killPrimary();
    const promoted = await ha.waitForPromotion(old);
    const promotedAt = Date.now();
    const ackedAtPromotion = loop.acked.length;
    await waitFor('writes acknowledged by the new primary', () => loop.acked.length > ackedAtPromotion, { timeoutMs: 30_000 });
    const healedAt = Date.now();
    await new Promise((r) => setTimeout(r, 300));
    await loop.stop();
    console.log(`      primary ${old} killed: ${promoted} promoted after ${promotedAt - t0} ms, writes again after ${healedAt - t0} ms; ${loop.acked.length} writes acknowledged, ${loop.errors} refused meanwhile (surfaced to the caller) over ${loop.outageMs()} ms`);

    const missing = await missingOnPrimary('apg-test:kill', loop.acked);
    expect(missing, 'acknowledged writes missing on the new primary').to.deep.equal([]);
    // The new primary never ran the script: EVALSHA answers NOSCRIPT and LuaScript falls back to EVAL.
    expect(await script.run(writer, ['apg-test:counter'])).to.equal(2);
    await waitFor('the subscription back on the new primary', async () => {
      await writer.publish('apg-test:chan', 'after');
      return received.includes('after');
    }, { timeoutMs: 15_000, intervalMs: 200 });

    await ha.restartServer(old);
    await waitFor('the old primary back as a replica', async () => (await writer.info('replication')).includes('connected_slaves:1'), { timeoutMs: 30_000, intervalMs: 200 });
    await ha.waitForHealthyReplica();
  });

  it('a graceful failover (old primary alive): the client follows +switch-master; only writes the old primary took before the switch are lost, none after', async () => {
    const writer = client();
    let switchedAt = 0;
    const acks = new Map<number, number>();
    writer.on('ready', () => (switchedAt ||= Date.now()));
    await writer.set('apg-test:warm', '1');
    switchedAt = 0;
    const loop = writeLoop(writer, 'apg-test:graceful');
    await waitFor('some writes', () => loop.acked.length > 50);
    expect(await writer.wait(1, 2000)).to.equal(1);
    const old = (await ha.primaryPort())!;
    const sentinel = createRedis(`redis://127.0.0.1:${ha.sentinelList.split(',')[0]!.split(':')[1]}`);
    clients.push(sentinel);
    const t0 = Date.now();
    await sentinel.call('SENTINEL', 'failover', ha.name);
    const promoted = await ha.waitForPromotion(old);
    await waitFor('the client reconnected to the new primary', () => switchedAt > 0, { timeoutMs: 30_000 });
    const ackedAtSwitch = loop.acked.length;
    await waitFor('writes acknowledged after the switch', () => loop.acked.length > ackedAtSwitch + 50, { timeoutMs: 30_000 });
    await loop.stop();
    for (const i of loop.acked) acks.set(i, i < ackedAtSwitch ? 0 : 1);
    const missing = await missingOnPrimary('apg-test:graceful', loop.acked);
    console.log(`      graceful failover ${old} → ${promoted}: client switched after ${switchedAt - t0} ms; ${loop.acked.length} writes acknowledged, ${loop.errors} refused, ${missing.length} taken by the old primary before the switch and lost with it (asynchronous replication; the aggregator rewrites its records on reconnect)`);
    expect(missing.filter((i) => acks.get(i) === 1), 'acknowledged after the switch and missing').to.deep.equal([]);
    await ha.waitForHealthyReplica();
  });

  describe('api replicas and an aggregator on Sentinels', () => {
    let names: StackNames;
    let probe: Probe;
    let a: ChildService & { http: HttpClient; admin: HttpClient };
    let b: ChildService & { http: HttpClient; admin: HttpClient };
    let aggregator: ChildService;
    let tenant: TestTenant;
    let tenantOnB: HttpClient;

    before(async () => {
      names = stackNames();
      probe = await openProbe(names);
      const sentinelEnv = { REDIS_URL: '', REDIS_SENTINELS: ha.sentinelList, REDIS_SENTINEL_NAME: ha.name };
      a = await spawnApi(names, sentinelEnv);
      // B learns of changes only from announcements (its own refresh and caches are slowed to a crawl), so
      // what it sees after the failover came over the re-established subscription.
      b = await spawnApi(names, { ...sentinelEnv, BREAKER_REFRESH_MS: '600000', REGISTRY_CACHE_TTL_MS: '600000' });
      aggregator = spawnService('aggregator', serviceEnv(names, { ...sentinelEnv, AGGREGATOR_PORT: '0' }));
      tenant = await createTenant(a);
      tenantOnB = b.http.with({ 'api-key': tenant.apiKey });
    });

    after(async () => {
      await Promise.all([a?.kill('SIGKILL'), b?.kill('SIGKILL'), aggregator?.kill('SIGKILL')]);
      await probe?.close();
    });

    type Selected = { id: string; selectionId: string; businessId: string };
    const select = (http: HttpClient, identifier: string, exclude: string[] = []) =>
      http.post<{ data: Selected }>('/api/gateway/select-instance', { apiType: 'MODEL', apiIdentifier: identifier, strategy: 'ROUND_ROBIN', excludeInstanceIds: exclude });

    it('selects keep succeeding through the failover; afterwards breakers and registry changes still reach the other replica', async () => {
      const identifier = 'failover';
      const [dead, live] = await register(tenant, [{ businessId: 'fo-dead', apiIdentifier: identifier }, { businessId: 'fo-live', apiIdentifier: identifier }]);
      for (const http of [tenant.http, tenantOnB]) expect((await select(http, identifier)).status).to.equal(200);

      let stop = false;
      let selects = 0;
      const failures: string[] = [];
      const traffic = (async () => {
        while (!stop) {
          for (const http of [tenant.http, tenantOnB]) {
            const r = await select(http, identifier);
            selects++;
            if (r.status !== 200) failures.push(`${r.status} ${r.text}`);
          }
          await new Promise((r) => setTimeout(r, 10));
        }
      })();
      const t0 = Date.now();
      const old = await ha.killPrimary();
      await ha.waitForPromotion(old);
      const promotedMs = Date.now() - t0;
      await waitFor('api A ready again (Redis reachable)', async () => (await a.http.get('/readyz')).status === 200, { timeoutMs: 30_000, intervalMs: 100 });
      await waitFor('api B ready again', async () => (await b.http.get('/readyz')).status === 200, { timeoutMs: 30_000, intervalMs: 100 });
      const readyMs = Date.now() - t0;
      stop = true;
      await traffic;
      console.log(`      ${selects} selects through the failover, ${failures.length} failed; promoted after ${promotedMs} ms, both apis ready after ${readyMs} ms`);
      expect(failures).to.deep.equal([]);

      // A breaker opened by the aggregator (writing to the new primary) reaches B over pub/sub.
      for (let i = 0; i < 6; i++) {
        const r = await tenant.http.post('/api/gateway/report-result', { instanceId: dead!.id, businessId: dead!.businessId, success: false, latencyMs: 5, statusCode: 503 });
        expect(r.status).to.equal(200);
      }
      await waitFor('B skipping the dead instance (aggregator → new primary → B)', async () => {
        for (let i = 0; i < 4; i++) if ((await select(tenantOnB, identifier)).body.data.id === dead!.id) return false;
        return true;
      }, { timeoutMs: 20_000, intervalMs: 200 });
      expect((await probe.redis.hget(`${names.redisPrefix}breaker-states`, dead!.id)) ?? null, 'the shared Redis is not the one in use').to.equal(null);

      // A registration on A is announced to B (B's registry cache would otherwise hold for ten minutes).
      const [added] = await register(tenant, [{ businessId: 'fo-added', apiIdentifier: identifier }]);
      await waitFor('B serving the instance registered on A', async () => (await select(tenantOnB, identifier, [dead!.id, live!.id])).body.data?.id === added!.id, { timeoutMs: 10_000, intervalMs: 100 });
      await ha.restartServer(old);
      await ha.waitForHealthyReplica();
    });
  });
});

/** `n` distinct free ports (freePort can hand the same one out twice in a row). */
async function distinctFreePorts(n: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < n) ports.add(await freePort());
  return [...ports];
}
