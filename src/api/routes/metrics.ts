import { Router } from 'express';
import type { ApiDeps } from '../app.js';
import { createMetricsRegistry } from '../metrics.js';

/** Prometheus scrapes without a token, as it does /healthz: the series name no customer data, only ids and counts. */
export function metricsRoutes(deps: ApiDeps): Router {
  const registry = createMetricsRegistry(deps);
  const router = Router();
  router.get('/metrics', async (_req, res) => {
    res.type(registry.contentType).send(await registry.metrics());
  });
  return router;
}
