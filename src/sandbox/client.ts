// A typed client for the simulator's control API (/__sandbox/), for tests and benchmarks.
import type { GroundTruth } from './control-routes.js';
import type { FaultConfig } from './faults.js';
import type { Tier } from './rate-limits.js';
import type { LoggedRequest, RequestLogFilter } from './request-log.js';
import type { SeedOptions, SeedResult } from './seed.js';
import type { CrmBehaviour } from './store.js';
import type { TokenResponseBody } from './tokens.js';
import type { DeliveryOptions } from './webhooks.js';

export type { GroundTruth, GroundTruthAssociation, GroundTruthRecord } from './control-routes.js';
export type { LoggedRequest, RequestLogFilter } from './request-log.js';

export interface PortalInfo {
  portalId: number;
  tier: Tier;
  accountType: string;
  timeZone: string;
  companyCurrency: string;
  additionalCurrencies: string[];
  uiDomain: string;
  dataHostingLocation: string;
  searchDelayMs: number;
}

export interface SandboxRecord {
  id: string;
  properties: Record<string, string | null>;
  createdAt: string;
  updatedAt: string;
  archived: boolean;
  archivedAt?: string;
}

export interface AppInfo {
  appId: number;
  clientId: string;
  clientSecret: string;
  redirectUris?: string[];
}

export interface AssociationRef {
  fromType: string;
  fromId: string | number;
  toType: string;
  toId: string | number;
  /** Omitted: the pair's default (unlabeled) type. */
  typeId?: number;
}

export interface RateStats {
  requests: number;
  rejected: Record<string, number>;
}

export class SandboxControlError extends Error {
  constructor(
    readonly status: number,
    readonly body: unknown,
    route: string,
  ) {
    super(`sandbox control ${route} answered ${status}: ${JSON.stringify(body)}`);
  }
}

export class SandboxClient {
  constructor(readonly baseUrl: string) {}

  createPortal(opts: { portalId?: number; tier?: Tier; timeZone?: string; accountType?: string; searchDelayMs?: number } = {}): Promise<PortalInfo> {
    return this.call('POST', '/portals', opts);
  }

  listPortals(): Promise<{ results: PortalInfo[] }> {
    return this.call('GET', '/portals');
  }

  updatePortal(portalId: number, patch: { tier?: Tier; timeZone?: string; searchDelayMs?: number }): Promise<PortalInfo> {
    return this.call('PATCH', `/portals/${portalId}`, patch);
  }

  /** A static private-app token for the portal (generated when `token` is omitted); its own private app unless `appId` is given. */
  createToken(portalId: number, opts: { token?: string; scopes?: string[]; appId?: number } = {}): Promise<{ token: string; portalId: number; appId: number }> {
    return this.call('POST', `/portals/${portalId}/tokens`, opts);
  }

  /** Revokes every token of the portal at once: every app is uninstalled, webhooks stop. */
  revokeTokens(portalId: number): Promise<void> {
    return this.call('DELETE', `/portals/${portalId}/tokens`);
  }

  /** The portal uninstalls one app: its tokens stop working and its webhooks stop. */
  uninstallApp(portalId: number, appId: number): Promise<void> {
    return this.call('DELETE', `/portals/${portalId}/apps/${appId}`);
  }

  createApp(opts: { appId?: number; clientId?: string; clientSecret?: string; redirectUris?: string[]; signatureVersion?: 'v1' | 'v2' } = {}): Promise<AppInfo> {
    return this.call('POST', '/apps', opts);
  }

  /** Installs an app in a portal without the OAuth redirect; returns the issued tokens. */
  installApp(portalId: number, appId: number, scopes?: string[]): Promise<TokenResponseBody> {
    return this.call('POST', `/portals/${portalId}/apps/${appId}/install`, scopes ? { scopes } : {});
  }

  seed(portalId: number, opts: SeedOptions): Promise<SeedResult & { ms: number }> {
    return this.call('POST', `/portals/${portalId}/seed`, opts);
  }

  // ---- changes made as a HubSpot user (changeSource CRM_UI)
  createObject(portalId: number, objectType: string, properties: Record<string, string>): Promise<SandboxRecord> {
    return this.call('POST', `/portals/${portalId}/objects/${objectType}`, { properties });
  }

  updateObject(portalId: number, objectType: string, id: string | number, properties: Record<string, string>): Promise<SandboxRecord> {
    return this.call('PATCH', `/portals/${portalId}/objects/${objectType}/${id}`, { properties });
  }

  archiveObject(portalId: number, objectType: string, id: string | number): Promise<void> {
    return this.call('DELETE', `/portals/${portalId}/objects/${objectType}/${id}`);
  }

  restoreObject(portalId: number, objectType: string, id: string | number): Promise<SandboxRecord> {
    return this.call('POST', `/portals/${portalId}/objects/${objectType}/${id}/restore`);
  }

