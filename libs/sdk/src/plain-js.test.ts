import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import path from 'node:path';

describe('@apg/sdk from plain JavaScript', () => {
  it('require(\'@apg/sdk\') in a .js file works: clients, typed errors, the reporter and signEvent', () => {
    const script = path.resolve(__dirname, '../examples/plain-require.js');
    const out = execFileSync(process.execPath, [script], { encoding: 'utf8', timeout: 20_000 });
    expect(JSON.parse(out.trim())).to.deep.equal({
      selectError: { isGatewayError: true, errorCode: 'GATEWAY_UNREACHABLE' },
      droppedInvalid: 1,
      signed: true,
    });
  });
});
