import { Router } from 'express';
import { z } from 'zod';
import { ensureWebhookSubscriptions, wantedSubscriptions, WebhooksApiError } from '../../hubspot/webhook-subscriptions.js';
import type { ApiDeps } from '../app.js';
import { HttpError, parseInput } from '../errors.js';
import { WEBHOOK_PATH } from './webhooks.js';

/** `POST /webhooks/subscriptions` (operator): points the app's webhooks at this service and subscribes what sync needs; safe to repeat. */

const propertyNames = z.array(z.string().regex(/^[a-z0-9_]+$/, 'expected a HubSpot property name')).max(500);
export const subscriptionsBody = z
  .object({
    propertyNames: z.object({ contact: propertyNames, company: propertyNames, deal: propertyNames, ticket: propertyNames }).partial().strict().optional(),
    customObjects: z
      .array(z.object({ objectTypeId: z.string().regex(/^2-\d+$/, 'expected a custom object type id, e.g. 2-123'), propertyNames: propertyNames.optional() }).strict())
      .optional(),
  })
  .strict();

export function webhookSubscriptionRoutes(deps: ApiDeps): Router {
  const router = Router();
  router.post('/webhooks/subscriptions', async (req, res) => {
    const request = parseInput(subscriptionsBody, req.body ?? {});
    const { appId, apiBaseUrl } = deps.hubspot;
    const { developerApiKey, publicBaseUrl } = deps.webhooks;
    if (appId === undefined || developerApiKey === undefined) {
      throw new HttpError(503, 'webhooks_not_configured', 'managing webhook subscriptions needs HUBSPOT_APP_ID and HUBSPOT_DEVELOPER_API_KEY');
    }
    try {
      const result = await ensureWebhookSubscriptions({ apiBaseUrl, appId, developerApiKey }, publicBaseUrl + WEBHOOK_PATH, wantedSubscriptions(request));
      res.json(result);
    } catch (error) {
      if (error instanceof WebhooksApiError) throw new HttpError(502, 'hubspot_error', error.message);
      throw error;
    }
  });
  return router;
}
