import { expect } from 'chai';
import { ReportResultRequestSchema, truncateUtf16 } from './http';

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
