import type { Client } from '@hubspot/api-client';
import { z } from 'zod';
import { budgetHooks } from '../activities/hubspot-session.js';
import { withAccessToken } from '../activities/tokens.js';
import type { ConnectionRow } from '../db/connections.js';
import { createHubSpotClient, type RequestHooks } from '../hubspot/client.js';
import { classifyHubSpotError } from '../hubspot/errors.js';
import { defaultTier } from '../hubspot/rate-budget.js';
import { tokenInfo } from '../hubspot/oauth.js';
import { missingReadScopes } from '../hubspot/scopes.js';
import { keyOf, readWebhookSetup, wantedSubscriptions, WebhooksApiError } from '../hubspot/webhook-subscriptions.js';
import type { ApiDeps } from './app.js';
import { WEBHOOK_PATH } from './routes/webhooks.js';

/**
 * What a support engineer checks when a connection misbehaves (POST /connections/:id/test): the
 * token works, its scopes cover the configured object types, each type is readable, and the app's
 * webhook subscriptions exist. Every detail is HubSpot's own message or ours; none names a secret.
 */

export const checkSchema = z.object({
  name: z.string().meta({ examples: ['token', 'scopes', 'read contacts', 'webhooks'] }),
  ok: z.boolean(),
  detail: z.string(),
  /** Not run: an earlier check failed, or what it needs is not configured. */
  skipped: z.boolean().optional(),
});
export type Check = z.infer<typeof checkSchema>;

export type CheckDeps = Pick<ApiDeps, 'pool' | 'cipher' | 'hubspot' | 'log' | 'budget' | 'webhooks'>;

const SKIPPED_NO_TOKEN = 'skipped: the token does not work';

export async function runConnectionChecks(deps: CheckDeps, connection: ConnectionRow, signal: AbortSignal): Promise<Check[]> {
  // The calls count against the portal's shared budget like the sync's; an operator is waiting, so
  // they go first. The tier lives in the workflow: the default a new connection gets is used.
  const context = {
    connectionId: connection.id,
    portalId: connection.portalId,
    appId: connection.appId,
    tier: defaultTier(connection.authType),
    priority: 'realtime',
  } as const;
  const hooks = budgetHooks(deps.budget, context, () => 'general', () => signal);
  const { check: token, accessToken } = await tokenCheck(deps, connection, hooks);
  if (accessToken === undefined) {
    const skipped = ['scopes', ...connection.objectTypes.map((type) => `read ${type}`)].map((name) => ({ name, ok: false, skipped: true, detail: SKIPPED_NO_TOKEN }));
    return [token, ...skipped, await webhooksCheck(deps, connection)];
  }
  const client = createHubSpotClient(deps.hubspot.apiBaseUrl, accessToken, hooks);
  const reads: Read[] = [];
  for (const type of connection.objectTypes) reads.push(await readCheck(client, type));
  const scopes = connection.authType === 'oauth' ? await oauthScopesCheck(deps, accessToken, connection.objectTypes) : privateAppScopesCheck(reads);
  return [token, scopes, ...reads.map((read) => read.check), await webhooksCheck(deps, connection)];
}

/**
 * The account details, the one endpoint any token may read, through the same token path as the
 * sync (an OAuth token HubSpot calls expired is refreshed once). Returns the token that worked.
 */
async function tokenCheck(deps: CheckDeps, connection: ConnectionRow, hooks: RequestHooks): Promise<{ check: Check; accessToken?: string }> {
  const name = 'token';
  let accessToken = '';
  try {
    const response = await withAccessToken(deps, connection.id, async (token) => {
      accessToken = token;
      return createHubSpotClient(deps.hubspot.apiBaseUrl, token, hooks).apiRequest({ method: 'GET', path: '/account-info/v3/details' });
    });
    const text = await response.text();
    if (!response.ok) {
      return { check: { name, ok: false, detail: classifyHubSpotError({ code: response.status, body: text, headers: Object.fromEntries(response.headers) }).message } };
    }
    const portalId = (JSON.parse(text) as { portalId?: unknown }).portalId;
    if (portalId !== connection.portalId) {
      return { check: { name, ok: false, detail: `the token belongs to portal ${String(portalId)}, not the connection's portal ${connection.portalId}` } };
    }
    return { check: { name, ok: true, detail: `HubSpot accepted the token: account details of portal ${portalId}` }, accessToken };
  } catch (error) {
    // No stored token (a stopped connection), a refresh HubSpot refused, the budget, the network.
    return { check: { name, ok: false, detail: classifyHubSpotError(error).message } };
  }
}

interface Read {
  objectType: string;
  check: Check;
  /** HubSpot's status when it refused. */
  status?: number | undefined;
}

