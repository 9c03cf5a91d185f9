import { promises as fs } from 'node:fs';
import path from 'node:path';

/** The spool directory is in use by another live process: two writers would interleave their frames. */
export class SpoolLockedError extends Error {
  constructor(readonly dir: string, readonly pid: number) {
    super(`report spool ${dir} is locked by the live process ${pid}; give each api replica its own REPORT_SPOOL_DIR`);
  }
}

/** Is `pid` a live process (EPERM: alive, owned by someone else)? */
export function pidAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * `spool.lock` in the spool directory, holding the owner's pid. Created exclusively (`wx`), so two replicas
 * started at once cannot both take it; a lock left by a dead process (kill -9, a crash) is taken over, since
 * that is exactly the spool a restarted api must drain. Our own pid in the file is a lock from a previous
 * process that had the same pid (pid reuse after a restart): nothing in this process holds it twice, as
 * each ReportSpool opens its directory once.
 */
export class SpoolLock {
  private held = false;
  private readonly file: string;

  constructor(dir: string, private readonly pid = process.pid) {
    this.file = path.join(dir, 'spool.lock');
  }

  async acquire(): Promise<void> {
    for (let attempt = 0; attempt < 5; attempt++) {
      try {
        const fh = await fs.open(this.file, 'wx');
        try {
          await fh.writeFile(`${this.pid}\n`);
        } finally {
          await fh.close();
        }
        this.held = true;
        return;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      const owner = Number.parseInt((await fs.readFile(this.file, 'utf8').catch(() => '')).trim(), 10);
      if (owner !== this.pid && pidAlive(owner)) throw new SpoolLockedError(path.dirname(this.file), owner);
      // Stale (or unreadable: a crash between create and write): remove and try again. Two contenders may both
      // get here; `wx` lets only one of them create the new file.
      await fs.unlink(this.file).catch(() => undefined);
    }
    throw new Error(`could not take the report spool lock ${this.file}`);
  }

  /** Removes the lock file if it is still ours. */
  async release(): Promise<void> {
    if (!this.held) return;
    this.held = false;
    const owner = Number.parseInt((await fs.readFile(this.file, 'utf8').catch(() => '')).trim(), 10);
    if (owner === this.pid) await fs.unlink(this.file).catch(() => undefined);
  }
}
