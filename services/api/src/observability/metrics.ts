import { type Database, poolStats } from '@platform/core';
import type { RequestHandler } from 'express';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

export interface ApiMetrics {
  registry: Registry;
  middleware: RequestHandler;
  /** Counts a finished request and its latency since `start` (`process.hrtime.bigint()`). */
  observe(method: string, route: string, status: number, start: bigint): void;
  /** Counts a finished request answered in front of Express (see hot-reads.ts). */
  countFront(method: string, route: string): void;
}

/** Prometheus metrics: requests by route and status, latency, DB pool, process defaults. */
export function createMetrics(db: Database): ApiMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const requests = new Counter({
    name: 'http_requests_total',
    help: 'HTTP requests by method, route template and status',
    labelNames: ['method', 'route', 'status'],
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request latency by method and route template',
    labelNames: ['method', 'route'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  const front = new Counter({
    name: 'http_front_requests_total',
    help: 'HTTP requests answered in front of Express (hot reads, plain prediction creates), by method and route template',
    labelNames: ['method', 'route'],
    registers: [registry],
  });
  const pool = new Gauge({
    name: 'db_pool_connections',
    help: 'Database pool connections by state',
    labelNames: ['state'],
    registers: [registry],
    collect() {
      const s = poolStats(db);
      this.set({ state: 'used' }, s.used);
      this.set({ state: 'free' }, s.free);
      this.set({ state: 'pending_acquires' }, s.pendingAcquires);
      this.set({ state: 'max' }, s.max);
    },
  });
  void pool;

  // The labelled series are looked up once per method, route and status, not hashed per request.
  type Series = { inc(): void };
  type Timer = { observe(value: number): void };
  const counters = new Map<string, Series>();
  const timers = new Map<string, Timer>();
  const count = (method: string, route: string, status: number) => {
    const key = `${method} ${status} ${route}`;
    let series = counters.get(key);
    if (!series) {
      series = requests.labels({ method, route, status: String(status) });
      counters.set(key, series);
    }
    series.inc();
  };
  const time = (method: string, route: string, seconds: number) => {
    const key = `${method} ${route}`;
    let timer = timers.get(key);
    if (!timer) {
      timer = duration.labels({ method, route });
      timers.set(key, timer);
    }
    timer.observe(seconds);
  };

  const fronts = new Map<string, Series>();
  const countFront = (method: string, route: string) => {
    const key = `${method} ${route}`;
    let series = fronts.get(key);
    if (!series) {
      series = front.labels({ method, route });
      fronts.set(key, series);
    }
    series.inc();
  };

  const observe = (method: string, route: string, status: number, start: bigint) => {
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    count(method, route, status);
    time(method, route, seconds);
  };
  const middleware: RequestHandler = (req, res, next) => {
    const start = process.hrtime.bigint();
    res.once('finish', () => {
      const route = req.route ? `${req.baseUrl}${req.route.path as string}` : 'unmatched';
      observe(req.method, route, res.statusCode, start);
    });
    next();
  };
  return { registry, middleware, observe, countFront };
}
