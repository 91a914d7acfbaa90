import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { ownChild } from './children.js';

export interface ServerProcess {
  name: string;
  pid: number;
  url: string;
  /** SIGTERM, then SIGKILL if the process has not exited within `graceMs`. */
  stop(graceMs?: number): Promise<void>;
}

export interface StartOptions {
  name: string;
  /** Arguments to `node` (the entry file and flags). */
  nodeArgs: string[];
  env?: Record<string, string>;
  /** Path polled until it answers 200. */
  readyPath: string;
  readyTimeoutMs?: number;
  /** Where the child's stdout goes: `ignore` is /dev/null; a number is an open file descriptor. */
  stdout?: 'ignore' | 'inherit' | number;
  cwd?: string;
}

/** A free TCP port on 127.0.0.1 (the OS picks it; it is released before the child binds it). */
export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (!address || typeof address === 'string') throw new Error('could not get a free port');
  return address.port;
}

const STDERR_KEEP = 8_000;

/**
 * Starts a server as a separate node process (so it does not share an event loop with the load
 * generator) listening on 127.0.0.1:PORT, and polls `readyPath` until it answers 200 or the
 * deadline passes. The child's stderr is kept (its tail) for error messages.
 */
export async function startServerProcess(options: StartOptions): Promise<ServerProcess> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  let stderr = '';
  const child: ChildProcess = ownChild(
    spawn(process.execPath, options.nodeArgs, {
      cwd: options.cwd,
      env: { ...process.env, ...options.env, HOST: '127.0.0.1', PORT: String(port) },
      stdio: ['ignore', options.stdout ?? 'ignore', 'pipe'],
    }),
  );
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-STDERR_KEEP);
  });
  let exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  const exit = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      exited = { code, signal };
      resolve();
    });
  });
  const failure = (why: string) =>
    new Error(`${options.name} (pid ${child.pid}) ${why}${stderr ? `; its stderr:\n${stderr}` : ''}`);

  const stop = async (graceMs = 10_000): Promise<void> => {
    if (exited) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await exit;
    clearTimeout(timer);
  };

  const deadline = Date.now() + (options.readyTimeoutMs ?? 60_000);
  let lastError = 'no answer yet';
  for (let delay = 25; ; delay = Math.min(delay * 2, 250)) {
    if (exited) throw failure(`exited before it was ready (code ${exited.code}, signal ${exited.signal})`);
    try {
      const res = await fetch(`${url}${options.readyPath}`, { signal: AbortSignal.timeout(2_000) });
      await res.arrayBuffer();
      if (res.status === 200) break;
      lastError = `status ${res.status}`;
    } catch (err) {
      lastError = err instanceof Error ? err.message : String(err);
    }
    if (Date.now() > deadline) {
      await stop();
      throw failure(`was not ready within ${options.readyTimeoutMs ?? 60_000} ms (${lastError})`);
    }
    await new Promise((resolve) => setTimeout(resolve, delay));
  }
  if (child.pid === undefined) throw failure('has no pid');
  return { name: options.name, pid: child.pid, url, stop };
}

/** Polls `check` until it returns a value (not undefined) or `timeoutMs` passes. */
export async function pollUntil<T>(
  what: string,
  check: () => Promise<T | undefined>,
  timeoutMs = 60_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (let delay = 20; ; delay = Math.min(delay * 2, 500)) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, delay));
  }
}