  merge(portalId: number, objectType: string, primaryObjectId: string | number, objectIdToMerge: string | number): Promise<SandboxRecord> {
    return this.call('POST', `/portals/${portalId}/objects/${objectType}/merge`, { primaryObjectId, objectIdToMerge });
  }

  /** One edit, one timestamp, many records (`ids`, or the first `limit` by id, or all). */
  bulkEdit(portalId: number, objectType: string, properties: Record<string, string>, select: { ids?: (string | number)[]; limit?: number } = {}): Promise<{ count: number; timestamp: number; modifiedAt: string }> {
    return this.call('POST', `/portals/${portalId}/objects/${objectType}/bulk-edit`, { properties, ...select });
  }

  associate(portalId: number, ref: AssociationRef): Promise<void> {
    return this.call('PUT', `/portals/${portalId}/associations`, ref);
  }

  disassociate(portalId: number, ref: AssociationRef): Promise<void> {
    return this.call('DELETE', `/portals/${portalId}/associations`, ref);
  }

  groundTruth(portalId: number): Promise<GroundTruth> {
    return this.call('GET', `/portals/${portalId}/ground-truth`);
  }

  // ---- knobs
  setSearchDelay(portalId: number, ms: number): Promise<{ ms: number }> {
    return this.call('PUT', `/portals/${portalId}/search-delay`, { ms });
  }

  setRateLimits(opts: { enabled?: boolean; retryAfter?: boolean }): Promise<{ enabled: boolean; retryAfter: boolean }> {
    return this.call('PUT', '/rate-limits', opts);
  }

  configureWebhooks(opts: Partial<DeliveryOptions>): Promise<DeliveryOptions> {
    return this.call('PUT', '/webhooks/delivery', opts);
  }

  /** Replaces the fault config for one portal, or globally when `portalId` is omitted. */
  setFaults(config: FaultConfig, portalId?: number): Promise<unknown> {
    return this.call('PUT', portalId === undefined ? '/faults' : `/faults/${portalId}`, config);
  }

  clearFaults(portalId?: number): Promise<void> {
    return this.call('DELETE', portalId === undefined ? '/faults' : `/faults/${portalId}`);
  }

  advanceClock(ms: number): Promise<{ now: number; scale: number }> {
    return this.call('POST', '/clock/advance', { ms });
  }

  clock(): Promise<{ now: number; scale: number }> {
    return this.call('GET', '/clock');
  }

  /** 1 = real time, 60 = a simulated minute per real second, 0 = frozen. */
  setTimeScale(scale: number): Promise<{ now: number; scale: number }> {
    return this.call('PUT', '/clock/scale', { scale });
  }

  /** The restore window (default 90 days), the type ids whose merges mint a new id (default deals, `0-3`; `custom` for custom types), whether a restore moves the modification time (default yes). */
  setCrmBehaviour(opts: Partial<CrmBehaviour>): Promise<CrmBehaviour> {
    return this.call('PUT', '/crm-behaviour', opts);
  }

  /** Turns HubSpot's scope checks for OAuth tokens on or off (off by default). */
  enforceScopes(enforce: boolean): Promise<{ enforce: boolean }> {
    return this.call('PUT', '/scopes', { enforce });
  }

  /** Refresh-token rotation and access-token lifetime for tokens issued from now on. */
  configureOAuth(opts: { rotateRefreshTokens?: boolean; accessTokenTtlSeconds?: number }): Promise<{ rotateRefreshTokens: boolean; accessTokenTtlSeconds: number }> {
    return this.call('PUT', '/oauth', opts);
  }

  /** HubSpot-path requests the simulator answered, oldest first (the latest `limit`, default 1,000). */
  requests(filter: RequestLogFilter = {}): Promise<{ total: number; results: LoggedRequest[] }> {
    const query = new URLSearchParams(Object.entries(filter).filter(([, v]) => v !== undefined).map(([k, v]): [string, string] => [k, String(v)]));
    return this.call('GET', `/requests${query.size > 0 ? `?${query}` : ''}`);
  }

  counters(): Promise<{
    requests: { total: number; byStatus: Record<string, number>; byRoute: Record<string, number>; byPortal: Record<string, number> };
    /** Per portal: all its requests and 429s, and the same per app (keyed by app id). */
    rateLimits: { portals: Record<string, RateStats & { apps: Record<string, RateStats> }>; rejected: number };
    webhooks: Record<string, number>;
    faults: Record<string, number>;
  }> {
    return this.call('GET', '/counters');
  }

  private async call<T>(method: string, route: string, body?: unknown): Promise<T> {
    const res = await fetch(`${this.baseUrl}/__sandbox${route}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    const parsed: unknown = text ? JSON.parse(text) : undefined;
    if (!res.ok) throw new SandboxControlError(res.status, parsed, `${method} ${route}`);
    return parsed as T;
  }
}
