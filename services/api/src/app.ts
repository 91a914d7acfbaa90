import { readFileSync } from 'node:fs';
import express, { type Express } from 'express';
import swaggerUi from 'swagger-ui-express';
import { RegisterRoutes } from './generated/routes.js';
import { bindContext } from './middleware/context.js';
import { cors } from './middleware/cors.js';
import { notFoundHandler, problemHandler } from './middleware/errors.js';
import { keepBodyDigest } from './middleware/idempotency.js';
import { setRateLimits } from './middleware/rate-limit.js';
import { requestId } from './middleware/request-id.js';
import { rejectUnstorableText } from './middleware/storable-text.js';
import { createMetrics } from './observability/metrics.js';
import { requestLog } from './observability/request-log.js';
import type { Platform } from './platform.js';
import { RateLimits } from './rate-limits.js';
import { readiness } from './readiness.js';

const openapi = JSON.parse(
  readFileSync(new URL('../openapi/openapi.json', import.meta.url), 'utf8'),
) as object;

/** Builds the Express app: middleware, tsoa's generated routes, ops endpoints and the error handler. */
export function createApp(platform: Platform): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('trust proxy', platform.config.trustProxy);
  app.locals.platform = platform;
  setRateLimits(app, new RateLimits(platform.redis, platform.config.rateLimits));
  const metrics = createMetrics(platform.db);

  app.use(requestId);
  app.use(cors(platform.config.corsOrigins));
  app.use(metrics.middleware);
  app.use(requestLog(platform.log, new Set(['/healthz', '/metrics'])));

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/readyz', async (_req, res) => {
    const result = await readiness(platform);
    res.status(result.ready ? 200 : 503).json(result);
  });
  app.get('/metrics', async (_req, res) => {
    res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });
  app.get('/openapi.json', (_req, res) => {
    res.json(openapi);
  });
  app.use('/docs', swaggerUi.serve, swaggerUi.setup(openapi, { customSiteTitle: 'Platform API' }));

  app.use(express.json({ limit: platform.config.bodyLimit, strict: true, verify: keepBodyDigest }));
  app.use(rejectUnstorableText);
  app.use(bindContext);
  RegisterRoutes(app);

  app.use(notFoundHandler);
  app.use(problemHandler);
  return app;
}
