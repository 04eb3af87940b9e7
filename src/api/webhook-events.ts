import { z } from 'zod';
import type { WebhookEvent } from '../workflows/definitions.js';
import { HttpError, parseInput } from './errors.js';

/**
 * A HubSpot webhook batch (HUBSPOT.md §8) checked and turned into `WebhookEvent`s. The fields the
 * workflow needs to dedupe and route are required and typed; the rest are optional, and unknown
 * fields are dropped, so a field HubSpot adds later does not turn whole batches into retries.
 */

export const MAX_BATCH_EVENTS = 100;

const int = z.number().int().nonnegative();
// HubSpot sends object ids as numbers; REST ids (and `WebhookEvent`) are strings.
const objectId = z.union([int, z.string().regex(/^\d+$/, 'expected a numeric id')]).transform(String);
const text = z.union([z.string(), z.number(), z.boolean()]).transform(String);

const eventSchema = z.object({
  eventId: int,
  subscriptionId: int,
  portalId: z.number().int().positive(),
  occurredAt: int,
  subscriptionType: z.string().regex(/^[a-z_]+\.[a-zA-Z]+$/, 'expected <object>.<change>, e.g. contact.creation'),
  objectId,
  appId: int.nullish(),
  attemptNumber: int.nullish(),
  objectTypeId: z.string().nullish(),
  changeSource: z.string().nullish(),
  sourceId: text.nullish(),
  changeFlag: z.string().nullish(),
  propertyName: z.string().nullish(),
  propertyValue: text.nullish(),
  primaryObjectId: objectId.nullish(),
  mergedObjectIds: z.array(objectId).nullish(),
  newObjectId: objectId.nullish(),
  associationType: z.string().nullish(),
  fromObjectId: objectId.nullish(),
  toObjectId: objectId.nullish(),
  associationRemoved: z.boolean().nullish(),
  isPrimaryAssociation: z.boolean().nullish(),
});

// Wrapped in an object so that a problem is named `events.3.objectId`, not `3.objectId`.
export const batchSchema = z.object({
  events: z
    .array(eventSchema, { error: 'expected a JSON array of events' })
    .min(1, 'empty batch: expected 1 to 100 events')
    .max(MAX_BATCH_EVENTS, `too many events: HubSpot sends at most ${MAX_BATCH_EVENTS} per request`),
});

/** Parses the raw body: 400 `invalid_json` or `invalid_webhook` with every bad field named. */
export function parseWebhookBatch(rawBody: Buffer): WebhookEvent[] {
  let json: unknown;
  try {
    json = JSON.parse(rawBody.toString('utf8'));
  } catch {
    throw new HttpError(400, 'invalid_json', 'the request body is not valid JSON');
  }
  return parseInput(batchSchema, { events: json }, 'invalid_webhook').events.map(withoutNulls);
}

/** Drops absent optional fields, so the signal carries only what HubSpot sent. */
function withoutNulls(event: z.infer<typeof eventSchema>): WebhookEvent {
  return Object.fromEntries(Object.entries(event).filter(([, value]) => value !== null && value !== undefined)) as unknown as WebhookEvent;
}

/** Events by portal, in arrival order. */
export function groupByPortal(events: WebhookEvent[]): Map<number, WebhookEvent[]> {
  const groups = new Map<number, WebhookEvent[]>();
  for (const event of events) {
    const group = groups.get(event.portalId);
    if (group) group.push(event);
    else groups.set(event.portalId, [event]);
  }
  return groups;
}

/** What the connection workflow reads of an event: its key, what it touched, and when. */
const WORKFLOW_FIELDS = [
  'eventId', 'subscriptionId', 'portalId', 'occurredAt', 'subscriptionType', 'objectId', 'objectTypeId',
  'primaryObjectId', 'newObjectId', 'associationType', 'fromObjectId', 'toObjectId',
] as const satisfies ReadonlyArray<keyof WebhookEvent>;

/**
 * An event as signalled: only what the workflow reads. Every signal stays in the history until the
 * next continue-as-new, and under load those bytes decide how often that comes; a property's new
 * value (customer data, and the record is re-read anyway) does not belong there.
 */
export function forWorkflow(event: WebhookEvent): WebhookEvent {
  const kept: Partial<WebhookEvent> = {};
  for (const field of WORKFLOW_FIELDS) if (event[field] !== undefined) (kept as Record<string, unknown>)[field] = event[field];
  return kept as WebhookEvent;
}
