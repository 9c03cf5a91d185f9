import { expect } from 'chai';
import { z } from 'zod';
import { ConfigError, envFragments, parseEnv } from './config';

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
