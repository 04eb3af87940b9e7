import { z } from 'zod';
import { deleteConnectionQuery } from './connection-delete.js';
import { jsonPayloads } from './routes/codec.js';
import { connectionTestReport } from './routes/connection-test.js';
import { configBody, createConnectionBody, listQuery, replaceTokenBody, resyncBody } from './routes/connections.js';
import { engagementsBody } from './routes/engagements.js';
import { fieldMappingBody } from './routes/field-mapping.js';
import { pushSettingsBody } from './routes/push-settings.js';
import { callbackQuery, installQuery } from './routes/oauth.js';
import { subscriptionsBody } from './routes/webhook-subscriptions.js';
import { batchSchema } from './webhook-events.js';

/**
 * Every route the API serves, as a contract: the schemas here are the very objects the routes
 * validate with, so the OpenAPI document (openapi.ts) cannot drift from the validation. A test
 * compares this table with the routes the Express app registers, both ways.
 */

export type Method = 'get' | 'post' | 'put' | 'patch' | 'delete';

/** How a caller proves who it is: the operator's bearer token, or the route's own means. */
export type Auth = 'operator' | 'public' | 'hubspot-signature' | 'oauth-state';

export interface RouteContract {
  method: Method;
  /** Express syntax: `/connections/:id`. */
  path: string;
  summary: string;
  auth: Auth;
  query?: z.ZodObject;
  body?: z.ZodType;
  success: { status: number; description: string; schema?: z.ZodType; contentType?: string };
  /** Error statuses besides 500, each answered with the error envelope. */
  errors: number[];
}

const ok = (description: string, schema?: z.ZodType) => ({ status: 200, description, ...(schema ? { schema } : {}) });
/** Management routes on one connection: no token, no such connection. */
const ON_CONNECTION = [401, 404];

