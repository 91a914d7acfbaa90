import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { ownChild } from './children.js';
import { REPO_ROOT } from './platform-api.js';
import { freePort, pollUntil } from './server-process.js';

const DIST_MAIN = `${REPO_ROOT}services/worker/dist/main.js`;

export interface PlatformWorker {
  pid: number;
  /** Resolves with the first log line (parsed) whose `msg` is one of `messages`. */
  waitForLog(messages: string[], timeoutMs: number): Promise<Record<string, unknown>>;
  stop(graceMs?: number): Promise<void>;
}

/**
 * Starts the real worker (`services/worker/dist/main.js`) in production mode, reading its JSON
 * log lines from stdout. Its scheduler publishes a pg_partman maintenance pass when it starts.
 */
export async function startPlatformWorker(options: {
  databaseUrl: string;
  redisUrl: string;
  env?: Record<string, string>;
  /** More node flags for this process (e.g. `--inspect-port`). */
  nodeArgs?: string[];
}): Promise<PlatformWorker> {
  if (!existsSync(DIST_MAIN))
    throw new Error(`${DIST_MAIN} is missing: build first (pnpm exec turbo run build)`);
  const opsPort = await freePort();
  const child: ChildProcess = ownChild(
    spawn(process.execPath, [...(options.nodeArgs ?? []), DIST_MAIN], {
      cwd: `${REPO_ROOT}services/worker`,
      env: {
        ...process.env,
        NODE_ENV: 'production',
        DATABASE_URL: options.databaseUrl,
        REDIS_URL: options.redisUrl,
        LOG_LEVEL: 'info',
        HTTP_HOST: '127.0.0.1',
        HTTP_PORT: String(opsPort),
        KUBERNETES: 'off',
        ...options.env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
  );
  if (child.pid === undefined) throw new Error('could not start the worker');
  const pid = child.pid;
  let exited = false;
  const exit = once(child, 'exit').then(() => {
    exited = true;
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  const lines: Array<Record<string, unknown>> = [];
  createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
    try {
      const parsed = JSON.parse(line) as Record<string, unknown>;
      if (parsed.level !== undefined && Number(parsed.level) >= 30) lines.push(parsed);
      if (lines.length > 1000) lines.splice(0, lines.length - 1000);
    } catch {
      // not a log line
    }
  });
  const stop = async (graceMs = 15_000) => {
    if (exited) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await exit;
    clearTimeout(timer);
  };
  try {
    await pollUntil(
      'the worker to be ready',
      async () => {
        if (exited) throw new Error(`the worker exited: ${stderr}`);
        try {
          const res = await fetch(`http://127.0.0.1:${opsPort}/readyz`, {
            signal: AbortSignal.timeout(2_000),
          });
          await res.arrayBuffer();
          return res.status === 200 ? true : undefined;
        } catch {
          return undefined;
        }
      },
      60_000,
    );
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    pid,
    stop,
    waitForLog: (messages, timeoutMs) =>
      pollUntil(
        `worker log ${messages.join(' or ')}`,
        async () => {
          if (exited) throw new Error(`the worker exited: ${stderr}`);
          return lines.find((l) => messages.includes(String(l.msg)));
        },
        timeoutMs,
      ),
  };
}
