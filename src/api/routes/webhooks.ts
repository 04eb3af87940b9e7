import { WorkflowNotFoundError } from '@temporalio/client';
import express, { Router } from 'express';
import { webhookEventsSignal, type WebhookEvent } from '../../workflows/definitions.js';
import type { ApiDeps } from '../app.js';
import { HttpError } from '../errors.js';
import type { LiveConnection } from '../../db/connections.js';
import { cachedPortalConnections } from '../portal-connections.js';
import { signalLanes } from '../signal-lanes.js';
import { ownWriteEchoes } from '../../db/write-ledger.js';
import { requireHubSpotSignature } from '../webhook-auth.js';
import { forWorkflow, groupByPortal, parseWebhookBatch } from '../webhook-events.js';

/**
 * `POST /webhooks/hubspot`: HubSpot's signed event batches become one `webhookEvents` signal per
 * live connection of each portal. Authenticated by signature, not the operator token. The request
 * path only reads (which connections a portal has) and signals: the workflows do the work, so
 * the answer comes well inside HubSpot's 5 s, and only once Temporal holds every event.
 */

export const WEBHOOK_PATH = '/webhooks/hubspot';
const CONNECTIONS_TTL_MS = 1_000;
// Under HubSpot's 5 s timeout: a slow Temporal gets a 503 (HubSpot retries) rather than a timeout.
const SIGNAL_DEADLINE_MS = 4_000;

export interface WebhookAnswer {
  /** Events signalled to at least one connection. */
  accepted: number;
  /** Events acknowledged without a connection to take them (HubSpot would retry a 4xx for a day). */
  ignored: number;
  unknownPortals: number[];
}

export function webhookRoutes(deps: ApiDeps): Router {
  const { temporal, hubspot, webhooks, log } = deps;
  const connectionsOf = cachedPortalConnections(deps.pool, CONNECTIONS_TTL_MS);
  const inLane = signalLanes();
  const router = Router();

  router.post(WEBHOOK_PATH, express.raw({ type: '*/*', limit: '1mb' }), async (req, res) => {
    const secret = hubspot.clientSecret;
    if (!secret) throw new HttpError(503, 'webhooks_not_configured', 'webhooks are signed with the app secret: set HUBSPOT_CLIENT_SECRET');
    const rawBody = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    requireHubSpotSignature(req, rawBody, { secret, webhooks, now: Date.now() });
    const events = parseWebhookBatch(rawBody);

    // From the request's start: time spent queued behind other requests' signals counts too.
    const deadline = Date.now() + SIGNAL_DEADLINE_MS;
    const outcomes = await Promise.all([...groupByPortal(events)].map(([portalId, portalEvents]) => deliver(portalId, portalEvents, deadline)));
    const answer: WebhookAnswer = { accepted: 0, ignored: 0, unknownPortals: [] };
    for (const outcome of outcomes) {
      if (outcome.delivered) answer.accepted += outcome.events;
      else {
        answer.ignored += outcome.events;
        answer.unknownPortals.push(outcome.portalId);
      }
    }
    res.json(answer);
  });

  /** Signals every live connection of the portal; throws 503 if Temporal did not take a signal. */
  async function deliver(portalId: number, events: WebhookEvent[], deadline: number): Promise<{ portalId: number; events: number; delivered: boolean }> {
    const connections = await connectionsOf(portalId);
    const results = await Promise.allSettled(
      connections.map(async (connection) => {
        const { workflowId } = connection;
        const news = await withoutOwnEchoes(connection, events);
        if (news.length === 0) return;
        const signalled = news.map(forWorkflow);
        await inLane(workflowId, () => temporal.withDeadline(deadline, () => temporal.workflow.getHandle(workflowId).signal(webhookEventsSignal, signalled)));
      }),
    );
    let delivered = false;
    results.forEach((result, i) => {
      if (result.status === 'fulfilled') delivered = true;
      else if (result.reason instanceof WorkflowNotFoundError) {
        // Live in PostgreSQL, gone in Temporal: retrying would not bring it back.
        log.warn({ portalId, connectionId: connections[i]?.id }, 'webhook events for a connection whose workflow is not running acknowledged');
      } else {
        log.error({ portalId, connectionId: connections[i]?.id, err: result.reason }, 'webhook signal failed');
        throw new HttpError(503, 'temporal_unavailable', 'the events could not be handed to Temporal: retry later');
      }
    });
    if (!delivered) log.info({ portalId, events: events.length }, 'webhook events for a portal with no live connection acknowledged');
    return { portalId, events: events.length, delivered };
  }

  /**
   * Loop prevention: a propertyChange HubSpot says our own OAuth app made (its `sourceId`), or that
   * carries the value hubsync itself last wrote (the ledger: private apps are not named), is HubSpot
   * echoing our write-back; acting on it would cost a HubSpot read and could overwrite newer local
   * values. Creations stay: a contact the push created must reach the mirror.
   */
  async function withoutOwnEchoes({ id: connectionId, appId }: LiveConnection, all: WebhookEvent[]): Promise<WebhookEvent[]> {
    const byOurApp = (event: WebhookEvent) => appId !== null && event.sourceId === String(appId) && event.subscriptionType.endsWith('.propertyChange');
    const events = all.filter((event) => !byOurApp(event));
    const changes = events.map((event) => ({
      objectType: OBJECT_TYPE_OF_EVENT[event.subscriptionType.split('.')[0] ?? ''] ?? '',
      objectId: event.objectId,
      property: event.propertyName ?? '',
      value: event.propertyValue ?? '',
    }));
    const candidates = events.map((event, i) => event.subscriptionType.endsWith('.propertyChange') && changes[i]!.objectType !== '');
    const echoes = await ownWriteEchoes(deps.pool, connectionId, changes.filter((_, i) => candidates[i]));
    let next = 0;
    const kept = events.filter((_, i) => !(candidates[i] && echoes[next++]));
    if (kept.length < all.length) log.info({ connectionId, echoes: all.length - kept.length }, 'echoes of our own writes dropped');
    return kept;
  }

  return router;
}

const OBJECT_TYPE_OF_EVENT: Record<string, string> = { contact: 'contacts', company: 'companies', deal: 'deals', ticket: 'tickets' };
