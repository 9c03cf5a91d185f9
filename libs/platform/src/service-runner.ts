import { ConfigError } from './config';

export interface Stoppable {
  stop(): Promise<void>;
}

/** Exit code of a process that stopped on a bug (sysexits EX_SOFTWARE): its supervisor restarts it. */
export const EXIT_ON_BUG = 70;

export interface MainContext {
  /**
   * Ends the process at once with {@link EXIT_ON_BUG}, after one line on stderr. For errors classified as
   * bugs on a consumer path: nothing is committed past the last write, so the restarted process resumes
   * from the committed offsets; draining first would only run more code in a state we do not understand.
   */
  fatal: (err: unknown, where: string) => void;
}

/**
 * Runs a service's composition root: a bad configuration exits 2 naming every bad key; SIGINT and
 * SIGTERM call `stop()` once, with a hard timeout so a stuck dependency cannot keep the process alive;
 * `fatal` exits 70 on a bug.
 */
export function runMain(name: string, start: (ctx: MainContext) => Promise<Stoppable>, opts: { stopTimeoutMs?: number } = {}): void {
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
  const fatal = (err: unknown, where: string) => {
    const detail = err instanceof Error ? (err.stack ?? `${err.name}: ${err.message}`) : String(err);
    console.error(`${name}: bug in ${where}, exiting ${EXIT_ON_BUG} to be restarted: ${detail}`);
    process.exit(EXIT_ON_BUG);
  };
  start({ fatal })
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
