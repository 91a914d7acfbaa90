import { createServer, type Server } from 'node:http';
import { type Database, outboxBacklog } from '@platform/core';
import type { Redis } from 'ioredis';
import type { Registry } from 'prom-client';

/** `/healthz`, `/readyz` (Postgres and Redis; the outbox backlog as detail) and `/metrics`. */
export function createOpsServer(deps: { db: Database; redis: Redis; registry: Registry }): Server {
  return createServer(async (req, res) => {
    const send = (status: number, body: string, type = 'application/json') => {
      res.writeHead(status, { 'content-type': type });
      res.end(body);
    };
    if (req.url === '/healthz') return send(200, JSON.stringify({ status: 'ok' }));
    if (req.url === '/metrics') return send(200, await deps.registry.metrics(), deps.registry.contentType);
    if (req.url === '/readyz') {
      const checks: Record<string, { ok: boolean; error?: string; [detail: string]: unknown }> = {};
      await Promise.all([
        deps.db.raw('select 1').then(
          () => (checks.postgres = { ok: true }),
          (e: Error) => (checks.postgres = { ok: false, error: e.message }),
        ),
        deps.redis.ping().then(
          () => (checks.redis = { ok: true }),
          (e: Error) => (checks.redis = { ok: false, error: e.message }),
        ),
      ]);
      const ready = Object.values(checks).every((c) => c.ok);
      // Detail, not a readiness condition: a backlog drains by itself once Redis is back.
      if (checks.postgres?.ok) {
        const backlog = await outboxBacklog(deps.db).catch(() => undefined);
        if (backlog)
          checks.outbox = { ok: true, pending: backlog.pending, oldest_seconds: backlog.oldestSeconds };
      }
      return send(ready ? 200 : 503, JSON.stringify({ ready, checks }));
    }
    return send(404, JSON.stringify({ error: 'not found' }));
  });
}
