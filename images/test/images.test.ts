import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  renameSync,
} from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import {
  copyBuildContext,
  freePort,
  REPO_ROOT,
  run,
  SERVICE_UID,
  type Service,
  startAsServiceUser,
  waitForStatus,
} from './context.js';

const DATABASE_URL =
  process.env.TEST_DATABASE_URL ??
  process.env.DATABASE_URL ??
  'postgres://platform:platform@127.0.0.1:5432/platform_test';
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379/0';
/** The builds: about two minutes on an idle 2-core machine, far longer when it is shared. */
const BUILD_TIMEOUT_MS = 900_000;
/** Removing the work tree (a virtualenv and two deployed node_modules) on a shared machine. */
const CLEANUP_TIMEOUT_MS = 300_000;
/** A service's start-up (vitest's testTimeout is 120 s here). */
const START_TIMEOUT_MS = 90_000;
/**
 * The interpreter of the fresh virtualenv: a system one, as in the image (a venv links to its
 * interpreter, which the service user must be able to reach: not one under root's home).
 */
const PYTHON = ['/usr/local/bin/python3.11', '/usr/bin/python3.11'].find((p) => existsSync(p)) ?? 'python3';

/** Every symlink under `dir` that resolves outside it (a deployed folder must be self-contained). */
function linksLeaving(dir: string): string[] {
  const root = realpathSync(dir);
  const leaving: string[] = [];
  const walk = (d: string) => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      const path = join(d, entry.name);
      if (entry.isSymbolicLink()) {
        const target = realpathSync(path);
        if (relative(root, target).startsWith('..')) leaving.push(`${relative(root, path)} -> ${target}`);
      } else if (entry.isDirectory()) {
        walk(path);
      }
    }
  };
  walk(root);
  return leaving;
}

/**
 * The console folder of the deployed api: where the api image's `ENV CONSOLE_DIR` points (its
 * runtime copies the deployed folder to /app), read from services/api/Dockerfile.
 */
function consoleDirOf(app: string): string {
  const dockerfile = readFileSync(join(REPO_ROOT, 'services/api/Dockerfile'), 'utf8');
  const dir = /^\s*CONSOLE_DIR=(\/app\/\S+)/m.exec(dockerfile)?.[1];
  if (!dir) throw new Error('services/api/Dockerfile sets no CONSOLE_DIR under /app');
  return join(app, dir.slice('/app/'.length));
}

