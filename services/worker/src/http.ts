import { createServer, type Server } from 'node:http';
import { type Database, outboxBacklog } from '@platform/core';
import type { Redis } from 'ioredis';
import type { Registry } from 'prom-client';

const CHECK_TIMEOUT_MS = 2000;

async function check(probe: () => Promise<unknown>): Promise<{ ok: boolean; error?: string }> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      probe(),
      new Promise((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`timed out after ${CHECK_TIMEOUT_MS} ms`)),
          CHECK_TIMEOUT_MS,
        );
      }),
    ]);
    return { ok: true };
  } catch (err) {
    return { ok: false, error: err instanceof Error ? err.message : String(err) };
  } finally {
    clearTimeout(timer);
  }
}

/**
 * `/healthz` (the process answers: no dependency), `/readyz` (PostgreSQL and Redis, each within
 * 2 s; the outbox backlog as detail) and `/metrics`. Listens before the worker has connected to Redis.
 */
export function createOpsServer(deps: { db: Database; redis: Redis; registry: Registry }): Server {
  return createServer(async (req, res) => {
    const send = (status: number, body: string, type = 'application/json') => {
      res.writeHead(status, { 'content-type': type });
      res.end(body);
    };
    if (req.url === '/healthz') return send(200, JSON.stringify({ status: 'ok' }));
    if (req.url === '/metrics') return send(200, await deps.registry.metrics(), deps.registry.contentType);
    if (req.url === '/readyz') {
      const [postgres, redis] = await Promise.all([
        check(() => deps.db.raw('select 1')),
        // Commands wait for a connection (maxRetriesPerRequest: null): not connected is not ready.
        check(async () => {
          if (deps.redis.status !== 'ready') throw new Error(`not connected (${deps.redis.status})`);
          await deps.redis.ping();
        }),
      ]);
      const checks: Record<string, { ok: boolean; error?: string; [detail: string]: unknown }> = {
        postgres,
        redis,
      };
      const ready = postgres.ok && redis.ok;
      // Detail, not a readiness condition: a backlog drains by itself once Redis is back.
      if (postgres.ok) {
        const backlog = await outboxBacklog(deps.db).catch(() => undefined);
        if (backlog)
          checks.outbox = { ok: true, pending: backlog.pending, oldest_seconds: backlog.oldestSeconds };
      }
      return send(ready ? 200 : 503, JSON.stringify({ ready, checks }));
    }
    return send(404, JSON.stringify({ error: 'not found' }));
  });
}
