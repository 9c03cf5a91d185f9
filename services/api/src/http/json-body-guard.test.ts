import { expect } from 'chai';
import { jsonBodyProblem } from './json-body-guard';

const nested = (depth: number): unknown => {
  let v: unknown = 1;
  for (let i = 0; i < depth; i++) v = { a: v };
  return v;
};

describe('http: JSON body guard', () => {
  it('accepts ordinary bodies, Chinese text and emoji (valid surrogate pairs)', () => {
    expect(jsonBodyProblem({ name: 'AgentX', description: 'AgentX高可用项目 🚀', instances: [{ metadata: { a: [1, { b: 'x' }] } }] })).to.equal(null);
    expect(jsonBodyProblem(nested(63))).to.equal(null);
  });

  it('names the field holding a lone surrogate, in a value or a key', () => {
    expect(jsonBodyProblem({ instances: [{ businessId: 'b\ud800' }] })).to.deep.include({ field: 'instances.0.businessId' });
    expect(jsonBodyProblem({ metadata: { '\udfffk': 1 } })).to.deep.include({ field: 'metadata.\udfffk' });
    expect(jsonBodyProblem('\ud800')).to.deep.include({ field: '(body)' });
  });

  it('refuses nesting beyond the limit without recursing itself', () => {
    expect(jsonBodyProblem(nested(65))?.message).to.match(/deeper than 64/);
    expect(jsonBodyProblem(nested(200_000))?.field).to.match(/^a(\.a){63}$/);
    expect(jsonBodyProblem({ x: nested(10) }, 5)?.field).to.equal('x.a.a.a.a');
  });
});
