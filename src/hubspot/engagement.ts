// The HubSpot calls of the engagement push (HUBSPOT.md §1, §3, §9, §10), through the official
// client so every request passes the portal's rate budget. Each function is one request, except
// the set-up helpers, which read first and create only what is missing.
import type { Client } from '@hubspot/api-client';
import type { PropertyCreate } from '@hubspot/api-client/lib/codegen/crm/properties/index.js';
import type { TimelineEvent } from '@hubspot/api-client/lib/codegen/crm/timeline/index.js';
import { PUSHED_PROPERTIES, type EngagementEvent } from '../activities/engagement-score.js';
import { responseFailure } from './errors.js';

export const UPSERT_BATCH = 100;
export const TIMELINE_BATCH = 500;
export const TEMPLATE_NAME = 'hubsync email engagement';
const TEMPLATE_TOKENS = ['campaign', 'subject', 'action', 'url'] as const;

const PROPERTY_SHAPES: Record<(typeof PUSHED_PROPERTIES)[number], Pick<PropertyCreate, 'label' | 'type' | 'fieldType' | 'options'>> = {
  lead_score: { label: 'Lead score', type: 'number' as never, fieldType: 'number' as never },
  total_opens: { label: 'Total email opens', type: 'number' as never, fieldType: 'number' as never },
  total_clicks: { label: 'Total email clicks', type: 'number' as never, fieldType: 'number' as never },
  last_email_opened: { label: 'Last email opened', type: 'datetime' as never, fieldType: 'date' as never },
  last_email_clicked: { label: 'Last email clicked', type: 'datetime' as never, fieldType: 'date' as never },
  unsubscribed: {
    label: 'Unsubscribed from campaigns',
    type: 'bool' as never,
    fieldType: 'booleancheckbox' as never,
    options: [
      { label: 'Yes', value: 'true', displayOrder: 0, hidden: false },
      { label: 'No', value: 'false', displayOrder: 1, hidden: false },
    ],
  },
  last_campaign: { label: 'Last email campaign', type: 'string' as never, fieldType: 'text' as never },
};

export const propertyGroupName = (prefix: string): string => `${prefix}email_engagement`;

/** The property group and the custom contact properties; creates only what is missing. Returns how many it created. */
export async function ensureContactProperties(client: Client, prefix: string): Promise<number> {
  const groupName = propertyGroupName(prefix);
  const groups = await client.crm.properties.groupsApi.getAll('contacts');
  let created = 0;
  if (!groups.results.some((g) => g.name === groupName)) {
    await client.crm.properties.groupsApi.create('contacts', { name: groupName, label: 'Email engagement (hubsync)' });
    created++;
  }
  const existing = new Set((await client.crm.properties.coreApi.getAll('contacts')).results.map((p) => p.name));
  const inputs = Object.entries(PROPERTY_SHAPES)
    .filter(([name]) => !existing.has(`${prefix}${name}`))
    .map(([name, shape]) => ({ ...shape, name: `${prefix}${name}`, groupName }) as PropertyCreate);
  if (inputs.length > 0) await client.crm.properties.batchApi.create('contacts', { inputs });
  return created + inputs.length;
}

export interface TemplateAccess {
  apiBaseUrl: string;
  appId: number;
  /** Templates belong to the app and take its developer API key (absent: the simulator does not ask). */
  developerApiKey: string | undefined;
}

/**
 * The app's timeline template for email activity, found by name or created. Templates are per app,
 * not per portal, and are managed with the developer key, so these calls are outside any portal's
 * rate budget.
 */
export async function ensureTimelineTemplate(access: TemplateAccess): Promise<string> {
  const url = new URL(`${access.apiBaseUrl}/integrators/timeline/v3/${access.appId}/event-templates`);
  if (access.developerApiKey) url.searchParams.set('hapikey', access.developerApiKey);
  const list = await fetch(url);
  if (!list.ok) throw await responseFailure(list);
  const found = ((await list.json()) as { results: Array<{ id: string; name: string; objectType: string }> }).results.find(
    (t) => t.name === TEMPLATE_NAME && t.objectType === 'contacts',
  );
  if (found) return found.id;
  const created = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      name: TEMPLATE_NAME,
      objectType: 'contacts',
      headerTemplate: 'Email {{action}}: {{subject}}',
      detailTemplate: 'Campaign {{campaign}}{{#if url}} — {{url}}{{/if}}',
      tokens: TEMPLATE_TOKENS.map((name) => ({ name, label: name, type: 'string' })),
    }),
  });
  if (!created.ok) throw await responseFailure(created);
  return ((await created.json()) as { id: string }).id;
}

export interface BatchItemError {
  category: string;
  message: string;
  /** The inputs the error names (email for upserts, event id for timeline events). */
  ids: string[];
}

function itemErrors(errors: Array<{ category: string; message: string; context?: Record<string, string[]> }> | undefined): BatchItemError[] {
  return (errors ?? []).map((e) => ({ category: e.category, message: e.message, ids: Object.values(e.context ?? {}).flat() }));
}

/** Creates missing contacts and sets properties in one request, matched by email (≤ 100). */
export async function upsertContactsByEmail(client: Client, contacts: Array<{ email: string; properties: Record<string, string> }>): Promise<{ ids: Map<string, string>; errors: BatchItemError[] }> {
  const response = await client.crm.objects.batchApi.upsert('contacts', {
    inputs: contacts.map((c) => ({ id: c.email, idProperty: 'email', properties: { ...c.properties, email: c.email } })),
  });
  const ids = new Map<string, string>();
  for (const r of response.results) {
    const email = r.properties.email?.toLowerCase();
    if (email) ids.set(email, String(r.id));
  }
  return { ids, errors: itemErrors((response as { errors?: never }).errors) };
}

/** One timeline event per engagement, its id the engagement id: a retry overwrites, never duplicates. */
export async function createTimelineEvents(client: Client, templateId: string, events: EngagementEvent[]): Promise<BatchItemError[]> {
  const inputs: TimelineEvent[] = events.map((e) => ({
    id: e.id,
    eventTemplateId: templateId,
    email: e.email,
    timestamp: new Date(e.occurredAt),
    tokens: { campaign: e.campaignName, subject: e.subject, action: e.type, ...(e.url ? { url: e.url } : {}) },
  }));
  const response = await client.crm.timeline.eventsApi.createBatch({ inputs });
  return itemErrors((response as { errors?: never } | undefined)?.errors);
}

/**
 * Legacy workflow enrolment (HUBSPOT.md §10). Not in the generated client: `apiRequest` skips the
 * client's middleware, so the caller wraps this in the budget hooks itself.
 */
export async function enrolInWorkflow(client: Client, workflowId: string, email: string): Promise<Response> {
  return client.apiRequest({ method: 'POST', path: `/automation/v2/workflows/${encodeURIComponent(workflowId)}/enrollments/contacts/${encodeURIComponent(email)}` });
}
