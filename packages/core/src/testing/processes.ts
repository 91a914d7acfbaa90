import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
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

/** Spawns a process, keeping its output for diagnostics. */
export function spawnManaged(
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  cwd = REPO_ROOT,
): ManagedProcess {
  const child = spawn(command, args, {
    cwd,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const keep = (chunk: Buffer) => {
    out = (out + chunk.toString()).slice(-20_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  return {
    child,
    output: () => out,
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      child.kill(signal);
      await exited;
    },
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
