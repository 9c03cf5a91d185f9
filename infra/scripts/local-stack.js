#!/usr/bin/env node
'use strict';
// `npm start`: the whole stack on this machine without Docker. Starts the local Kafka broker unless
// KAFKA_BROKERS already answers, migrates, then runs api, ingestor and aggregator with their logs on
// stdout, and logs `ready: ...` once all three answer 200 on /readyz (not before). SIGINT/SIGTERM stop
// everything it started, the broker included.
const { spawn, spawnSync } = require('node:child_process');
const http = require('node:http');
const { randomBytes } = require('node:crypto');
const net = require('node:net');
const path = require('node:path');

const root = path.resolve(__dirname, '../..');
const kafkaSh = path.join(root, 'infra/kafka/kafka.sh');
const env = { ...process.env };

function say(msg) {
  console.log(JSON.stringify({ level: 30, time: Date.now(), name: 'local-stack', msg }));
}

function answers(hostPort, timeoutMs = 1500) {
  const [host, port] = hostPort.split(':');
  return new Promise((resolve) => {
    const s = net.connect({ host, port: Number(port) });
    const done = (ok) => { s.destroy(); resolve(ok); };
    s.setTimeout(timeoutMs, () => done(false));
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  });
}

function run(cmd, args) {
  const r = spawnSync(cmd, args, { cwd: root, env, stdio: 'inherit' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited with ${r.status}`);
}

async function main() {
  if (!env.ADMIN_TOKEN) {
    env.ADMIN_TOKEN = randomBytes(24).toString('hex');
    say(`ADMIN_TOKEN was not set; generated one for this run: ${env.ADMIN_TOKEN}`);
  }
  if (!env.EVENT_SIGNING_SECRET) {
    // The api signs its events with it and the consumers verify them: one value for all three, per run.
    // Not printed: only the services need it (tenants sign with their own API keys).
    env.EVENT_SIGNING_SECRET = randomBytes(32).toString('hex');
    say('EVENT_SIGNING_SECRET was not set; generated one for this run (api, ingestor and aggregator share it)');
  }
  run('bash', [path.join(root, 'infra/scripts/ensure-services.sh')]);
  let startedBroker = false;
  const firstBroker = (env.KAFKA_BROKERS || '127.0.0.1:9092').split(',')[0].trim();
  if (env.KAFKA_BROKERS && (await answers(firstBroker))) {
    say(`using the Kafka broker at ${env.KAFKA_BROKERS}`);
  } else {
    const status = spawnSync('bash', [kafkaSh, 'status'], { cwd: root, env });
    if (status.status !== 0) {
      run('bash', [kafkaSh, 'start']);
      startedBroker = true;
    }
  }
  run(process.execPath, [path.join(root, 'infra/scripts/migrate.js')]);

  const children = ['api', 'ingestor', 'aggregator'].map((name) => {
    // The api's old generation is capped (API_MAX_HEAP_MB, default 160) so burst garbage is collected
    // before RSS grows; its live heap is ~50 MB with 10,000 instances.
    const nodeArgs = name === 'api' ? [`--max-old-space-size=${env.API_MAX_HEAP_MB || 160}`] : [];
    const child = spawn(process.execPath, [...nodeArgs, path.join(root, `services/${name}/dist/main.js`)], { cwd: root, env, stdio: 'inherit' });
    child.name = name;
    return child;
  });

  let stopping = false;
  const stopAll = (code) => {
    if (stopping) return;
    stopping = true;
    say('stopping');
    let left = children.filter((c) => c.exitCode === null).length;
    const finish = () => {
      if (startedBroker) spawnSync('bash', [kafkaSh, 'stop'], { cwd: root, env, stdio: 'inherit' });
      process.exit(code);
    };
    if (left === 0) return finish();
    for (const c of children) {
      if (c.exitCode !== null) continue;
      c.once('exit', () => { if (--left === 0) finish(); });
      c.kill('SIGTERM');
    }
    setTimeout(() => { for (const c of children) c.kill('SIGKILL'); finish(); }, 20_000).unref();
  };
  for (const c of children) {
    c.on('exit', (code, signal) => {
      if (stopping) return;
      say(`${c.name} exited unexpectedly (code ${code}, signal ${signal}); stopping the stack`);
      stopAll(1);
    });
  }
  process.on('SIGINT', () => stopAll(0));
  process.on('SIGTERM', () => stopAll(0));
  await untilReady(() => stopping);
}

/** GET `url`, resolving with the status code (0 when nothing answers) within `timeoutMs`. */
function statusOf(url, timeoutMs = 1000) {
  return new Promise((resolve) => {
    const req = http.get(url, { timeout: timeoutMs }, (res) => {
      res.resume();
      resolve(res.statusCode || 0);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(0));
  });
}

/**
 * Says `ready` only once every service's /readyz answers 200 (the api: Postgres and Redis reachable;
 * the consumers: connected and, for the aggregator, holding partitions), naming what it still waits for
 * every 5 s meanwhile. A service that is ready once and later is not does not make it say so again:
 * /readyz and /api/health are there for that.
 */
async function untilReady(stopped) {
  const checks = [
    ['api', `http://127.0.0.1:${env.PORT || 8081}/readyz`],
    ['ingestor', `http://127.0.0.1:${env.INGESTOR_PORT || 8082}/readyz`],
    ['aggregator', `http://127.0.0.1:${env.AGGREGATOR_PORT || 8083}/readyz`],
  ];
  let lastSaid = 0;
  while (!stopped()) {
    const statuses = await Promise.all(checks.map(([, url]) => statusOf(url)));
    const waiting = checks.flatMap(([name], i) => (statuses[i] === 200 ? [] : [`${name} (${statuses[i] || 'no answer'})`]));
    if (waiting.length === 0) {
      say(`ready: api on http://127.0.0.1:${env.PORT || 8081}/api, ingestor ops :${env.INGESTOR_PORT || 8082}, aggregator ops :${env.AGGREGATOR_PORT || 8083} (every /readyz answers 200)`);
      return;
    }
    if (Date.now() - lastSaid >= 5000) {
      say(`not ready yet, waiting for /readyz of: ${waiting.join(', ')}`);
      lastSaid = Date.now();
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

main().catch((err) => {
  console.error(`local-stack: ${err.message}`);
  process.exit(1);
});
