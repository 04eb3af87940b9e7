import { Router } from 'express';
import type { ApiDeps } from '../app.js';

/**
 * How long readiness waits for each dependency. An unreachable Temporal keeps the SDK retrying
 * for about 20 s, and a black-holed PostgreSQL host forever: a probe must answer 503 long before
 * an orchestrator's own probe timeout gives up on it.
 */
export const READINESS_PROBE_MS = 3_000;

async function probe(check: () => Promise<unknown>, timeoutMs: number): Promise<string> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    await Promise.race([check(), timeout]);
    return 'ok';
  } catch (error) {
    return `unavailable: ${error instanceof Error ? error.message : String(error)}`;
  } finally {
    clearTimeout(timer);
  }
}

export function healthRoutes({ pool, temporal }: ApiDeps): Router {
  const router = Router();
  router.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  router.get('/readyz', async (_req, res) => {
    const [postgres, temporalStatus] = await Promise.all([
      probe(() => pool.query('select 1'), READINESS_PROBE_MS),
      // The deadline also ends the SDK's own retries of the call.
      probe(() => temporal.withDeadline(Date.now() + READINESS_PROBE_MS, () => temporal.workflowService.getSystemInfo({})), READINESS_PROBE_MS),
    ]);
    const ready = postgres === 'ok' && temporalStatus === 'ok';
    res.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'not_ready', checks: { postgres, temporal: temporalStatus } });
  });
  return router;
}
