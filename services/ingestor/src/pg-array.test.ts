import { expect } from 'chai';
import { boolArray, numberArray, safeTokenArray, textArray } from './pg-array';

describe('postgres array literals', () => {
  it('writes ids bare, text quoted and escaped, numbers and booleans plainly, nulls as NULL', () => {
    expect(safeTokenArray(['00000000-0000-4000-8000-000000000001', 'abc'])).to.equal('{00000000-0000-4000-8000-000000000001,abc}');
    expect(textArray(['a', null, 'say "hi"', 'back\\slash', 'NULL', '', 'comma, {brace}'])).to.equal(
      '{"a",NULL,"say \\"hi\\"","back\\\\slash","NULL","","comma, {brace}"}');
    expect(numberArray([1, null, 0.00012345, 1e-7, 1_800_000_000_000])).to.equal('{1,NULL,0.00012345,1e-7,1800000000000}');
    expect(boolArray([true, false])).to.equal('{t,f}');
    expect(textArray([])).to.equal('{}');
  });
});
