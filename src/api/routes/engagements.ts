import { Router } from 'express';
import { z } from 'zod';
import { insertEngagements, outboxCounts } from '../../db/engagements.js';
import { ENGAGEMENT_TYPES } from '../../activities/engagement-score.js';
import { pushStatusQuery, pushWorkflowId } from '../../workflows/engagement-definitions.js';
import type { ApiDeps } from '../app.js';
import { refuseWhenStopped, schedulePush } from '../engagement-push-control.js';
import { findConnection } from '../find-connection.js';
import { parseInput } from '../errors.js';

export const MAX_ENGAGEMENTS_PER_REQUEST = 1_000;

const engagementEvent = z
  .object({
    id: z.string().trim().min(1, 'required').max(200),
    type: z.enum(ENGAGEMENT_TYPES),
    // HubSpot matches contacts by email case-insensitively; one spelling keeps one aggregate.
    email: z.email().transform((email) => email.toLowerCase()),
    occurredAt: z.iso.datetime({ offset: true }),
    campaignId: z.string().min(1, 'required').max(200),
    campaignName: z.string().min(1, 'required').max(500),
    subject: z.string().max(1_000),
    url: z.url().max(2_000).optional(),
  })
  .strict();

/** `{ events: [...] }`: an object leaves room for batch-level fields later. */
export const engagementsBody = z.object({ events: z.array(engagementEvent).min(1).max(MAX_ENGAGEMENTS_PER_REQUEST) }).strict();

export function engagementRoutes(deps: ApiDeps): Router {
  const { pool, temporal } = deps;
  const router = Router();

  /**
   * Validates every event (a 400 names the field and index, e.g. `events.3.email`, and stores
   * nothing), stores them once by id, then wakes the push workflow — starting it if needed.
   */
  router.post('/connections/:id/engagements', async (req, res) => {
    const connection = await findConnection(pool, req);
    const { events } = parseInput(engagementsBody, req.body);
    refuseWhenStopped(connection, 'accept engagement events');
    const stored = await insertEngagements(pool, connection.id, events);
    // The events are safe in the outbox either way: without the signal the push finds them at its next look.
    const pushScheduled = await schedulePush(deps, connection);
    res.status(202).json({ ...stored, pushScheduled });
  });

  /** The outbox as PostgreSQL sees it, and the push workflow's own view. */
  router.get('/connections/:id/engagements/status', async (req, res) => {
    const connection = await findConnection(pool, req);
    const outbox = await outboxCounts(pool, connection.id);
    let workflow: unknown;
    try {
      workflow = await temporal.workflow.getHandle(pushWorkflowId(connection.id)).query(pushStatusQuery);
    } catch (error) {
      workflow = { unavailable: error instanceof Error ? error.message : String(error) };
    }
    res.json({ outbox, workflow });
  });

  return router;
}
