import { readFileSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { parse } from 'yaml';

// No Docker engine runs here, so the compose file's security properties (issue 8, item 5) are checked
// on its text: parsed as YAML (anchors and merge keys resolved, as compose does) and asserted.
const ROOT = path.resolve(__dirname, '../../../..');
const read = (file: string) => readFileSync(path.join(ROOT, file), 'utf8');

interface Service {
  image?: string;
  command?: string[] | string;
  environment?: Record<string, string | number | null>;
  ports?: (string | { published?: string | number; host_ip?: string })[];
}

const composeText = read('docker-compose.yml');
const compose = parse(composeText, { merge: true }) as { services: Record<string, Service> };
const services = compose.services;
const service = (name: string): Service => {
  const s = services[name];
  if (!s) throw new Error(`docker-compose.yml has no service ${name}`);
  return s;
};
const env = (name: string, key: string) => String(service(name).environment?.[key] ?? '');
/** `${VAR:?message}`: compose refuses to start when VAR is unset or empty. */
const required = (value: string, variable: string) => new RegExp(`\\$\\{${variable}:\\?[^}]+\\}`).test(value);

describe('docker-compose.yml (security properties, parsed)', () => {
  it('publishes only the api and Grafana to the host, Grafana on loopback by default', () => {
    const published = Object.entries(services).filter(([, s]) => (s.ports ?? []).length > 0).map(([n]) => n);
    expect(published.sort()).to.deep.equal(['api', 'api-1', 'api-2', 'grafana']);
    expect(service('grafana').ports).to.deep.equal(['${GRAFANA_HOST_BIND:-127.0.0.1}:${GRAFANA_HOST_PORT:-3000}:3000']);
    expect(service('api').ports).to.deep.equal(['${API_HOST_PORT:-8081}:8081']);
  });

  it('does not publish Kafka, and gives it no listener outside the compose network (single node and profile ha)', () => {
    for (const name of ['kafka', 'kafka-1', 'kafka-2', 'kafka-3']) {
      expect(service(name).ports ?? [], name).to.deep.equal([]);
      const advertised = env(name, 'KAFKA_ADVERTISED_LISTENERS').split(',');
      // Anything advertised to the host would need SASL; there is none, so nothing may be advertised but <name>:9092.
      expect(advertised, name).to.deep.equal([`PLAINTEXT://${name}:9092`]);
      expect(env(name, 'KAFKA_LISTENERS'), name).to.not.match(/HOST|29092/);
    }
    for (const name of ['redis-primary', 'redis-replica', 'sentinel-1', 'sentinel-2', 'sentinel-3']) expect(service(name).ports ?? [], name).to.deep.equal([]);
  });

  it('requires the Postgres password from the environment everywhere, with no default', () => {
    expect(required(env('postgres', 'POSTGRES_PASSWORD'), 'POSTGRES_PASSWORD')).to.equal(true);
    const urls = Object.entries(services).filter(([, s]) => s.environment?.['DATABASE_URL'] !== undefined);
    expect(urls.map(([n]) => n).sort()).to.deep.equal(['aggregator', 'aggregator-1', 'aggregator-2', 'api', 'api-1', 'api-2', 'ingestor', 'ingestor-1', 'ingestor-2', 'migrate']);
    for (const [name, s] of urls) expect(required(String(s.environment!['DATABASE_URL']), 'POSTGRES_PASSWORD'), name).to.equal(true);
    expect(composeText).to.not.match(/POSTGRES_PASSWORD:-/);
  });

  it('requires the Grafana admin credentials and the admin token from the environment, with no defaults', () => {
    expect(required(env('grafana', 'GF_SECURITY_ADMIN_USER'), 'GRAFANA_ADMIN_USER')).to.equal(true);
    expect(required(env('grafana', 'GF_SECURITY_ADMIN_PASSWORD'), 'GRAFANA_ADMIN_PASSWORD')).to.equal(true);
    for (const api of ['api', 'api-1', 'api-2']) expect(required(env(api, 'ADMIN_TOKEN'), 'ADMIN_TOKEN'), api).to.equal(true);
    expect(composeText).to.not.match(/:-admin\b/);
  });

  it('requires the event signing secret in every api and consumer, single node and profile ha (it signs and verifies every event), with no default', () => {
    const all = ['api', 'ingestor', 'aggregator', 'api-1', 'api-2', 'ingestor-1', 'ingestor-2', 'aggregator-1', 'aggregator-2'];
    for (const name of all) expect(required(env(name, 'EVENT_SIGNING_SECRET'), 'EVENT_SIGNING_SECRET'), name).to.equal(true);
    expect(composeText).to.not.match(/EVENT_SIGNING_SECRET:-/);
    for (const name of all.filter((n) => !n.startsWith('api'))) expect(env(name, 'REQUIRE_SIGNED_EVENTS'), name).to.equal('${REQUIRE_SIGNED_EVENTS:-}');
  });

  it('keeps the ops ports unpublished and scrapes the api on its separate ops port', () => {
    const publishedSpecs = Object.values(services).flatMap((s) => (s.ports ?? []).map(String));
    for (const port of ['8082', '8083', '9090', '9464', '9092', '5432', '6379']) {
      expect(publishedSpecs.some((p) => p.endsWith(`:${port}`)), `port ${port}`).to.equal(false);
    }
    expect(Number(env('api', 'API_OPS_PORT'))).to.equal(9464);
    const prometheus = parse(read('infra/prometheus/prometheus.yml')) as { scrape_configs: { job_name: string; static_configs: { targets: string[] }[] }[] };
    const api = prometheus.scrape_configs.find((j) => j.job_name === 'apg-api');
    expect(api?.static_configs[0]?.targets).to.deep.equal(['api:9464']);
  });

  it('mounts the alert rules next to the Prometheus config, which loads them', () => {
    const volumes = ((service('prometheus') as { volumes?: unknown[] }).volumes ?? []).map(String);
    expect(volumes).to.include('./infra/prometheus/alerts.yml:/etc/prometheus/alerts.yml:ro');
    expect(volumes).to.include('./infra/prometheus/prometheus.yml:/etc/prometheus/prometheus.yml:ro');
    const prometheus = parse(read('infra/prometheus/prometheus.yml')) as { rule_files?: string[] };
    expect(prometheus.rule_files).to.deep.equal(['alerts.yml']);
  });

  it('caps Redis memory with a policy that can never evict the keys without a TTL (breaker states, leases)', () => {
    const command = service('redis').command;
    expect(command).to.be.an('array');
    const args = command as string[];
    const value = (flag: string) => args[args.indexOf(flag) + 1];
    expect(args).to.include('--maxmemory');
    expect(value('--maxmemory')).to.match(/^\$\{REDIS_MAXMEMORY:-\d+(mb|gb)\}$/);
    // volatile-* only ever evicts keys that have a TTL; allkeys-* could evict the breaker-states hash.
    expect(value('--maxmemory-policy')).to.be.oneOf(['noeviction', 'volatile-ttl', 'volatile-lru', 'volatile-lfu', 'volatile-random']);
  });

  it('documents every variable it interpolates in .env.example, credentials without a value', () => {
    const example = read('.env.example');
    const documented = new Set(example.split('\n').map((line) => /^#? ?([A-Z][A-Z0-9_]*)=/.exec(line)?.[1]).filter(Boolean));
    const code = composeText.split('\n').filter((line) => !/^\s*#/.test(line)).join('\n');
    const used = new Set([...code.matchAll(/\$\{([A-Z][A-Z0-9_]*)/g)].map((m) => m[1]));
    const missing = [...used].filter((v) => !documented.has(v));
    expect(missing, 'interpolated but not in .env.example').to.deep.equal([]);
    for (const secret of ['ADMIN_TOKEN', 'EVENT_SIGNING_SECRET', 'POSTGRES_PASSWORD', 'GRAFANA_ADMIN_USER', 'GRAFANA_ADMIN_PASSWORD']) {
      expect(example, secret).to.match(new RegExp(`^${secret}=$`, 'm'));
    }
  });

  describe('profile ha (the topology of npm run start:ha)', () => {
    const ha = Object.entries(services).filter(([, s]) => ((s as { profiles?: string[] }).profiles ?? []).includes('ha')).map(([n]) => n).sort();
    const dependsOn = (name: string): string[] => {
      const d = (service(name) as { depends_on?: string[] | Record<string, unknown> }).depends_on ?? [];
      return Array.isArray(d) ? d : Object.keys(d);
    };

    it('keeps every HA service out of the default `docker compose up`', () => {
      expect(ha).to.deep.equal(['aggregator-1', 'aggregator-2', 'api-1', 'api-2', 'ha', 'ingestor-1', 'ingestor-2', 'kafka-1', 'kafka-2', 'kafka-3', 'redis-primary', 'redis-replica', 'sentinel-1', 'sentinel-2', 'sentinel-3']);
      for (const name of ['kafka', 'redis', 'api', 'ingestor', 'aggregator', 'postgres', 'migrate']) {
        expect((service(name) as { profiles?: string[] }).profiles, name).to.equal(undefined);
      }
    });

    it('runs three KRaft brokers, all voters, with replication factor 3 and min.insync.replicas 2', () => {
      for (const [i, name] of ['kafka-1', 'kafka-2', 'kafka-3'].entries()) {
        expect(Number(env(name, 'KAFKA_NODE_ID')), name).to.equal(i + 1);
        expect(env(name, 'KAFKA_CONTROLLER_QUORUM_VOTERS')).to.equal('1@kafka-1:9093,2@kafka-2:9093,3@kafka-3:9093');
        expect(Number(env(name, 'KAFKA_DEFAULT_REPLICATION_FACTOR'))).to.equal(3);
        expect(Number(env(name, 'KAFKA_MIN_INSYNC_REPLICAS'))).to.equal(2);
        expect(Number(env(name, 'KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR'))).to.equal(3);
        expect(env(name, 'KAFKA_UNCLEAN_LEADER_ELECTION_ENABLE')).to.equal('false');
      }
    });

    it('wires every service to all brokers, and the Redis users to the three Sentinels (never a fixed REDIS_URL)', () => {
      for (const name of ['api-1', 'api-2', 'ingestor-1', 'ingestor-2', 'aggregator-1', 'aggregator-2']) {
        expect(env(name, 'KAFKA_BROKERS'), name).to.equal('kafka-1:9092,kafka-2:9092,kafka-3:9092');
        expect(Number(env(name, 'KAFKA_TOPIC_REPLICATION_FACTOR')), name).to.equal(3);
        expect(Number(env(name, 'KAFKA_TOPIC_MIN_INSYNC_REPLICAS')), name).to.equal(2);
        expect(env(name, 'REDIS_URL'), name).to.equal('');
        expect(required(env(name, 'EVENT_SIGNING_SECRET'), 'EVENT_SIGNING_SECRET'), name).to.equal(true);
        for (const dep of ['migrate', 'kafka-1', 'kafka-2', 'kafka-3']) expect(dependsOn(name), name).to.include(dep);
      }
      for (const name of ['api-1', 'api-2', 'aggregator-1', 'aggregator-2']) {
        expect(env(name, 'REDIS_SENTINELS'), name).to.equal('sentinel-1:26379,sentinel-2:26380,sentinel-3:26381');
        expect(env(name, 'REDIS_SENTINEL_NAME'), name).to.equal('apg');
      }
      expect(service('api-2').ports).to.deep.equal(['${API2_HOST_PORT:-8091}:8081']);
    });

    it('runs a Redis primary, its replica and three Sentinels (quorum 2) on the ports of start:ha', () => {
      expect(service('redis-replica').command).to.include.members(['--replicaof', 'redis-primary', '6380']);
      expect(service('redis-primary').command).to.include.members(['--port', '6380']);
      for (const [i, name] of ['sentinel-1', 'sentinel-2', 'sentinel-3'].entries()) {
        expect(Number(env(name, 'SENTINEL_PORT'))).to.equal(26379 + i);
        expect(String((service(name).command as string[]).join(' '))).to.match(/sentinel monitor apg redis-primary 6380 2/);
      }
      expect(dependsOn('ha')).to.include.members(['api-1', 'api-2', 'ingestor-1', 'ingestor-2', 'aggregator-1', 'aggregator-2', 'sentinel-1', 'sentinel-2', 'sentinel-3', 'redis-replica']);
    });
  });
});
