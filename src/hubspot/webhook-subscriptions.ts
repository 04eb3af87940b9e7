/**
 * Registers what hubsync needs from HubSpot's webhooks API (`/webhooks/v3/{appId}`, developer
 * API key as `hapikey`): the app's target URL and its event subscriptions. Idempotent: it only
 * creates what is missing and re-activates what was paused; it removes nothing, so
 * subscriptions an operator added by hand survive.
 */

export interface WantedSubscription {
  eventType: string;
  /** `*.propertyChange`: HubSpot has no "any property" subscription, one per property. */
  propertyName?: string;
  /** `object.*`: the custom object type (`2-123`). */
  objectTypeId?: string;
}

export interface HubSpotSubscription extends WantedSubscription {
  id: string;
  active: boolean;
}

export interface SubscriptionsRequest {
  /** Properties to watch per standard object; webhooks only speed sync up, the incremental sync reads every property anyway. */
  propertyNames?: Partial<Record<StandardObject, string[]>>;
  /** Custom objects (`2-123`) and the properties to watch on each. */
  customObjects?: Array<{ objectTypeId: string; propertyNames?: string[] }>;
}

export interface SubscriptionsResult {
  targetUrl: string;
  /** Whether the target URL was set or changed now. */
  targetUrlChanged: boolean;
  created: WantedSubscription[];
  reactivated: WantedSubscription[];
  /** Wanted and already active. */
  unchanged: number;
}

const STANDARD_OBJECTS = ['contact', 'company', 'deal', 'ticket'] as const;
type StandardObject = (typeof STANDARD_OBJECTS)[number];

const OBJECT_CHANGES = ['creation', 'deletion', 'merge', 'restore', 'associationChange'] as const;

/** The properties people edit most, watched when the caller names none. */
export const DEFAULT_PROPERTY_NAMES: Record<StandardObject, string[]> = {
  contact: ['email', 'firstname', 'lastname', 'phone', 'company', 'lifecyclestage', 'hubspot_owner_id'],
  company: ['name', 'domain', 'industry', 'phone', 'lifecyclestage', 'hubspot_owner_id'],
  deal: ['dealname', 'amount', 'dealstage', 'pipeline', 'closedate', 'hubspot_owner_id'],
  ticket: ['subject', 'content', 'hs_pipeline', 'hs_pipeline_stage', 'hs_ticket_priority', 'hubspot_owner_id'],
};

export function wantedSubscriptions(request: SubscriptionsRequest = {}): WantedSubscription[] {
  const wanted: WantedSubscription[] = [];
  for (const object of STANDARD_OBJECTS) {
    for (const change of OBJECT_CHANGES) wanted.push({ eventType: `${object}.${change}` });
    for (const propertyName of request.propertyNames?.[object] ?? DEFAULT_PROPERTY_NAMES[object]) {
      wanted.push({ eventType: `${object}.propertyChange`, propertyName });
    }
  }
  wanted.push({ eventType: 'contact.privacyDeletion' });
  for (const { objectTypeId, propertyNames = [] } of request.customObjects ?? []) {
    for (const change of OBJECT_CHANGES) wanted.push({ eventType: `object.${change}`, objectTypeId });
    for (const propertyName of propertyNames) wanted.push({ eventType: 'object.propertyChange', objectTypeId, propertyName });
  }
  return wanted;
}

export class WebhooksApiError extends Error {
  override name = 'WebhooksApiError';
}

export interface WebhooksApi {
  apiBaseUrl: string;
  appId: number;
  developerApiKey: string;
  fetch?: typeof fetch;
}

export async function ensureWebhookSubscriptions(api: WebhooksApi, targetUrl: string, wanted: WantedSubscription[]): Promise<SubscriptionsResult> {
  const call = caller(api);
  const settings = await call<{ targetUrl?: string; throttling?: { maxConcurrentRequests: number } }>('GET', '/settings', undefined, [404]);
  const targetUrlChanged = settings?.targetUrl !== targetUrl;
  // PUT replaces the settings: keep the throttling an operator set (HubSpot's default is 10).
  if (targetUrlChanged) await call('PUT', '/settings', { targetUrl, throttling: settings?.throttling ?? { maxConcurrentRequests: 10 } });

  const existing = (await call<{ results: HubSpotSubscription[] }>('GET', '/subscriptions'))?.results ?? [];
  const byKey = new Map(existing.map((subscription) => [keyOf(subscription), subscription]));
  const result: SubscriptionsResult = { targetUrl, targetUrlChanged, created: [], reactivated: [], unchanged: 0 };
  // One at a time: the developer API's rate limit is per account, and this runs rarely.
  for (const want of wanted) {
    const found = byKey.get(keyOf(want));
    if (!found) {
      await call('POST', '/subscriptions', { ...want, active: true });
      result.created.push(want);
    } else if (!found.active) {
      await call('PATCH', `/subscriptions/${encodeURIComponent(found.id)}`, { active: true });
      result.reactivated.push(want);
    } else result.unchanged++;
    // A subscription listed twice in `wanted` is created once.
    byKey.set(keyOf(want), { ...want, id: found?.id ?? '', active: true });
  }
  return result;
}

/** What the app has now: its target URL (undefined before any was set) and every subscription, paused ones included. */
export async function readWebhookSetup(api: WebhooksApi): Promise<{ targetUrl: string | undefined; subscriptions: HubSpotSubscription[] }> {
  const call = caller(api);
  const settings = await call<{ targetUrl?: string }>('GET', '/settings', undefined, [404]);
  const subscriptions = (await call<{ results: HubSpotSubscription[] }>('GET', '/subscriptions'))?.results ?? [];
  return { targetUrl: settings?.targetUrl, subscriptions };
}

export const keyOf = (s: WantedSubscription): string => `${s.eventType}|${s.objectTypeId ?? ''}|${s.propertyName ?? ''}`;

function caller(api: WebhooksApi) {
  const fetchFn = api.fetch ?? fetch;
  return async <T = unknown>(method: string, path: string, body?: unknown, absent: number[] = []): Promise<T | undefined> => {
    const url = new URL(`${api.apiBaseUrl}/webhooks/v3/${api.appId}${path}`);
    url.searchParams.set('hapikey', api.developerApiKey);
    const response = await fetchFn(url, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(10_000),
    });
    if (absent.includes(response.status)) return undefined;
    const text = await response.text();
    // The URL carries the developer key: errors name the method and path only.
    if (!response.ok) throw new WebhooksApiError(`HubSpot webhooks API ${method} ${path} answered ${response.status}: ${hubspotMessage(text)}`);
    return (text ? JSON.parse(text) : undefined) as T | undefined;
  };
}

function hubspotMessage(text: string): string {
  try {
    return String((JSON.parse(text) as { message?: unknown }).message ?? text.slice(0, 200));
  } catch {
    return text.slice(0, 200);
  }
}