/** A one-record list: what the sync's first page does, with the scopes it needs. */
async function readCheck(client: Client, objectType: string): Promise<Read> {
  const name = `read ${objectType}`;
  try {
    const page = await client.crm.objects.basicApi.getPage(objectType, 1);
    return { objectType, check: { name, ok: true, detail: page.results.length > 0 ? 'listed a record' : 'listed: no records yet' } };
  } catch (error) {
    const info = classifyHubSpotError(error);
    return { objectType, check: { name, ok: false, detail: info.message }, status: info.details.status };
  }
}

/** OAuth tokens: the granted scopes from HubSpot's token metadata (v3 introspection or v1). */
async function oauthScopesCheck(deps: CheckDeps, accessToken: string, objectTypes: string[]): Promise<Check> {
  const name = 'scopes';
  try {
    const { scopes } = await tokenInfo(deps.hubspot, accessToken);
    const missing = missingReadScopes(objectTypes, scopes);
    if (missing.length === 0) return { name, ok: true, detail: `granted scopes cover ${objectTypes.join(', ')}` };
    return { name, ok: false, detail: `not granted: ${missing.map((m) => `${m.scope} (for ${m.objectType})`).join(', ')}; a new install with these scopes fixes it` };
  } catch (error) {
    return { name, ok: false, detail: `could not read the token's metadata: ${error instanceof Error ? error.message : String(error)}` };
  }
}

/** HubSpot does not say which scopes a private app has: a refused read (403) is the evidence. */
function privateAppScopesCheck(reads: Read[]): Check {
  const refused = reads.filter((read) => read.status === 403).map((read) => read.objectType);
  const prefix = 'not reported by HubSpot for private-app tokens; checked by reading each object type';
  if (refused.length === 0) return { name: 'scopes', ok: true, detail: `${prefix}: none refused` };
  return { name: 'scopes', ok: false, detail: `${prefix}: HubSpot refused ${refused.join(', ')} (missing scopes)` };
}

/**
 * Subscriptions belong to the app, not the portal: the app's target URL must be this service and
 * each configured standard object type needs its active record-change subscriptions.
 */
async function webhooksCheck(deps: CheckDeps, connection: ConnectionRow): Promise<Check> {
  const name = 'webhooks';
  const { appId, apiBaseUrl } = deps.hubspot;
  const { developerApiKey, publicBaseUrl } = deps.webhooks;
  if (appId === undefined || developerApiKey === undefined) {
    return { name, ok: false, skipped: true, detail: 'not checked: reading webhook subscriptions needs HUBSPOT_APP_ID and HUBSPOT_DEVELOPER_API_KEY' };
  }
  try {
    const setup = await readWebhookSetup({ apiBaseUrl, appId, developerApiKey });
    const targetUrl = publicBaseUrl + WEBHOOK_PATH;
    if (setup.targetUrl !== targetUrl) {
      return { name, ok: false, detail: `app ${appId} sends webhooks to ${setup.targetUrl ?? 'nowhere'}, not ${targetUrl}: POST /webhooks/subscriptions sets it` };
    }
    const active = new Set(setup.subscriptions.filter((s) => s.active).map(keyOf));
    const singular = connection.objectTypes.map((type) => SINGULAR[type]).filter((type) => type !== undefined);
    const missing = wantedSubscriptions()
      .filter((want) => want.propertyName === undefined && singular.includes(want.eventType.split('.')[0]!) && !active.has(keyOf(want)))
      .map((want) => want.eventType);
    // Custom objects are subscribed by type id (2-123); the connection may name them p123_cars.
    const unchecked = connection.objectTypes.filter((type) => SINGULAR[type] === undefined);
    const note = unchecked.length > 0 ? `; custom object types not checked: ${unchecked.join(', ')}` : '';
    if (missing.length > 0) return { name, ok: false, detail: `app ${appId} lacks active subscriptions: ${missing.join(', ')} (POST /webhooks/subscriptions adds them)${note}` };
    return { name, ok: true, detail: `app ${appId} sends to ${targetUrl}; ${active.size} active subscriptions cover ${singular.join(', ') || 'no standard object'}${note}` };
  } catch (error) {
    // Only our own error's message: fetch's errors may carry the URL, and the URL the developer key.
    const detail = error instanceof WebhooksApiError ? error.message : `HubSpot's webhooks API could not be reached (${error instanceof Error ? error.name : 'failed'})`;
    return { name, ok: false, detail };
  }
}

const SINGULAR: Record<string, string> = { contacts: 'contact', companies: 'company', deals: 'deal', tickets: 'ticket' };
