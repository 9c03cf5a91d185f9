'use strict';
// Plain JavaScript, no TypeScript, no build step: what a JS service does with the SDK.
// Run by src/plain-js.test.ts (`node libs/sdk/examples/plain-require.js`); prints one JSON line.
const { GatewayClient, KafkaReporter, GatewayError, signEvent, SIGNATURE_HEADER } = require('@apg/sdk');

async function main() {
  const client = new GatewayClient({ baseUrl: 'http://127.0.0.1:1', apiKey: 'k', timeoutMs: 2000 });
  let selectError = null;
  try {
    await client.select({ apiIdentifier: 'gpt4o', apiType: 'MODEL' });
  } catch (err) {
    selectError = { isGatewayError: err instanceof GatewayError, errorCode: err.errorCode };
  }
  const reporter = new KafkaReporter({ brokers: ['127.0.0.1:1'], apiKey: 'k' });
  reporter.report({ instanceId: 'not an id', success: true, latencyMs: 1 });
  const stats = await reporter.close(2000);
  const headers = signEvent('{"eventId":"x"}', 'k');
  console.log(JSON.stringify({ selectError, droppedInvalid: stats.dropped.invalid, signed: headers[SIGNATURE_HEADER].startsWith('v1=') }));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
