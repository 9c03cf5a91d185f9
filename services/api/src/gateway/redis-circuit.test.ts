import { expect } from 'chai';
import { Registry } from 'prom-client';
import { createLogger } from '@apg/platform';
import { nextCircuit, RedisCircuit, RedisUnavailableError, type CircuitEvent, type CircuitMemory } from './redis-circuit';

describe('redis circuit', () => {
  const cases: { name: string; from: CircuitMemory; events: CircuitEvent[]; to: CircuitMemory }[] = [
    { name: 'failures below the threshold keep it closed', from: { state: 'CLOSED', failures: 0 }, events: ['failure', 'failure'], to: { state: 'CLOSED', failures: 2 } },
    { name: 'the threshold opens it', from: { state: 'CLOSED', failures: 0 }, events: ['failure', 'failure', 'failure'], to: { state: 'OPEN', failures: 3 } },
    { name: 'a success resets the count', from: { state: 'CLOSED', failures: 2 }, events: ['success', 'failure', 'failure'], to: { state: 'CLOSED', failures: 2 } },
    { name: 'open: late call results change nothing', from: { state: 'OPEN', failures: 3 }, events: ['success', 'failure'], to: { state: 'OPEN', failures: 3 } },
    { name: 'open: a failed probe keeps it open', from: { state: 'OPEN', failures: 3 }, events: ['probe_failed'], to: { state: 'OPEN', failures: 3 } },
    { name: 'open: a good probe closes it', from: { state: 'OPEN', failures: 3 }, events: ['probe_failed', 'probe_ok'], to: { state: 'CLOSED', failures: 0 } },
  ];
  for (const c of cases) {
    it(c.name, () => {
      expect(c.events.reduce((m, e) => nextCircuit(m, e, 3), c.from)).to.deep.equal(c.to);
    });
  }

  it('times calls out, then refuses them at once, and closes when the background ping answers', async () => {
    let redisUp = false;
    const hang = () => new Promise<never>(() => undefined);
    const circuit = new RedisCircuit(() => (redisUp ? Promise.resolve('PONG') : hang()), createLogger('test', 'silent'), { timeoutMs: 20, failureThreshold: 2, probeIntervalMs: 10 }, new Registry());
    try {
      for (let i = 0; i < 2; i++) {
        const err = await circuit.run('test.call', hang).catch((e: Error) => e);
        expect((err).message).to.match(/timed out after 20 ms/);
      }
      expect(circuit.isOpen()).to.equal(true);
      const started = process.hrtime.bigint();
      const refused = await circuit.run('test.call', hang).catch((e: Error) => e);
      expect(refused).to.be.instanceOf(RedisUnavailableError);
      expect(Number(process.hrtime.bigint() - started) / 1e6).to.be.lessThan(20);
      redisUp = true;
      for (let i = 0; i < 200 && circuit.isOpen(); i++) await new Promise((r) => setTimeout(r, 5));
      expect(circuit.state).to.equal('CLOSED');
      expect(await circuit.run('test.call', () => Promise.resolve(42))).to.equal(42);
    } finally {
      circuit.stop();
    }
  });
});
