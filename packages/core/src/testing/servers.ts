import { execFile } from 'node:child_process';
import { chmod, chown, mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { type ManagedProcess, spawnManaged, waitFor } from './processes.js';

const exec = promisify(execFile);

/** A TCP port on 127.0.0.1 that nothing listened on a moment ago. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** A server of the tests' own, which a fault test may stop and start again. */
export interface RestartableServer {
  url: string;
  port: number;
  /** Stops the server (cleanly: `SIGTERM` for Redis, a fast shutdown for PostgreSQL). */
  stop(): Promise<void>;
  start(): Promise<void>;
  /** Stops it and deletes its data. */
  destroy(): Promise<void>;
}

/**
 * A real Redis on a port of its own, with an append-only file fsynced on every write, so that a
 * restart keeps every acknowledged write (with `persist: false`, none: it comes back empty). With
 * `started: false` the port is chosen but nothing listens on it until `start()`: for services
 * that must come up while Redis is unreachable.
 */
export async function startRedisServer(
  options: { started?: boolean; persist?: boolean } = {},
): Promise<RestartableServer> {
  const persist = options.persist !== false;
  const port = await freePort();
  const dir = await mkdtemp(join(tmpdir(), 'redis-test-'));
  const url = `redis://127.0.0.1:${port}/0`;
  let server: ManagedProcess | undefined;
  const start = async () => {
    server = spawnManaged(
      'redis-server',
      // appendfsync always: nothing acknowledged is lost across a restart.
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--dir',
        dir,
        ...(persist ? ['--appendonly', 'yes', '--appendfsync', 'always'] : ['--appendonly', 'no']),
        '--save',
        '',
      ],
      {},
    );
    const started = server;
    await waitFor(
      `redis on ${port}`,
      async () => {
        if (started.child.exitCode !== null) throw new Error(`redis-server exited:\n${started.output()}`);
        try {
          await exec('redis-cli', ['-p', String(port), 'ping'], { timeout: 2000 });
          return true;
        } catch {
          return undefined;
        }
      },
      15_000,
      50,
    );
  };
  if (options.started !== false) await start();
  return {
    url,
    port,
    start,
    async stop() {
      await server?.stop('SIGTERM');
    },
    async destroy() {
      await server?.stop('SIGKILL');
      await rm(dir, { recursive: true, force: true });
    },
  };
}

const PG_BIN = process.env.PG_BIN ?? '/usr/lib/postgresql/15/bin';

/**
 * A real PostgreSQL 15 cluster of the test's own (initdb in a temporary directory, on a free
 * port), with the platform's role, a database and pg_partman, so a fault test can stop and start
 * it without touching the shared server. As root it runs as the `postgres` user.
 */
export async function startPostgresServer(database = 'platform_fault_test'): Promise<RestartableServer> {
  const port = await freePort();
  const dir = await mkdtemp(join(tmpdir(), 'pg-test-'));
  const data = join(dir, 'data');
  const asRoot = process.getuid?.() === 0;
  const as = (cmd: string, args: string[]): [string, string[]] =>
    asRoot ? ['runuser', ['-u', 'postgres', '--', cmd, ...args]] : [cmd, args];
  if (asRoot) {
    const { stdout } = await exec('id', ['-u', 'postgres']);
    const { stdout: gid } = await exec('id', ['-g', 'postgres']);
    await chown(dir, Number(stdout.trim()), Number(gid.trim()));
  }
  await chmod(dir, 0o700);
  const [initCmd, initArgs] = as(join(PG_BIN, 'initdb'), [
    '-D',
    data,
    '-U',
    'postgres',
    '--auth=trust',
    '-E',
    'UTF8',
    '--no-sync',
  ]);
  await exec(initCmd, initArgs, { cwd: '/' });
  let server: ManagedProcess | undefined;
  const adminUrl = `postgres://postgres@127.0.0.1:${port}/postgres`;
  const ready = async (url: string) => {
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1000 });
    try {
      await client.connect();
      await client.query('select 1');
      return true;
    } catch {
      return undefined;
    } finally {
      await client.end().catch(() => undefined);
    }
  };
  const start = async () => {
    const [cmd, args] = as(join(PG_BIN, 'postgres'), [
      '-D',
      data,
      '-p',
      String(port),
      '-k',
      dir,
      '-c',
      'listen_addresses=127.0.0.1',
      '-c',
      'fsync=off',
      '-c',
      'max_connections=100',
    ]);
    server = spawnManaged(cmd, args, {}, '/');
    const started = server;
    await waitFor(
      `postgres on ${port}`,
      async () => {
        if (started.child.exitCode !== null) throw new Error(`postgres exited:\n${started.output()}`);
        return ready(adminUrl);
      },
      30_000,
      50,
    );
  };
  await start();
  const admin = async (sql: string[], db = 'postgres') => {
    const client = new pg.Client({ connectionString: `postgres://postgres@127.0.0.1:${port}/${db}` });
    await client.connect();
    try {
      for (const statement of sql) await client.query(statement);
    } finally {
      await client.end();
    }
  };
  await admin([
    "create role platform login password 'platform'",
    `create database ${database} owner platform`,
  ]);
  await admin(
    [
      'create schema partman authorization platform',
      'create extension pg_partman schema partman',
      'grant all on all tables in schema partman to platform',
      'grant execute on all functions in schema partman to platform',
      'grant execute on all procedures in schema partman to platform',
    ],
    database,
  );
  return {
    url: `postgres://platform:platform@127.0.0.1:${port}/${database}`,
    port,
    start,
    async stop() {
      // SIGINT: PostgreSQL's fast shutdown (sessions are cut, as on a restart).
      await server?.stop('SIGINT');
    },
    async destroy() {
      await server?.stop('SIGINT');
      await rm(dir, { recursive: true, force: true });
    },
  };
}
