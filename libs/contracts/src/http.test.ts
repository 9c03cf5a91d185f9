import { expect } from 'chai';
import { ReportResultRequestSchema, readUsageMetrics, truncateUtf16 } from './http';
import { UsageSchema } from './call-result-event';

describe('report errorMessage truncation', () => {
  it('never splits a surrogate pair', () => {
    const s = `${'a'.repeat(1023)}😀tail`;
    const cut = truncateUtf16(s, 1024);
    expect(cut).to.equal('a'.repeat(1023));
    expect(truncateUtf16('abc', 2)).to.equal('ab');
  });

  it('keeps AgentX error messages with quotes, newlines and Chinese, cut at 1024', () => {
    const parsed = ReportResultRequestSchema.parse({ instanceId: 'i', businessId: 'b', success: false, latencyMs: 1, errorMessage: `429 "rate" limited\n限流${'x'.repeat(2000)}` });
    expect(parsed.errorMessage).to.have.length(1024);
    expect(parsed.errorMessage!.startsWith('429 "rate" limited\n限流')).to.equal(true);
  });
});

describe('readUsageMetrics', () => {
  const cases: { name: string; m: Record<string, unknown>; usage?: Record<string, number>; bad?: string[] }[] = [
    { name: 'the understood keys; total defaults to prompt + completion', m: { promptTokens: 10, completionTokens: 5, cost: 0.01 }, usage: { promptTokens: 10, completionTokens: 5, totalTokens: 15, cost: 0.01 } },
    { name: 'totalCost when cost is absent or null', m: { cost: null, totalCost: 2 }, usage: { cost: 2 } },
    { name: 'strings, negatives and fractions are ignored, as the seed ignored them', m: { promptTokens: '10', completionTokens: -1, totalTokens: 1.5, cost: 'x' } },
    { name: 'the bounds are inclusive', m: { promptTokens: 1e9, completionTokens: 0, totalTokens: 1e9, cost: 1e9 }, usage: { promptTokens: 1e9, completionTokens: 0, totalTokens: 1e9, cost: 1e9 } },
    { name: 'above a bound: a problem naming the key', m: { promptTokens: 1e9 + 1, completionTokens: 1e12, cost: 1e10 }, bad: ['promptTokens', 'completionTokens', 'cost'] },
    { name: 'a derived total above the bound', m: { promptTokens: 6e8, completionTokens: 6e8 }, usage: { promptTokens: 6e8, completionTokens: 6e8 }, bad: ['totalTokens'] },
    { name: 'a sent total wins over the derived one', m: { promptTokens: 6e8, completionTokens: 6e8, totalTokens: 1e9 }, usage: { promptTokens: 6e8, completionTokens: 6e8, totalTokens: 1e9 } },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const r = readUsageMetrics(c.m);
      expect(r.usage).to.deep.equal(c.usage);
      expect(r.problems.map((p) => p.path.join('.'))).to.deep.equal(c.bad ?? []);
    });
  }

  it('the report schema refuses what the event schema would dead-letter', () => {
    const base = { instanceId: 'i', businessId: 'b', success: true, latencyMs: 1 };
    const r = ReportResultRequestSchema.safeParse({ ...base, usageMetrics: { totalTokens: 2e9 } });
    expect(r.error?.issues.map((i) => i.path.join('.'))).to.deep.equal(['usageMetrics.totalTokens']);
    expect(UsageSchema.safeParse({ totalTokens: 2e9 }).success).to.equal(false);
    expect(UsageSchema.safeParse({ cost: 1e9 + 1 }).success).to.equal(false);
  });
});
