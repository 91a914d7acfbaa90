import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { readdirSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';

/** The repository root (this file is packages/core/{src,dist}/testing/). */
export const REPO_ROOT = resolve(import.meta.dirname, '../../../..');

export async function waitForHttp(url: string, timeoutMs: number, child?: ChildProcess): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child && child.exitCode !== null)
      throw new Error(`${url}: the process exited with ${child.exitCode}`);
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
      if (res.ok) return;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${url}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export interface ManagedProcess {
  child: ChildProcess;
  output(): string;
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/** Environment variable marking every process the tests spawn (and its descendants) with the run. */
export const TEST_CHILD_MARKER = 'PLATFORM_TEST_CHILD';

const live = new Set<ManagedProcess>();

/**
 * Spawns a process in a process group of its own, keeping its output for diagnostics. `stop`
 * signals the whole group (a shell script's children included). Every process spawned here is
 * tracked until it exits: `stopAllManaged` ends the ones a test left running.
 */
export function spawnManaged(
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  cwd = REPO_ROOT,
): ManagedProcess {
  const child = spawn(command, args, {
    cwd,
    env: { ...process.env, [TEST_CHILD_MARKER]: process.env.PLATFORM_TEST_RUN ?? 'manual', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let out = '';
  const keep = (chunk: Buffer) => {
    out = (out + chunk.toString()).slice(-20_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = once(child, 'exit').catch(() => undefined);
  const signalGroup = (signal: NodeJS.Signals) => {
    try {
      if (child.pid) process.kill(-child.pid, signal);
    } catch {
      // the group is gone
    }
  };
  const managed: ManagedProcess = {
    child,
    output: () => out,
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) {
        signalGroup(signal);
        await exited;
      }
      // Whatever the leader left behind in its group goes too.
      signalGroup('SIGKILL');
      live.delete(managed);
    },
  };
  live.add(managed);
  void exited.then(() => {
    if (child.signalCode === 'SIGKILL' || child.exitCode !== null) signalGroup('SIGKILL');
    live.delete(managed);
  });
  return managed;
}

/** Ends every process spawned by this test file that is still running (for afterEach / afterAll). */
export async function stopAllManaged(): Promise<void> {
  await Promise.all([...live].map((p) => p.stop('SIGKILL')));
}

/** Processes on this machine carrying `marker` in their environment (by /proc), but this one. */
export function processesMarked(marker: string): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const environ = readFileSync(`/proc/${entry}/environ`, 'latin1');
      if (environ.split('\0').includes(`${TEST_CHILD_MARKER}=${marker}`)) found.push(Number(entry));
    } catch {
      // gone, or not ours to read
    }
  }
  return found;
}

/**
 * For a vitest global setup: marks this run, and returns a check for its teardown that fails the
 * run when a process a test spawned outlived it (after ending it).
 */
export function guardChildProcesses(): () => Promise<void> {
  const marker = `run-${randomBytes(6).toString('hex')}`;
  process.env.PLATFORM_TEST_RUN = marker;
  return async () => {
    const left = processesMarked(marker);
    if (left.length === 0) return;
    const commands = left.map((pid) => {
      try {
        return `${pid}: ${readFileSync(`/proc/${pid}/cmdline`, 'latin1').replaceAll('\0', ' ').trim()}`;
      } catch {
        return String(pid);
      }
    });
    for (const pid of left) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    throw new Error(`processes spawned by the tests outlived them (now killed):\n${commands.join('\n')}`);
  };
}

/**
 * Starts the real ml-gateway (services/ml-gateway/scripts/start.sh: its virtualenv, then uvicorn)
 * on `port` unless one already answers there.
 */
export async function ensureMlGateway(port: number): Promise<ManagedProcess | undefined> {
  const url = `http://127.0.0.1:${port}`;
  try {
    const res = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(1000) });
    if (res.ok) return undefined;
  } catch {
    // not running: start it
  }
  const gateway = spawnManaged('bash', ['services/ml-gateway/scripts/start.sh'], {
    HOST: '127.0.0.1',
    PORT: String(port),
    LOG_LEVEL: 'WARNING',
  });
  try {
    await waitForHttp(`${url}/readyz`, 300_000, gateway.child);
  } catch (err) {
    await gateway.stop('SIGKILL');
    throw new Error(`ml-gateway did not start: ${(err as Error).message}\n${gateway.output()}`);
  }
  return gateway;
}

/** Polls `check` until it returns a value, or throws after `timeoutMs`. */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined>,
  timeoutMs = 20_000,
  intervalMs = 20,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