/** Every .js file of a deployed service's own dist/, but its entry point. */
function distModules(app: string): string[] {
  return readdirSync(join(app, 'dist'), { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.js') && f !== 'main.js')
    .map((f) => `./dist/${f}`);
}

describe('the images, built as their Dockerfiles build them, from the .dockerignore-filtered repository', () => {
  let work: string;
  let api: string;
  let worker: string;
  let venv: string;
  let mlGateway: string;
  const services: Service[] = [];

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'platform-images-'));
    // The service user reads what root built, as in the images.
    chmodSync(work, 0o755);
    const context = join(work, 'context');
    expect(copyBuildContext(REPO_ROOT, context)).toBeGreaterThan(100);
    const store = (await run('pnpm', ['store', 'path'], { cwd: REPO_ROOT })).trim();
    venv = join(work, 'opt/venv');
    mlGateway = join(work, 'srv/ml-gateway');
    const steps = await Promise.allSettled([
      // A fresh metadata cache, as in the image (`pnpm fetch` fills the store only).
      (async () => {
        const env = { PNPM_STORE_DIR: store, XDG_CACHE_HOME: join(work, 'cache') };
        await run(
          'bash',
          ['images/node-service.sh', join(work, 'out'), '@platform/api', '@platform/worker'],
          {
            cwd: context,
            env,
            timeoutMs: BUILD_TIMEOUT_MS,
          },
        );
        // The api image's second step: the console's static build into the deployed folder.
        await run('bash', ['images/console.sh', join(work, 'out/api/console')], {
          cwd: context,
          env,
          timeoutMs: BUILD_TIMEOUT_MS,
        });
      })(),
      (async () => {
        await run('bash', ['images/ml-gateway.sh', 'venv', 'services/ml-gateway/requirements.txt', venv], {
          cwd: context,
          env: { PYTHON },
          timeoutMs: BUILD_TIMEOUT_MS,
        });
        await run('bash', ['images/ml-gateway.sh', 'app', 'services/ml-gateway/app', mlGateway, venv], {
          cwd: context,
        });
      })(),
    ]);
    for (const step of steps) if (step.status === 'rejected') throw step.reason;
    // The runtime images copy the deployed folders elsewhere (/out -> /app) and nothing else.
    api = join(work, 'api-app');
    worker = join(work, 'worker-app');
    renameSync(join(work, 'out/api'), api);
    renameSync(join(work, 'out/worker'), worker);
    // Asynchronously: a large tree removed synchronously blocks vitest's own RPC on a busy machine.
    await rm(context, { recursive: true, force: true });
    await rm(join(work, 'cache'), { recursive: true, force: true });
  }, BUILD_TIMEOUT_MS + 60_000);

  afterAll(async () => {
    await Promise.all(services.map((s) => s.stop('SIGKILL')));
    if (work) await rm(work, { recursive: true, force: true });
  }, CLEANUP_TIMEOUT_MS);

  const start = (command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv) => {
    const service = startAsServiceUser(command, args, { cwd, env });
    services.push(service);
    return service;
  };

  it('deploys self-contained folders: production dependencies only, no link back into the workspace', () => {
    for (const app of [api, worker]) {
      expect(linksLeaving(app)).toEqual([]);
      const modules = readdirSync(join(app, 'node_modules'));
      expect(modules).toContain('@platform');
      expect(modules).not.toContain('vitest');
      // Only the package's `files` (and package.json): no sources, tests or build configs.
      expect(
        readdirSync(app)
          .filter((f) => f !== 'README.md')
          .sort(),
      ).toEqual(
        app === api
          ? ['console', 'dist', 'node_modules', 'openapi', 'package.json']
          : ['dist', 'node_modules', 'package.json'],
      );
    }
    expect(readdirSync(join(api, 'node_modules/@platform/core')).sort()).toEqual([
      'dist',
      'node_modules',
      'package.json',
    ]);
  });

  it('resolves every module of the api and the worker as the service user', async () => {
    for (const app of [api, worker]) {
      const modules = [...distModules(app), '@platform/core', '@platform/celery'];
      const script = `for (const m of ${JSON.stringify(modules)}) await import(m); console.log('uid', process.getuid()); process.exit(0);`;
      const service = start(process.execPath, ['--input-type=module', '-e', script], app, {});
      expect(await service.exited, service.output()).toBe(0);
      expect(service.output()).toContain(`uid ${SERVICE_UID}`);
    }
  });

  it("runs the migrations CLI the chart's hook Job runs, from the api image", async () => {
    const values = parse(readFileSync(join(REPO_ROOT, 'charts/platform/values.yaml'), 'utf8')) as {
      migrations: { args: string[] };
    };
    const job = start(process.execPath, values.migrations.args, api, {
      NODE_ENV: 'production',
      DATABASE_URL,
    });
    expect(await job.exited, job.output()).toBe(0);
    expect(job.output()).toMatch(/^platform: (up to date|applied )/m);
  });

  it("ships the console's static build where the image's CONSOLE_DIR points: files only", () => {
    const dir = consoleDirOf(api);
    expect(readdirSync(dir).sort()).toEqual(['assets', 'index.html']);
    const assets = readdirSync(join(dir, 'assets'));
    expect(assets.some((f) => f.endsWith('.js'))).toBe(true);
    expect(assets.every((f) => /\.(js|css|svg|png|woff2?)$/.test(f))).toBe(true);
  });

  it('starts the api from its folder: /healthz, /readyz on the ops port, the console, then a clean stop', async () => {
    const [port, opsPort] = [await freePort(), await freePort()];
    const service = start(process.execPath, ['--enable-source-maps', 'dist/main.js'], api, {
      NODE_ENV: 'production',
      HOST: '127.0.0.1',
      PORT: String(port),
      OPS_PORT: String(opsPort),
      DRAIN_DELAY_MS: '0',
      DATABASE_URL,
      REDIS_URL,
      ADMIN_TOKEN: randomBytes(24).toString('hex'),
      KUBERNETES: 'off',
      LOG_LEVEL: 'warn',
      CONSOLE_DIR: consoleDirOf(api),
    });
    const url = `http://127.0.0.1:${port}`;
    expect(await (await waitForStatus(`${url}/healthz`, 200, service, START_TIMEOUT_MS)).json()).toEqual({
      status: 'ok',
    });
    await waitForStatus(`http://127.0.0.1:${opsPort}/readyz`, 200, service, 20_000);
    // The console, from the image's own build, and the script its page loads.
    const page = await fetch(`${url}/console/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toContain("default-src 'none'");
    const script = /<script[^>]+src="(\/console\/assets\/[^"]+\.js)"/.exec(await page.text())?.[1];
    expect(script).toBeDefined();
    const asset = await fetch(`${url}${script}`);
    expect(asset.status).toBe(200);
    expect(asset.headers.get('content-type')).toMatch(/javascript/);
    expect(await service.stop('SIGTERM'), service.output()).toBe(0);
  });

  it('starts the worker from its folder: /healthz, /readyz, then a clean stop', async () => {
    const port = await freePort();
    const service = start(process.execPath, ['--enable-source-maps', 'dist/main.js'], worker, {
      NODE_ENV: 'production',
      HTTP_HOST: '127.0.0.1',
      HTTP_PORT: String(port),
      DATABASE_URL,
      REDIS_URL,
      KUBERNETES: 'off',
      // Consume queues no other test uses.
      QUEUE_ML: `images-ml-${port}`,
      QUEUE_PLATFORM: `images-platform-${port}`,
      LOG_LEVEL: 'warn',
    });
    const url = `http://127.0.0.1:${port}`;
    await waitForStatus(`${url}/healthz`, 200, service, START_TIMEOUT_MS);
    await waitForStatus(`${url}/readyz`, 200, service, 20_000);
    expect(await service.stop('SIGTERM'), service.output()).toBe(0);
  });

  it('installs the ml-gateway with every requirement pinned by hash', () => {
    const requirements = readFileSync(join(REPO_ROOT, 'services/ml-gateway/requirements.txt'), 'utf8');
    // One entry per package: "name==version \" followed by its --hash lines.
    const entries = requirements.split(/\n(?=[A-Za-z0-9])/).filter((e) => /^[A-Za-z0-9]/.test(e));
    expect(entries.length).toBeGreaterThan(20);
    for (const entry of entries) {
      expect(entry, entry).toMatch(/^[A-Za-z0-9._-]+(\[[a-z,-]+\])?==\S+ \\\n/);
      expect(entry, entry).toMatch(/--hash=sha256:[0-9a-f]{64}/);
    }
  });

  it('starts the ml-gateway from a fresh virtualenv as the service user, with a read-only app', async () => {
    // The app directory is root's; the service user cannot write to it (nor byte-compile into it).
    const write = start(join(venv, 'bin/python'), ['-c', "open('app/probe', 'w')"], mlGateway, {});
    expect(await write.exited).not.toBe(0);
    expect(write.output()).toContain('PermissionError');

    const port = await freePort();
    const service = start(
      join(venv, 'bin/uvicorn'),
      ['app.main:app', '--host', '127.0.0.1', '--port', String(port)],
      mlGateway,
      {
        PYTHONDONTWRITEBYTECODE: '1',
        PYTHONUNBUFFERED: '1',
        LOG_LEVEL: 'WARNING',
      },
    );
    const url = `http://127.0.0.1:${port}`;
    await waitForStatus(`${url}/readyz`, 200, service, START_TIMEOUT_MS);
    const models = (await (await fetch(`${url}/v1/models`)).json()) as { data: unknown[] };
    expect(models.data.length).toBeGreaterThan(0);
    // uvicorn shuts down gracefully, then re-raises the signal: ended by SIGTERM, not by a crash.
    await service.stop('SIGTERM');
    expect(service.output()).toContain('Application shutdown complete.');
    expect({ code: service.child.exitCode, signal: service.child.signalCode }).toEqual({
      code: null,
      signal: 'SIGTERM',
    });
  });
});
