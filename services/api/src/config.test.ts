import { expect } from 'chai';
import { ConfigError } from '@apg/platform';
import { defaultSpoolDir, parseApiEnv } from './config';

const base = { ADMIN_TOKEN: 'a'.repeat(16), EVENT_SIGNING_SECRET: 's'.repeat(32) };

describe('api config: report spool', () => {
  it('defaults: 1 GiB, 1 day, fsync always, no directory (main derives one)', () => {
    const env = parseApiEnv(base);
    expect(env).to.include({ REPORT_SPOOL_MAX_BYTES: 1024 ** 3, REPORT_SPOOL_MAX_AGE_MS: 86_400_000, REPORT_SPOOL_FSYNC: 'always' });
    expect(env.REPORT_SPOOL_DIR).to.equal(undefined);
  });

  it('refuses an age limit past the raw retention, a tiny size and an unknown fsync policy, naming each key', () => {
    let err: unknown = null;
    try {
      parseApiEnv({ ...base, RETENTION_DAYS: '1', REPORT_SPOOL_MAX_AGE_MS: String(2 * 86_400_000) });
    } catch (e) {
      err = e;
    }
    expect(err).to.be.instanceOf(ConfigError);
    expect(String((err as Error).message)).to.contain('REPORT_SPOOL_MAX_AGE_MS');
    expect(() => parseApiEnv({ ...base, REPORT_SPOOL_MAX_BYTES: '100' })).to.throw(/REPORT_SPOOL_MAX_BYTES/);
    expect(() => parseApiEnv({ ...base, REPORT_SPOOL_FSYNC: 'sometimes' })).to.throw(/REPORT_SPOOL_FSYNC/);
    expect(parseApiEnv({ ...base, RETENTION_DAYS: '1', REPORT_SPOOL_MAX_AGE_MS: '86400000' }).REPORT_SPOOL_MAX_AGE_MS).to.equal(86_400_000);
  });

  it('derives one default directory per port (per process when the port is ephemeral)', () => {
    expect(defaultSpoolDir(8081, '/srv/apg', 42)).to.equal('/srv/apg/.run/report-spool/api-8081');
    expect(defaultSpoolDir(8082, '/srv/apg', 42)).to.not.equal(defaultSpoolDir(8081, '/srv/apg', 42));
    expect(defaultSpoolDir(0, '/srv/apg', 42)).to.equal('/srv/apg/.run/report-spool/api-pid-42');
  });
});
