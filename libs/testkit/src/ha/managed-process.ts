import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import path from 'node:path';

/** How to (re)start one process of the HA stack. */
export interface ProcessSpec {
  /** Unique within the stack: `kafka-2`, `redis-6380`, `api-8091`… */
  name: string;
  command: string;
  args: string[];
  env?: Record<string, string>;
  cwd?: string;
  /** Output (stdout and stderr) is appended here. */
  logFile: string;
}

/**
 * One child process that can be killed (`kill -9` included) and started again with the same spec. Its
 * output goes to a log file rather than a pipe: a pipe nobody drains would stall a chatty child.
 */
export class ManagedProcess {
  private child: ChildProcess | null = null;
  private log: WriteStream | null = null;
  private exitWaiters: (() => void)[] = [];
  /** Called on every exit that `stop()`/`kill()` did not ask for. */
  onUnexpectedExit: ((code: number | null, signal: NodeJS.Signals | null) => void) | null = null;
  private expectingExit = false;

  constructor(readonly spec: ProcessSpec) {}

  get pid(): number | null {
    return this.child?.pid ?? null;
  }

  get running(): boolean {
    return this.child !== null;
  }

  start(): void {
    if (this.child) throw new Error(`${this.spec.name} is already running`);
    mkdirSync(path.dirname(this.spec.logFile), { recursive: true });
    this.log ??= createWriteStream(this.spec.logFile, { flags: 'a' });
    this.log.write(`---- ${new Date().toISOString()} start ${this.spec.name}\n`);
    const child = spawn(this.spec.command, this.spec.args, {
      cwd: this.spec.cwd,
      env: { ...process.env, ...this.spec.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    this.expectingExit = false;
    child.stdout?.pipe(this.log, { end: false });
    child.stderr?.pipe(this.log, { end: false });
    child.once('error', (err) => this.log?.write(`spawn error: ${err.message}\n`));
    // 'close', not 'exit': by then the output pipes are drained, so closing the log cannot cut a write.
    child.once('close', (code, signal) => {
      this.log?.write(`---- ${new Date().toISOString()} exit ${this.spec.name} code=${code} signal=${signal}\n`);
      this.child = null;
      const waiters = this.exitWaiters;
      this.exitWaiters = [];
      for (const w of waiters) w();
      if (!this.expectingExit) this.onUnexpectedExit?.(code, signal);
    });
  }

  /** Sends `signal` and waits for the exit (SIGKILL after `graceMs` for a polite signal). */
  async kill(signal: NodeJS.Signals = 'SIGTERM', graceMs = 20_000): Promise<void> {
    const child = this.child;
    if (!child) return;
    this.expectingExit = true;
    const exited = new Promise<void>((resolve) => this.exitWaiters.push(resolve));
    child.kill(signal);
    if (signal !== 'SIGKILL') {
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    } else {
      await exited;
    }
  }

  /** Stops the process and closes its log. */
  async stop(graceMs = 20_000): Promise<void> {
    await this.kill('SIGTERM', graceMs);
    await new Promise<void>((resolve) => (this.log ? this.log.end(resolve) : resolve()));
    this.log = null;
  }
}
