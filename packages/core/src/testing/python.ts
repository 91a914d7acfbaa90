import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { type ManagedProcess, REPO_ROOT, spawnManaged } from './processes.js';

/** The ml-gateway's virtualenv (Python Celery 5, the ml-gateway app), made by its set-up script. */
export const ML_GATEWAY_DIR = join(REPO_ROOT, 'services/ml-gateway');
export const ML_PYTHON = join(ML_GATEWAY_DIR, '.venv/bin/python');

/** Runs a Python snippet in the ml-gateway's virtualenv; returns its stdout. */
export async function runPython(
  code: string,
  env: NodeJS.ProcessEnv = {},
  timeoutMs = 60_000,
): Promise<string> {
  const { stdout } = await promisify(execFile)(ML_PYTHON, ['-c', code], {
    cwd: ML_GATEWAY_DIR,
    env: { ...process.env, ...env },
    timeout: timeoutMs,
  });
  return stdout;
}

/** Starts a real Python Celery 5 worker (the ml-gateway's Celery app) on `queue`. */
export function startPythonCeleryWorker(queue: string, env: NodeJS.ProcessEnv): ManagedProcess {
  return spawnManaged(
    join(ML_GATEWAY_DIR, '.venv/bin/celery'),
    [
      '-A',
      'app.worker.celery_app',
      'worker',
      '-Q',
      queue,
      '--pool',
      'solo',
      '--loglevel',
      'INFO',
      '--without-heartbeat',
      '--without-gossip',
      '--without-mingle',
    ],
    { CELERY_QUEUE: queue, ...env },
    ML_GATEWAY_DIR,
  );
}
