import { expect } from 'chai';
import { z } from 'zod';
import { ConfigError, envFragments, parseEnv, redisTargetFromEnv } from './config';

describe('parseEnv', () => {
  const schema = z.object({ ...envFragments.kafka, ...envFragments.breaker, PORT: z.coerce.number().int().max(65535).default(8081) });

  it('applies defaults and treats empty strings as unset', () => {
    const env = parseEnv(schema, { PORT: '', KAFKA_BROKERS: 'a:1, b:2' });
    expect(env.PORT).to.equal(8081);
    expect(env.KAFKA_BROKERS).to.deep.equal(['a:1', 'b:2']);
    expect(env.BREAKER_MIN_CALLS).to.equal(10);
  });

  it('names every bad key at once', () => {
    let error: unknown;
    try {
      parseEnv(schema, { PORT: 'eighty', BREAKER_FAILURE_RATE: '1.5', KAFKA_TOPIC_PARTITIONS: '0' });
    } catch (err) {
      error = err;
    }
    expect(error).to.be.instanceOf(ConfigError);
    const keys = (error as ConfigError).problems.map((p) => p.split(':')[0]).sort();
    expect(keys).to.deep.equal(['BREAKER_FAILURE_RATE', 'KAFKA_TOPIC_PARTITIONS', 'PORT']);
  });
});

describe('Redis target (REDIS_URL or REDIS_SENTINELS + REDIS_SENTINEL_NAME)', () => {
  const schema = z.object({ ...envFragments.redis, PORT: z.coerce.number().int().max(65535).default(8081) });
  const problemsOf = (env: Record<string, string>): string[] => {
    try {
      parseEnv(schema, env);
      return [];
    } catch (err) {
      return (err as ConfigError).problems;
    }
  };

  it('defaults to the local server when neither is set', () => {
    expect(redisTargetFromEnv(parseEnv(schema, {}))).to.deep.equal({ kind: 'url', url: 'redis://127.0.0.1:6379' });
    expect(redisTargetFromEnv(parseEnv(schema, { REDIS_URL: 'redis://r:6390' }))).to.deep.equal({ kind: 'url', url: 'redis://r:6390' });
  });

  it('parses the Sentinel list (hosts, IPv6, spaces) with the monitored name', () => {
    const env = parseEnv(schema, { REDIS_SENTINELS: '127.0.0.1:26379, s2:26380,[::1]:26381', REDIS_SENTINEL_NAME: 'apg', REDIS_URL: '' });
    expect(redisTargetFromEnv(env)).to.deep.equal({
      kind: 'sentinel',
      name: 'apg',
      sentinels: [{ host: '127.0.0.1', port: 26379 }, { host: 's2', port: 26380 }, { host: '::1', port: 26381 }],
    });
  });

  it('refuses both at once, a name without Sentinels and Sentinels without a name, with every other bad key', () => {
    const both = problemsOf({ REDIS_URL: 'redis://r:1', REDIS_SENTINELS: 'a:1', REDIS_SENTINEL_NAME: 'apg', PORT: 'x' });
    expect(both.map((p) => p.split(':')[0]).sort()).to.deep.equal(['PORT', 'REDIS_URL']);
    expect(problemsOf({ REDIS_SENTINELS: 'a:1' }).join()).to.match(/^REDIS_SENTINEL_NAME: required/);
    expect(problemsOf({ REDIS_SENTINEL_NAME: 'apg' }).join()).to.match(/^REDIS_SENTINELS: required/);
  });

  it('names a malformed Sentinel entry', () => {
    for (const bad of ['a', 'a:0', 'a:70000', 'a:1,,b', ':1', 'a:1;b:2', ',']) {
      const problems = problemsOf({ REDIS_SENTINELS: bad, REDIS_SENTINEL_NAME: 'apg' });
      if (bad === 'a:1,,b') expect(problems.join(), bad).to.include("'b' is not host:port");
      else expect(problems.some((p) => p.startsWith('REDIS_SENTINELS:')), `${bad}: ${problems.join()}`).to.equal(true);
    }
  });
});

describe('signed events configuration (EVENT_SIGNING_SECRET, REQUIRE_SIGNED_EVENTS, SIGNING_KEY_CACHE_TTL_MS)', () => {
  const consumer = z.object({ ...envFragments.eventSigning });
  const api = z.object({ ...envFragments.eventSigningSecret });
  const secret = 's'.repeat(32);
  const problemsOf = (schema: z.ZodObject, env: Record<string, string>): string[] => {
    try {
      parseEnv(schema, env);
      return [];
    } catch (err) {
      return (err as ConfigError).problems;
    }
  };

  it('requires the secret (no default) in the api and the consumers, at least 32 characters', () => {
    for (const schema of [consumer, api]) {
      expect(problemsOf(schema, {})).to.have.length(1);
      expect(problemsOf(schema, {})[0]).to.match(/^EVENT_SIGNING_SECRET: EVENT_SIGNING_SECRET is required/);
      expect(problemsOf(schema, { EVENT_SIGNING_SECRET: '' })[0], 'empty counts as unset').to.match(/is required/);
      expect(problemsOf(schema, { EVENT_SIGNING_SECRET: 's'.repeat(31) })[0]).to.match(/at least 32 characters/);
      expect(problemsOf(schema, { EVENT_SIGNING_SECRET: secret })).to.deep.equal([]);
    }
  });

  it('requires signed events unless told otherwise; the key cache TTL is bounded', () => {
    expect(parseEnv(consumer, { EVENT_SIGNING_SECRET: secret })).to.deep.include({ REQUIRE_SIGNED_EVENTS: true, SIGNING_KEY_CACHE_TTL_MS: 10_000 });
    expect(parseEnv(consumer, { EVENT_SIGNING_SECRET: secret, REQUIRE_SIGNED_EVENTS: 'false' }).REQUIRE_SIGNED_EVENTS).to.equal(false);
    expect(problemsOf(consumer, { EVENT_SIGNING_SECRET: secret, REQUIRE_SIGNED_EVENTS: 'maybe' })[0]).to.match(/^REQUIRE_SIGNED_EVENTS/);
    expect(problemsOf(consumer, { EVENT_SIGNING_SECRET: secret, SIGNING_KEY_CACHE_TTL_MS: '50' })[0]).to.match(/^SIGNING_KEY_CACHE_TTL_MS/);
  });
});
