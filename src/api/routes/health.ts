import { Router } from 'express';
import type { ApiDeps } from '../app.js';

export function healthRoutes({ pool, temporal }: ApiDeps): Router {
  const router = Router();
  router.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  router.get('/readyz', async (_req, res) => {
    const check = async (probe: () => Promise<unknown>) =>
      probe().then(
        () => 'ok',
        (error: unknown) => `unavailable: ${error instanceof Error ? error.message : String(error)}`,
      );
    const [postgres, temporalStatus] = await Promise.all([
      check(() => pool.query('select 1')),
      check(() => temporal.workflowService.getSystemInfo({})),
    ]);
    const ready = postgres === 'ok' && temporalStatus === 'ok';
    res.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'not_ready', checks: { postgres, temporal: temporalStatus } });
  });
  return router;
}
