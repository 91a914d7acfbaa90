import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, copyFileSync, lstatSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { join, relative, resolve } from 'node:path';
import { promisify } from 'node:util';
import type { Ignore } from '@balena/dockerignore';

// A CommonJS module whose types declare an ES default export: required, as Node loads it.
const dockerignore = createRequire(import.meta.url)('@balena/dockerignore') as (options?: {
  ignorecase?: boolean;
}) => Ignore;

/** The repository root (this file is images/test/). */
export const REPO_ROOT = resolve(import.meta.dirname, '../..');

/**
 * Copies the build context of the images (the repository root) to `dest`, filtered by the root
 * `.dockerignore` with Docker's own matching rules: what `docker build .` would send. Returns the
 * number of files copied.
 */
export function copyBuildContext(src: string, dest: string): number {
  const rules = readFileSync(join(src, '.dockerignore'), 'utf8');
  const ignore = dockerignore({ ignorecase: false }).add(rules);
  // Without exception rules (`!pattern`), nothing under an ignored directory can come back.
  const prune = !rules.split('\n').some((line) => line.trim().startsWith('!'));
  let files = 0;
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      const rel = relative(src, path);
      const ignored = ignore.ignores(rel);
      if (entry.isDirectory()) {
        if (ignored && prune) continue;
        walk(path);
      } else if (!ignored) {
        const target = join(dest, rel);
        mkdirSync(join(target, '..'), { recursive: true });
        copyFileSync(path, target);
        chmodSync(target, lstatSync(path).mode & 0o777);
        files++;
      }
    }
  };
  walk(src);
  return files;
}

const execFileAsync = promisify(execFile);

/** Runs a command to completion; the error carries its output. */
export async function run(
  command: string,
  args: string[],
  options: { cwd: string; env?: NodeJS.ProcessEnv; timeoutMs?: number },
): Promise<string> {
  try {
    const { stdout, stderr } = await execFileAsync(command, args, {
      cwd: options.cwd,
      env: { ...process.env, ...options.env },
      timeout: options.timeoutMs ?? 300_000,
      maxBuffer: 64 * 1024 * 1024,
    });
    return stdout + stderr;
  } catch (err) {
    const e = err as Error & { stdout?: string; stderr?: string };
    throw new Error(
      `${command} ${args.join(' ')} failed: ${e.message}\n${e.stdout ?? ''}\n${e.stderr ?? ''}`,
    );
  }
}

export interface Service {
  child: ChildProcess;
  output(): string;
  /** Resolves with the exit code once the process ended (null when killed by a signal). */
  exited: Promise<number | null>;
  /** Sends `signal` and resolves with the exit code (null when killed by a signal). */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** The unprivileged user the images run as. */
export const SERVICE_UID = 10001;

/** Starts a long-running process as the images' unprivileged user, keeping its output. */
export function startAsServiceUser(
  command: string,
  args: string[],
  options: { cwd: string; env: NodeJS.ProcessEnv },
): Service {
  const child = spawn(command, args, {
    cwd: options.cwd,
    // Only what is passed: nothing from the test's environment leaks into the service.
    env: { PATH: process.env.PATH, HOME: '/nonexistent', ...options.env },
    uid: SERVICE_UID,
    gid: SERVICE_UID,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const keep = (chunk: Buffer) => {
    out = (out + chunk.toString()).slice(-20_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = once(child, 'close').then(() => child.exitCode);
  return {
    child,
    output: () => out,
    exited,
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

/** Polls `url` until it answers `status`, or throws (with the service's output) after `timeoutMs`. */
export async function waitForStatus(
  url: string,
  status: number,
  service: Service,
  timeoutMs: number,
): Promise<Response> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer';
  for (;;) {
    if (service.child.exitCode !== null) {
      throw new Error(`${url}: the process exited with ${service.child.exitCode}\n${service.output()}`);
    }
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
      if (res.status === status) return res;
      last = `${res.status} ${await res.text()}`;
    } catch (err) {
      last = (err as Error).message;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${status} from ${url} (last: ${last})\n${service.output()}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** A loopback port nothing listens on right now. */
export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  server.close();
  if (!address || typeof address === 'string') throw new Error('no port');
  return address.port;
}
