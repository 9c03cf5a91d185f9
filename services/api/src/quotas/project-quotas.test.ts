import { expect } from 'chai';
import { HttpError } from '../http/http-error';
import { checkBatchItems, checkJsonSize, decodeQuotaOverrides, DEFAULT_QUOTAS, jsonBytes, resolveQuotas, type QuotaPolicy } from './project-quotas';

const policy = (perKeySelectCap = 0): QuotaPolicy => ({ defaults: { ...DEFAULT_QUOTAS }, perKeySelectCap });

const thrown = (f: () => void): HttpError | null => {
  try {
    f();
    return null;
  } catch (err) {
    return err as HttpError;
  }
};

describe('project quotas: resolution', () => {
  const cases: { name: string; policy: QuotaPolicy; overrides: unknown; want: Partial<typeof DEFAULT_QUOTAS> }[] = [
    { name: 'no overrides → defaults', policy: policy(), overrides: {}, want: { ...DEFAULT_QUOTAS } },
    { name: 'an override wins over the default', policy: policy(), overrides: { maxInstances: 7, maxJsonBytes: 300 }, want: { maxInstances: 7, maxJsonBytes: 300, maxBatchItems: DEFAULT_QUOTAS.maxBatchItems } },
    { name: 'null override = default', policy: policy(), overrides: { maxInstances: null }, want: { maxInstances: DEFAULT_QUOTAS.maxInstances } },
    { name: 'per-key cap lower than the project rate applies', policy: policy(50), overrides: {}, want: { selectsPerSecond: 50 } },
    { name: 'project rate lower than the per-key cap applies', policy: policy(5000), overrides: { selectsPerSecond: 20 }, want: { selectsPerSecond: 20 } },
    { name: 'project rate 0 (unlimited) leaves the per-key cap', policy: policy(30), overrides: { selectsPerSecond: 0 }, want: { selectsPerSecond: 30 } },
    { name: 'both unlimited stays unlimited', policy: policy(0), overrides: { selectsPerSecond: 0 }, want: { selectsPerSecond: 0 } },
    { name: 'a stored value that does not decode counts as no overrides', policy: policy(), overrides: { maxInstances: -3 }, want: { maxInstances: DEFAULT_QUOTAS.maxInstances } },
    { name: 'unknown stored keys make the row read as defaults', policy: policy(), overrides: { maxInstances: 9, surprise: 1 }, want: { maxInstances: DEFAULT_QUOTAS.maxInstances } },
    { name: 'a non-object stored value reads as defaults', policy: policy(), overrides: 'garbage', want: { ...DEFAULT_QUOTAS } },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const got = resolveQuotas(c.policy, decodeQuotaOverrides(c.overrides));
      expect(got).to.include(c.want);
    });
  }
});

describe('project quotas: JSON size', () => {
  const cases: { name: string; value: unknown; max: number; refused: boolean }[] = [
    { name: 'absent is 0 bytes', value: undefined, max: 0, refused: false },
    { name: 'exactly at the limit passes', value: { a: 'x'.repeat(8) }, max: jsonBytes({ a: 'x'.repeat(8) }), refused: false },
    { name: 'one byte over is refused', value: { a: 'x'.repeat(9) }, max: jsonBytes({ a: 'x'.repeat(8) }), refused: true },
    // Counted in UTF-8 bytes, not characters: 100 CJK characters are 300 bytes.
    { name: 'multi-byte characters count as bytes', value: { s: '汉'.repeat(100) }, max: 250, refused: true },
    { name: 'a huge flat object is refused', value: Object.fromEntries(Array.from({ length: 5000 }, (_, i) => [`k${i}`, i])), max: 16_384, refused: true },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const err = thrown(() => checkJsonSize('metadata', c.value, c.max));
      if (!c.refused) return expect(err).to.equal(null);
      expect(err).to.be.instanceOf(HttpError);
      expect(err!.status).to.equal(422);
      expect(err!.errorCode).to.equal('QUOTA_EXCEEDED');
      expect(err!.fields).to.deep.equal([{ field: 'metadata', message: err!.message }]);
    });
  }

  it('whitespace of the request does not count (the parsed value is measured)', () => {
    expect(jsonBytes(JSON.parse('{ "a" :   1 }'))).to.equal(7);
  });
});

describe('project quotas: batch items', () => {
  const cases: { name: string; items: unknown; max: number; refused: boolean }[] = [
    { name: 'within the limit', items: [1, 2, 3], max: 3, refused: false },
    { name: 'over the limit', items: [1, 2, 3, 4], max: 3, refused: true },
    { name: 'not an array: left to the schema', items: 'nope', max: 0, refused: false },
    { name: 'absent: left to the schema', items: undefined, max: 0, refused: false },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const err = thrown(() => checkBatchItems(c.items, c.max));
      if (c.refused) expect(err?.errorCode).to.equal('QUOTA_EXCEEDED');
      else expect(err).to.equal(null);
    });
  }
});
