import type { WebhookAction, WebhookEvent } from './definitions.js';

/**
 * What a webhook event means for the mirror: which records to re-read. Pure functions, safe in
 * workflow code, unit-tested on their own.
 */

const TYPE_BY_PREFIX: Record<string, string> = { contact: 'contacts', company: 'companies', deal: 'deals', ticket: 'tickets' };
const TYPE_BY_ID: Record<string, string> = { '0-1': 'contacts', '0-2': 'companies', '0-3': 'deals', '0-5': 'tickets' };
const TYPE_BY_ASSOCIATION_SIDE: Record<string, string> = { CONTACT: 'contacts', COMPANY: 'companies', DEAL: 'deals', TICKET: 'tickets' };

/** HubSpot says an event id alone is not unique: this triple is (HUBSPOT.md §8). */
export function eventKey(event: WebhookEvent): string {
  return `${event.subscriptionId}:${event.eventId}:${event.occurredAt}`;
}

/** `object.*` events name the type by id: a custom object may be configured by its fully qualified name. */
function objectTypeOf(event: WebhookEvent, customTypeIds: Readonly<Record<string, string>>): string | undefined {
  const prefix = event.subscriptionType.split('.')[0] ?? '';
  if (prefix === 'object') return event.objectTypeId ? (TYPE_BY_ID[event.objectTypeId] ?? customTypeIds[event.objectTypeId] ?? event.objectTypeId) : undefined;
  return TYPE_BY_PREFIX[prefix];
}

export interface Touched {
  objectType: string;
  id: string;
  /** GDPR deletion: purge the local copy's personal data. */
  purge?: boolean;
  /** Restored: the records on the other end of its edges get them back too. */
  restore?: boolean;
}

/** The records an event touched, among the connection's object types. */
export function touchedRecords(event: WebhookEvent, objectTypes: readonly string[], customTypeIds: Readonly<Record<string, string>> = {}): Touched[] {
  const type = objectTypeOf(event, customTypeIds);
  const action = event.subscriptionType.split('.')[1] ?? '';
  const touched: Touched[] = [];
  if (action === 'associationChange') {
    // e.g. CONTACT_TO_COMPANY (or CONTACT_TO_COMPANY_UNLABELED): both ends get re-read, so each
    // side's mirrored associations are current.
    const [, fromSide, toSide] = /^([A-Z]+)_TO_([A-Z]+)/.exec(event.associationType ?? '') ?? [];
    const fromType = TYPE_BY_ASSOCIATION_SIDE[fromSide ?? ''] ?? type;
    const toType = TYPE_BY_ASSOCIATION_SIDE[toSide ?? ''];
    if (fromType && event.fromObjectId) touched.push({ objectType: fromType, id: event.fromObjectId });
    if (toType && event.toObjectId) touched.push({ objectType: toType, id: event.toObjectId });
  } else if (type && action === 'merge') {
    // The surviving record lists what it absorbed (hs_merged_object_ids): re-reading it is enough.
    touched.push({ objectType: type, id: event.newObjectId ?? event.primaryObjectId ?? event.objectId });
  } else if (type) {
    touched.push({ objectType: type, id: event.objectId, ...(action === 'privacyDeletion' ? { purge: true } : action === 'restore' ? { restore: true } : {}) });
  }
  return touched.filter((t) => objectTypes.includes(t.objectType));
}

/** What re-reading a record must do when several events touched it: a purge outranks a restore, a restore a plain read. */
export function strongerAction(current: WebhookAction | undefined, touched: Touched): WebhookAction {
  const next: WebhookAction = touched.purge ? 'purge' : touched.restore ? 'restore' : 'read';
  const rank = { read: 0, restore: 1, purge: 2 } as const;
  return current !== undefined && rank[current] > rank[next] ? current : next;
}
