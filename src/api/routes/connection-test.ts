import { Router } from 'express';
import { z } from 'zod';
import type { ApiDeps } from '../app.js';
import { checkSchema, runConnectionChecks } from '../connection-checks.js';
import { findConnection } from '../find-connection.js';

/** Longest an operator waits for the checks, permits from the portal's budget included. */
const TEST_DEADLINE_MS = 30_000;

export const connectionTestReport = z.object({
  connectionId: z.uuid(),
  /** Every check passed. */
  ok: z.boolean(),
  checks: z.array(checkSchema),
});

/** `POST /connections/:id/test` (operator): 200 with a report whether or not the checks pass; 404 for an unknown id. */
export function connectionTestRoutes(deps: ApiDeps): Router {
  const router = Router();
  router.post('/connections/:id/test', async (req, res) => {
    const connection = await findConnection(deps.pool, req);
    const checks = await runConnectionChecks(deps, connection, AbortSignal.timeout(TEST_DEADLINE_MS));
    const report: z.infer<typeof connectionTestReport> = { connectionId: connection.id, ok: checks.every((check) => check.ok), checks };
    deps.log.info({ connectionId: connection.id, ok: report.ok, failed: checks.filter((c) => !c.ok).map((c) => c.name) }, 'connection tested');
    res.json(report);
  });
  return router;
}
