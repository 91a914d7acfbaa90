import { type ChildProcess, spawn } from 'node:child_process';
import { ownChild } from '../lib/children.js';
import { pollUntil } from '../lib/server-process.js';
import { note } from '../lib/table.js';

const KEEP = 8_000;

export interface Child {
  name: string;
  pid: number;
  /** The tail of its stderr (and stdout when kept). */
  output(): string;
  /** How it exited, or undefined while it runs. */
  exited(): { code: number | null; signal: NodeJS.Signals | null } | undefined;
  /** SIGTERM, then SIGKILL if it has not exited within `graceMs`. */
  stop(graceMs?: number): Promise<void>;
  /** SIGKILL, as an out-of-memory kill would; resolves once it has exited. */
  kill(): Promise<void>;
}

export interface ChildOptions {
  name: string;
  command: string;
  args: string[];
  env?: Record<string, string>;
  cwd?: string;
  /** Keep stdout too (default: /dev/null). */
  keepStdout?: boolean;
}

/** Starts a process, keeping the tail of its output for error messages. */
export function startChild(options: ChildOptions): Child {
  let output = '';
  const child: ChildProcess = ownChild(
    spawn(options.command, options.args, {
      cwd: options.cwd,
      env: { ...process.env, ...options.env },
      stdio: ['ignore', options.keepStdout ? 'pipe' : 'ignore', 'pipe'],
    }),
  );
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-KEEP);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  let spawnError: Error | undefined;
  const exitPromise = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      exit = { code, signal };
      resolve();
    });
    child.once('error', (err) => {
      spawnError = err;
      exit ??= { code: null, signal: null };
      resolve();
    });
  });
  if (child.pid === undefined) {
    throw new Error(`${options.name}: could not start ${options.command}`);
  }
  return {
    name: options.name,
    pid: child.pid,
    output: () => (spawnError ? `${spawnError.message}\n${output}` : output),
    exited: () => exit,
    async stop(graceMs = 15_000) {
      if (exit) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => {
        note(`${options.name} (pid ${child.pid}) did not stop within ${graceMs} ms: SIGKILL`);
        child.kill('SIGKILL');
      }, graceMs);
      await exitPromise;
      clearTimeout(timer);
    },
    async kill() {
      if (exit) return;
      child.kill('SIGKILL');
      await exitPromise;
    },
  };
}

/** Polls `check` until it returns a value; fails at once, with the child's output, if the child exits. */
export function waitForChild<T>(
  child: Child,
  what: string,
  check: () => Promise<T | undefined>,
  timeoutMs: number,
): Promise<T> {
  return pollUntil(
    what,
    async () => {
      const exit = child.exited();
      if (exit) {
        throw new Error(
          `${child.name} (pid ${child.pid}) exited (code ${exit.code}, signal ${exit.signal}) while waiting for ${what}; its output:\n${child.output()}`,
        );
      }
      return check();
    },
    timeoutMs,
  );
}

/**
 * Everything the benchmark started, stopped in reverse order at the end, on error, and on
 * SIGINT/SIGTERM of the benchmark itself.
 */
export class Processes {
  private readonly stops: Array<{ name: string; stop: () => Promise<void> }> = [];

  add(name: string, stop: () => Promise<void>): void {
    this.stops.push({ name, stop });
  }

  /** Stops one and forgets it (it is no longer stopped at the end). */
  async stop(name: string): Promise<void> {
    const i = this.stops.findIndex((s) => s.name === name);
    if (i < 0) return;
    const [entry] = this.stops.splice(i, 1);
    await entry?.stop();
  }

  async stopAll(): Promise<void> {
    while (this.stops.length > 0) {
      const entry = this.stops.pop();
      if (!entry) break;
      try {
        await entry.stop();
      } catch (err) {
        note(`could not stop ${entry.name}: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
  }
}
