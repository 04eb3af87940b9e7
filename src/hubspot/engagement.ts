// The HubSpot calls of the engagement push (HUBSPOT.md §1, §3, §9, §10), through the official
// client so every request passes the portal's rate budget. Each function is one request, except
// the set-up helpers, which read first and create or repair only what is missing.
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

export interface PropertySetup {
  /** Group and properties created now. */
  created: number;
  /** Ours, archived in HubSpot: a property of that name cannot be created again until it is restored. */
  archived: string[];
}

/** The property group and the custom contact properties: creates what is missing. */
export async function ensureContactProperties(client: Client, prefix: string): Promise<PropertySetup> {
  const groupName = propertyGroupName(prefix);
  const groups = await client.crm.properties.groupsApi.getAll('contacts');
  let created = 0;
  if (!groups.results.some((g) => g.name === groupName)) {
    await client.crm.properties.groupsApi.create('contacts', { name: groupName, label: 'Email engagement (hubsync)' });
    created++;
  }
  const existing = new Set((await client.crm.properties.coreApi.getAll('contacts')).results.map((p) => p.name));
  const missing = Object.keys(PROPERTY_SHAPES).filter((name) => !existing.has(`${prefix}${name}`));
  if (missing.length === 0) return { created, archived: [] };
  const archivedNames = new Set((await client.crm.properties.coreApi.getAll('contacts', true)).results.map((p) => p.name));
  const archived = missing.map((name) => `${prefix}${name}`).filter((name) => archivedNames.has(name));
  const inputs = missing
    .filter((name) => !archivedNames.has(`${prefix}${name}`))
    .map((name) => ({ ...PROPERTY_SHAPES[name as keyof typeof PROPERTY_SHAPES], name: `${prefix}${name}`, groupName }) as PropertyCreate);
  if (inputs.length > 0) await client.crm.properties.batchApi.create('contacts', { inputs });
  return { created: created + inputs.length, archived };
}

export interface TemplateAccess {
  apiBaseUrl: string;
  appId: number;
  /** Templates belong to the app and take its developer API key (absent: the simulator does not ask). */
  developerApiKey: string | undefined;
}

interface TemplateToken {
  name: string;
  label: string;
  type: string;
}

interface EventTemplate {
  id: string;
  name: string;
  objectType: string;
  headerTemplate?: string;
  detailTemplate?: string;
  tokens?: TemplateToken[];
}

const HEADER_TEMPLATE = 'Email {{action}}: {{subject}}';
const DETAIL_TEMPLATE = 'Campaign {{campaign}}{{#if url}} — {{url}}{{/if}}';
const ourToken = (name: string): TemplateToken => ({ name, label: name, type: 'string' });

/** The template's tokens with ours added where missing or of another type; null when nothing is missing. */
function repairedTokens(template: EventTemplate): TemplateToken[] | null {
  const tokens = template.tokens ?? [];
  const fine = (name: string) => tokens.some((t) => t.name === name && t.type === 'string');
  if (TEMPLATE_TOKENS.every(fine)) return null;
  return [...tokens.filter((t) => !(TEMPLATE_TOKENS as readonly string[]).includes(t.name)), ...TEMPLATE_TOKENS.map(ourToken)];
}

/**
 * The app's timeline template for email activity, verified: found by name and its tokens checked
 * (an event whose token the template lacks is refused), updated when one is missing, created when
 * the template is. Templates are per app, not per portal, and are managed with the developer key,
 * so these calls are outside any portal's rate budget.
 */
export async function ensureTimelineTemplate(access: TemplateAccess): Promise<string> {
  const templatesUrl = (id?: string) => {
    const url = new URL(`${access.apiBaseUrl}/integrators/timeline/v3/${access.appId}/event-templates${id === undefined ? '' : `/${encodeURIComponent(id)}`}`);
    if (access.developerApiKey) url.searchParams.set('hapikey', access.developerApiKey);
    return url;
  };
  const send = async (url: URL, method: string, body?: unknown): Promise<EventTemplate | { results: EventTemplate[] }> => {
    const response = await fetch(url, { method, ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }) });
    if (!response.ok) throw await responseFailure(response);
    return (await response.json()) as EventTemplate | { results: EventTemplate[] };
  };
  const list = (await send(templatesUrl(), 'GET')) as { results: EventTemplate[] };
  const found = list.results.find((t) => t.name === TEMPLATE_NAME && t.objectType === 'contacts');
  if (found) {
    const tokens = repairedTokens(found);
    if (tokens !== null) {
      await send(templatesUrl(found.id), 'PUT', {
        id: found.id,
        name: found.name,
        headerTemplate: found.headerTemplate ?? HEADER_TEMPLATE,
        detailTemplate: found.detailTemplate ?? DETAIL_TEMPLATE,
        tokens,
      });
    }
    return found.id;
  }
  const created = (await send(templatesUrl(), 'POST', {
    name: TEMPLATE_NAME,
    objectType: 'contacts',
    headerTemplate: HEADER_TEMPLATE,
    detailTemplate: DETAIL_TEMPLATE,
    tokens: TEMPLATE_TOKENS.map(ourToken),
  })) as EventTemplate;
  return created.id;
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

/** Legacy workflow enrolment (HUBSPOT.md §10), not in the generated client. */
export async function enrolInWorkflow(client: Client, workflowId: string, email: string): Promise<Response> {
  return client.apiRequest({ method: 'POST', path: `/automation/v2/workflows/${encodeURIComponent(workflowId)}/enrollments/contacts/${encodeURIComponent(email)}` });
}