export const ROUTES: RouteContract[] = [
  { method: 'get', path: '/healthz', summary: 'Liveness', auth: 'public', success: ok('the process answers', z.object({ status: z.literal('ok') })), errors: [] },
  { method: 'get', path: '/readyz', summary: 'Readiness: PostgreSQL and Temporal reachable (503 otherwise, with the same body)', auth: 'public', success: ok('ready'), errors: [] },
  { method: 'get', path: '/metrics', summary: 'Prometheus metrics', auth: 'public', success: { status: 200, description: 'Prometheus text format', contentType: 'text/plain' }, errors: [] },
  { method: 'get', path: '/openapi.json', summary: 'This document', auth: 'public', success: ok('the OpenAPI 3.1 document'), errors: [] },
  ...(['decode', 'encode'] as const).map(
    (direction): RouteContract => ({
      method: 'post',
      path: `/codec/${direction}`,
      summary: `Temporal Web UI codec: ${direction} payloads (CORS for the Web UI's origin)`,
      auth: 'operator',
      body: jsonPayloads,
      success: ok(`the ${direction}d payloads`, jsonPayloads),
      errors: [400, 401],
    }),
  ),
  { method: 'get', path: '/oauth/install', summary: 'Starts an OAuth install: redirects to HubSpot with a single-use state bound to a cookie', auth: 'public', query: installQuery, success: { status: 302, description: "redirect to HubSpot's authorize page" }, errors: [400, 503] },
  { method: 'get', path: '/oauth/callback', summary: "HubSpot's redirect back: exchanges the code, then creates or reauthorizes the connection (201 or 200)", auth: 'oauth-state', query: callbackQuery, success: { status: 201, description: 'connection created (200 when an existing one was reauthorized)' }, errors: [400, 502, 503] },
  { method: 'post', path: '/webhooks/hubspot', summary: "HubSpot's signed event batches, signalled to each live connection of the portal", auth: 'hubspot-signature', body: batchSchema.shape.events, success: ok('{ accepted, ignored, unknownPortals }'), errors: [400, 401, 503] },
  { method: 'post', path: '/webhooks/subscriptions', summary: "Points the app's webhooks at this service and subscribes what sync needs (idempotent)", auth: 'operator', body: subscriptionsBody, success: ok('{ targetUrl, targetUrlChanged, created, reactivated, unchanged }'), errors: [400, 401, 502, 503] },
  { method: 'post', path: '/connections', summary: 'Creates a private-app connection and starts its workflow', auth: 'operator', body: createConnectionBody, success: { status: 201, description: '{ id, portalId, workflowId }' }, errors: [400, 401] },
  { method: 'get', path: '/connections', summary: 'Lists connections, filtered and paged', auth: 'operator', query: listQuery, success: ok('{ connections, next }'), errors: [400, 401] },
  { method: 'get', path: '/connections/:id', summary: "A connection with its workflow's live status and rate budget", auth: 'operator', success: ok('the connection'), errors: ON_CONNECTION },
  { method: 'patch', path: '/connections/:id', summary: "Changes the connection's configuration", auth: 'operator', body: configBody, success: ok("the workflow's status view"), errors: [400, ...ON_CONNECTION, 409] },
  { method: 'delete', path: '/connections/:id', summary: 'Stops the workflow, revokes OAuth tokens, forgets the tokens (and with purge the mirror)', auth: 'operator', query: deleteConnectionQuery, success: ok('{ id, status, purged, revoked }'), errors: [400, ...ON_CONNECTION, 502, 504] },
  ...(['pause', 'resume', 'stop'] as const).map(
    (action): RouteContract => ({ method: 'post', path: `/connections/:id/${action}`, summary: `${action[0]!.toUpperCase()}${action.slice(1)}s the connection`, auth: 'operator', success: ok("the workflow's status view"), errors: [...ON_CONNECTION, 409] }),
  ),
  { method: 'put', path: '/connections/:id/token', summary: "Replaces a private app's access token (checked with HubSpot, same portal); a connection in reauth_required resumes", auth: 'operator', body: replaceTokenBody, success: ok('{ id, portalId, workflowId }'), errors: [400, ...ON_CONNECTION, 409] },
  { method: 'post', path: '/connections/:id/resync', summary: 'Syncs again: everything, one object type, or what changed since a time', auth: 'operator', body: resyncBody, success: ok("the workflow's status view"), errors: [400, ...ON_CONNECTION, 409] },
  { method: 'post', path: '/connections/:id/test', summary: 'Checks the token, scopes, readable object types and webhook subscriptions', auth: 'operator', success: ok('a report per check, whether or not they pass', connectionTestReport), errors: ON_CONNECTION },
  { method: 'post', path: '/connections/:id/engagements', summary: 'Email engagement events for the push to HubSpot', auth: 'operator', body: engagementsBody, success: { status: 202, description: '{ accepted, duplicates, pushScheduled }' }, errors: [400, ...ON_CONNECTION, 409] },
  { method: 'get', path: '/connections/:id/engagements/status', summary: "The engagement outbox and the push workflow's view", auth: 'operator', success: ok('{ outbox, workflow }'), errors: ON_CONNECTION },
  { method: 'get', path: '/connections/:id/engagements/settings', summary: "The engagement push's scoring and hot-lead trigger settings, and its set-up in HubSpot", auth: 'operator', success: ok('{ settings, setup: { timelineTemplateId, verifiedAt } }'), errors: ON_CONNECTION },
  { method: 'put', path: '/connections/:id/engagements/settings', summary: "Replaces the engagement push's settings (fields left out take their defaults)", auth: 'operator', body: pushSettingsBody, success: ok('{ settings, setup, pushScheduled }'), errors: [400, ...ON_CONNECTION, 409, 502] },
  { method: 'get', path: '/connections/:id/field-mapping', summary: 'The field mapping in force, defaults included', auth: 'operator', success: ok('{ mappings }'), errors: ON_CONNECTION },
  { method: 'put', path: '/connections/:id/field-mapping', summary: "Replaces the connection's field mapping", auth: 'operator', body: fieldMappingBody, success: ok('{ mappings }'), errors: [400, ...ON_CONNECTION, 409, 502] },
];
