import { ConfigError } from './config';

export interface Stoppable {
  stop(): Promise<void>;
}

/**
 * Runs a service's composition root: a bad configuration exits 2 naming every bad key; SIGINT and
 * SIGTERM call `stop()` once, with a hard timeout so a stuck dependency cannot keep the process alive.
 */
export function runMain(name: string, start: () => Promise<Stoppable>, opts: { stopTimeoutMs?: number } = {}): void {
  let running: Stoppable | null = null;
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.error(`${name}: ${signal} received, stopping`);
    setTimeout(() => {
      console.error(`${name}: stop timed out, exiting`);
      process.exit(1);
    }, opts.stopTimeoutMs ?? 15_000).unref();
    (running ? running.stop() : Promise.resolve())
      .then(() => process.exit(0))
      .catch((err: unknown) => {
        console.error(`${name}: error while stopping:`, err);
        process.exit(1);
      });
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  start()
    .then((s) => {
      running = s;
    })
    .catch((err: unknown) => {
      if (err instanceof ConfigError) {
        console.error(`${name}: ${err.message}`);
        process.exit(2);
      }
      console.error(`${name}: failed to start:`, err);
      process.exit(1);
    });
}
