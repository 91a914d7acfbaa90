import express, { type Express, type RequestHandler } from 'express';
import { consoleRouter } from './console.js';
import { RegisterRoutes } from './generated/routes.js';
import { bindContext } from './middleware/context.js';
import { methodNotAllowed, securityHeaders } from './middleware/contract.js';
import { cors } from './middleware/cors.js';
import { notFoundHandler, problemHandler } from './middleware/errors.js';
import { keepBodyDigest } from './middleware/idempotency.js';
import { setRateLimits, setTenantConcurrency } from './middleware/rate-limit.js';
import { requestId } from './middleware/request-id.js';
import { rejectUnstorableText } from './middleware/storable-text.js';
import type { ApiMetrics } from './observability/metrics.js';
import { requestLog } from './observability/request-log.js';
import { openapi, referencePage } from './operations.js';
import type { Platform } from './platform.js';
import { RateLimits } from './rate-limits.js';
import { readiness } from './readiness.js';
import { TenantConcurrency } from './tenant-concurrency.js';

/** Runs `handler` except on GET and HEAD requests, which have no body. */
function withBodyOnly(handler: RequestHandler): RequestHandler {
  return (req, res, next) => {
    if (req.method === 'GET' || req.method === 'HEAD') return next();
    handler(req, res, next);
  };
}

/** What the ops endpoints know of the process's lifecycle. */
export interface Lifecycle {
  /** Set on shutdown: /readyz answers 503 while the API keeps serving for the drain delay. */
  draining: boolean;
}

/**
 * Builds the public Express app (the port the ingress routes): middleware, tsoa's generated
 * routes, the API docs, a minimal /healthz and the error handler. The ops endpoints are on
 * createOpsApp's port.
 */
export function createApp(platform: Platform, metrics: ApiMetrics): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('trust proxy', platform.config.trustProxy);
  app.locals.platform = platform;
  setRateLimits(app, new RateLimits(platform.redis, platform.config.rateLimits));
  setTenantConcurrency(app, new TenantConcurrency(platform.config.tenantConcurrency));

  app.use(requestId);
  app.use(securityHeaders);
  app.use(cors(platform.config.corsOrigins));
  app.use(metrics.middleware);
  app.use(requestLog(platform.log, new Set(['/healthz'])));

  // Liveness only: no dependency, no detail.
  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/openapi.json', (_req, res) => {
    res.json(openapi);
  });
  app.use('/console', consoleRouter(platform.config.consoleDir));
  // The API reference (Redoc, built from the spec with its scripts inlined: nothing from a CDN).
  app.get(['/docs', '/docs/'], (_req, res) => {
    res.type('html').send(referencePage());
  });

  // GET and HEAD carry no body: no body parser for them, and only their query is checked.
  app.use(
    withBodyOnly(express.json({ limit: platform.config.bodyLimit, strict: true, verify: keepBodyDigest })),
  );
  app.use(rejectUnstorableText);
  app.use(bindContext);
  RegisterRoutes(app);

  app.use(methodNotAllowed);
  app.use(notFoundHandler);
  app.use(problemHandler);
  return app;
}

/**
 * The ops endpoints, on their own port (OPS_PORT), which the ingress does not route: /healthz,
 * /readyz (PostgreSQL and Redis, with their error text; 503 while draining) and /metrics.
 */
export function createOpsApp(platform: Platform, metrics: ApiMetrics, lifecycle: Lifecycle): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/readyz', async (_req, res) => {
    if (lifecycle.draining) {
      res.status(503).json({ ready: false, draining: true, checks: {} });
      return;
    }
    const result = await readiness(platform);
    res.status(result.ready ? 200 : 503).json(result);
  });
  app.get('/metrics', async (_req, res) => {
    res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });
  app.use((_req, res) => {
    res.status(404).json({ error: 'not found' });
  });
  return app;
}
