import { Router } from 'express';
import { z } from 'zod';
import { DEFAULT_SCORING_RULES, PUSHED_PROPERTIES } from '../../activities/engagement-score.js';
import { withAccessToken } from '../../activities/tokens.js';
import { DEFAULT_PUSH_SETTINGS, readPushSettings, writePushSettings, type PushSettings } from '../../db/push-settings.js';
import { createHubSpotClient } from '../../hubspot/client.js';
import { classifyHubSpotError } from '../../hubspot/errors.js';
import type { ApiDeps } from '../app.js';
import { refuseWhenStopped, schedulePush } from '../engagement-push-control.js';
import { findConnection } from '../find-connection.js';
import { HttpError, parseInput } from '../errors.js';

/** GET/PUT /connections/:id/engagements/settings: lead scoring and the hot-lead trigger of the engagement push. */

const HUBSPOT_NAME = /^[a-z][a-z0-9_]*$/;
const scoreDelta = z.number().int().min(-1_000).max(1_000);

export const pushSettingsBody = z
  .object({
    propertyPrefix: z.string().max(30).regex(HUBSPOT_NAME, 'expected lower-case letters, digits and underscores, starting with a letter').default(DEFAULT_PUSH_SETTINGS.propertyPrefix),
    // Deltas per event type; an unsubscribe is no delta: it sets the score to 0 for good.
    scoringRules: z
      .object({ sent: scoreDelta, opened: scoreDelta, clicked: scoreDelta, replied: scoreDelta, bounced: scoreDelta })
      .partial()
      .strict()
      .default({}),
    scoreThreshold: z.number().int().min(1).max(1_000_000).default(DEFAULT_PUSH_SETTINGS.scoreThreshold),
    enrolWorkflowId: z.string().regex(/^\d{1,20}$/, 'expected the id of a HubSpot workflow (digits)').nullable().default(null),
    triggerProperty: z.string().max(100).regex(HUBSPOT_NAME, 'expected the internal name of a HubSpot contact property').default(DEFAULT_PUSH_SETTINGS.triggerProperty),
    triggerValue: z.string().min(1, 'required').max(1_000).default(DEFAULT_PUSH_SETTINGS.triggerValue),
  })
  .strict()
  .superRefine((s, ctx) => {
    if (PUSHED_PROPERTIES.some((name) => `${s.propertyPrefix}${name}` === s.triggerProperty)) {
      ctx.addIssue({ code: 'custom', path: ['triggerProperty'], message: `${s.triggerProperty} is written by the push itself` });
    }
  });

export function pushSettingsRoutes(deps: ApiDeps): Router {
  const { pool } = deps;
  const router = Router();
  const path = '/connections/:id/engagements/settings';

  /**
   * The trigger property must be one HubSpot lets us set to the trigger value: otherwise every hot
   * lead's upsert would be refused. Checked through HubSpot's Properties API, now.
   */
  async function checkTriggerProperty(connectionId: string, name: string, value: string): Promise<void> {
    let property: { type: string; fieldType: string; options: Array<{ value: string }>; modificationMetadata?: { readOnlyValue?: boolean } } | undefined;
    try {
      property = await withAccessToken(deps, connectionId, async (token) => {
        try {
          return await createHubSpotClient(deps.hubspot.apiBaseUrl, token).crm.properties.coreApi.getByName('contacts', name);
        } catch (error) {
          if ((error as { code?: unknown }).code === 404) return undefined;
          throw error;
        }
      });
    } catch (error) {
      throw new HttpError(502, 'hubspot_error', `could not read the portal's property ${name}: ${classifyHubSpotError(error).message}`);
    }
    if (!property) throw new HttpError(400, 'unknown_property', `triggerProperty: unknown HubSpot property ${name} on contacts`);
    if (property.modificationMetadata?.readOnlyValue) throw new HttpError(400, 'invalid_request', `triggerProperty: ${name} is read-only in HubSpot`);
    const allowed = property.options.map((o) => o.value);
    const values = property.fieldType === 'checkbox' ? value.split(';') : [value];
    if (property.type === 'enumeration' && allowed.length > 0 && !values.every((v) => allowed.includes(v))) {
      throw new HttpError(400, 'invalid_request', `triggerValue: ${value} is not an option of ${name} (one of ${allowed.join(', ')})`);
    }
  }

  /** The settings in force (defaults where none were set) and the state of the set-up in HubSpot. */
  async function view(connectionId: string) {
    const { timelineTemplateId, setupAt, ...settings } = await readPushSettings(pool, connectionId);
    return { settings, setup: { timelineTemplateId, verifiedAt: setupAt } };
  }

  router.get(path, async (req, res) => {
    const connection = await findConnection(pool, req);
    res.json(await view(connection.id));
  });

  /**
   * Replaces the settings; fields left out take their defaults. Applies to events pushed from now
   * on (aggregates are not recomputed); a new prefix makes the push set its properties up first.
   */
  router.put(path, async (req, res) => {
    const connection = await findConnection(pool, req);
    const body = parseInput(pushSettingsBody, req.body ?? {});
    refuseWhenStopped(connection, 'change the engagement settings');
    const settings: PushSettings = { ...body, scoringRules: { ...DEFAULT_SCORING_RULES, ...body.scoringRules } };
    if (settings.enrolWorkflowId === null) await checkTriggerProperty(connection.id, settings.triggerProperty, settings.triggerValue);
    await writePushSettings(pool, connection.id, settings);
    const pushScheduled = await schedulePush(deps, connection);
    res.json({ ...(await view(connection.id)), pushScheduled });
  });

  return router;
}
