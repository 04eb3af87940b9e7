// The control API under /__sandbox/: what tests and benchmarks use to set the simulator up,
// act as a HubSpot user (changes with changeSource CRM_UI), and read ground truth and counters.
// No HubSpot auth: it is never exposed under HubSpot's paths.
import { DERIVED } from './properties.js';
import { randomBytes } from 'node:crypto';
import express, { Router, type Request } from 'express';
import { notFound, validation } from './crm-errors.js';
import { formatRecord, iso } from './crm-format.js';
import { seedPortal, type SeedOptions } from './seed.js';
import { propertyValue, type ObjectTable, type Portal, type Store, type WriteContext } from './store.js';
import type { RateLimiter, Tier } from './rate-limits.js';
import type { TokenRegistry } from './tokens.js';
import { deliveryOptionsInput, type WebhookDispatcher } from './webhooks.js';
import type { FaultInjector } from './faults.js';
import type { RequestLog } from './request-log.js';
import type { ScopeSettings } from './scopes.js';
import type { AdjustableClock } from './types.js';
import { z } from 'zod';

export interface RequestCounters {
  total: number;
  byStatus: Record<string, number>;
  /** `METHOD /route/pattern` → count. */
  byRoute: Record<string, number>;
  byPortal: Record<string, number>;
}

export interface ControlDeps {
  store: Store;
  clock: AdjustableClock;
  tokens: TokenRegistry;
  rateLimiter: RateLimiter;
  webhooks: WebhookDispatcher;
  faults: FaultInjector;
  counters: RequestCounters;
  requestLog: RequestLog;
  scopes: ScopeSettings;
}

const requestLogQuery = z
  .object({
    portalId: z.coerce.number().int().optional(),
    pathPrefix: z.string().startsWith('/').optional(),
    since: z.coerce.number().optional(),
    limit: z.coerce.number().int().positive().max(10_000).default(1_000),
  })
  .strict();

const clockScaleBody = z.object({ scale: z.number().min(0) }).strict();

const scopesBody = z.object({ enforce: z.boolean() }).strict();

const crmBehaviourBody = z
  .object({
    restoreWindowMs: z.number().min(0).optional(),
    newIdOnMerge: z.array(z.union([z.string().regex(/^0-\d+$/), z.literal('custom')])).optional(),
    restoreMovesModifiedTime: z.boolean().optional(),
  })
  .strict();

const oauthBody = z
  .object({
    rotateRefreshTokens: z.boolean().optional(),
    /** HubSpot's is 1800; shorter lets a test see expiry without moving the clock. */
    accessTokenTtlSeconds: z.number().int().positive().optional(),
  })
  .strict();

/** Parses control-API input; a mismatch is a 400 naming every problem. */
function parse<T extends z.ZodType>(schema: T, input: unknown): z.output<T> {
  const parsed = schema.safeParse(input ?? {});
  if (!parsed.success) throw validation(z.prettifyError(parsed.error));
  return parsed.data;
}

export interface GroundTruthRecord {
  id: string;
  properties: Record<string, string>;
  createdAt: string;
  updatedAt: string;
  archived: boolean;
  archivedAt?: string;
}

export interface GroundTruthAssociation {
  fromType: string;
  fromId: string;
  toType: string;
  toId: string;
  typeId: number;
  category: string;
  label: string | null;
}

export interface GroundTruth {
  portalId: number;
  /** Keyed by plural name / fully qualified name; records in id order, archived ones included. */
  objects: Record<string, GroundTruthRecord[]>;
  /** Directed edges (each association appears in both directions), between records that exist. */
  associations: GroundTruthAssociation[];
}

export function createControlRouter(deps: ControlDeps): Router {
  const { store } = deps;
  const r = Router();
  r.use('/__sandbox', express.json({ limit: '50mb' }));

  const portalOf = (req: Request<{ portalId: string }>) => store.portal(Number(req.params.portalId));
  /** A user of the portal: HubSpot reports UI edits with `userId:N` as the source id. */
  const userCtx = (portal: Portal): WriteContext => ({ source: 'CRM_UI', sourceId: `userId:${portal.owners[0]?.userId ?? 1}` });
  const recordOf = (portal: Portal, table: ObjectTable, id: string, archived = false) => {
    const rec = store.get(portal, table, id, archived);
    if (!rec) throw notFound(`${table.def.singular} ${id} not found`);
    return rec;
  };
  type PT = Request<{ portalId: string; objectType: string }>;
  type PTI = Request<{ portalId: string; objectType: string; objectId: string }>;

  r.post('/__sandbox/portals', (req, res) => {
    const b = (req.body ?? {}) as Record<string, unknown>;
    const portal = store.createPortal({
      ...(typeof b.portalId === 'number' ? { portalId: b.portalId } : {}),
      ...(typeof b.tier === 'string' ? { tier: b.tier as Tier } : {}),
      ...(typeof b.timeZone === 'string' ? { timeZone: b.timeZone } : {}),
      ...(typeof b.accountType === 'string' ? { accountType: b.accountType as Portal['settings']['accountType'] } : {}),
      ...(typeof b.searchDelayMs === 'number' ? { searchDelayMs: b.searchDelayMs } : {}),
    });
    configureLimits(deps, portal);
    res.status(201).json({ ...portal.settings, searchDelayMs: portal.searchDelayMs });
  });

  r.get('/__sandbox/portals', (_req, res) => {
    res.json({ results: [...store.portals.values()].map((p) => ({ ...p.settings, searchDelayMs: p.searchDelayMs })) });
  });

  r.patch('/__sandbox/portals/:portalId', (req: Request<{ portalId: string }>, res) => {
    const portal = portalOf(req);
    const b = (req.body ?? {}) as Record<string, unknown>;
    if (typeof b.tier === 'string') portal.settings.tier = b.tier as Tier;
    if (typeof b.timeZone === 'string') portal.settings.timeZone = b.timeZone;
    if (typeof b.searchDelayMs === 'number') portal.searchDelayMs = b.searchDelayMs;
    configureLimits(deps, portal);
    res.json({ ...portal.settings, searchDelayMs: portal.searchDelayMs });
  });

  r.post('/__sandbox/portals/:portalId/tokens', (req: Request<{ portalId: string }>, res) => {
    const portal = portalOf(req);
    const b = (req.body ?? {}) as Record<string, unknown>;
    const token = typeof b.token === 'string' && b.token !== '' ? b.token : `pat-na1-${randomBytes(16).toString('hex')}`;
    const scopes = Array.isArray(b.scopes) ? b.scopes.map(String) : [];
    const appId = deps.tokens.addStaticToken(token, portal.settings.portalId, { scopes, ...(typeof b.appId === 'number' ? { appId: b.appId } : {}) });
    res.status(201).json({ token, portalId: portal.settings.portalId, appId });
  });

  r.post('/__sandbox/apps', (req, res) => {
    const b = (req.body ?? {}) as Record<string, unknown>;
    const appId = typeof b.appId === 'number' ? b.appId : 1_000_000 + Math.floor(Math.random() * 1_000_000);
    const app = {
      appId,
      clientId: typeof b.clientId === 'string' ? b.clientId : `client-${appId}`,
      clientSecret: typeof b.clientSecret === 'string' ? b.clientSecret : randomBytes(16).toString('hex'),
      ...(Array.isArray(b.redirectUris) ? { redirectUris: b.redirectUris.map(String) } : {}),
    };
    deps.tokens.registerApp(app);
    deps.webhooks.registerApp({ appId, clientSecret: app.clientSecret, ...(b.signatureVersion === 'v1' || b.signatureVersion === 'v2' ? { signatureVersion: b.signatureVersion } : {}) });
    res.status(201).json(app);
  });

  /** Installs an app in a portal without the redirect dance; returns its tokens. */
  r.post('/__sandbox/portals/:portalId/apps/:appId/install', (req: Request<{ portalId: string; appId: string }>, res) => {
    const portal = portalOf(req);
    const appId = Number(req.params.appId);
    if (!deps.tokens.getApp(appId)) throw notFound(`App ${appId} is not registered`);
    const scopes = Array.isArray((req.body as { scopes?: unknown })?.scopes) ? ((req.body as { scopes: unknown[] }).scopes.map(String)) : ['crm.objects.contacts.read'];
    res.status(201).json(deps.tokens.issueTokens({ appId, portalId: portal.settings.portalId, scopes }));
  });

  /** The portal uninstalls one app (OAuth or private): its tokens and its webhooks stop. */
  r.delete('/__sandbox/portals/:portalId/apps/:appId', (req: Request<{ portalId: string; appId: string }>, res) => {
    deps.tokens.uninstall(Number(req.params.appId), portalOf(req).settings.portalId);
    res.status(204).end();
  });

  r.delete('/__sandbox/portals/:portalId/tokens', (req: Request<{ portalId: string }>, res) => {
    deps.tokens.revokeAllForPortal(portalOf(req).settings.portalId);
    res.status(204).end();
  });

  r.post('/__sandbox/portals/:portalId/seed', (req: Request<{ portalId: string }>, res) => {
    const portal = portalOf(req);
    const started = Date.now();
    const result = seedPortal(store, portal, (req.body ?? {}) as SeedOptions);
    res.json({ ...result, ms: Date.now() - started });
  });

  // ---- acting as a user
  r.post('/__sandbox/portals/:portalId/objects/:objectType', (req: PT, res) => {
    const portal = portalOf(req);
    const table = store.table(portal, req.params.objectType);
    const rec = store.create(portal, table, (req.body as { properties?: unknown })?.properties, userCtx(portal));
    res.status(201).json(formatRecord(portal, store, table, rec, { properties: Object.keys(rec.props) }));
  });

  r.patch('/__sandbox/portals/:portalId/objects/:objectType/:objectId', (req: PTI, res) => {
    const portal = portalOf(req);
    const table = store.table(portal, req.params.objectType);
    const rec = recordOf(portal, table, req.params.objectId);
    store.update(portal, table, rec, (req.body as { properties?: unknown })?.properties, userCtx(portal));
    res.json(formatRecord(portal, store, table, rec, { properties: Object.keys(rec.props) }));
  });

  r.delete('/__sandbox/portals/:portalId/objects/:objectType/:objectId', (req: PTI, res) => {
    const portal = portalOf(req);
    const table = store.table(portal, req.params.objectType);
    store.archive(portal, table, recordOf(portal, table, req.params.objectId), userCtx(portal));
    res.status(204).end();
  });

  r.post('/__sandbox/portals/:portalId/objects/:objectType/:objectId/restore', (req: PTI, res) => {
    const portal = portalOf(req);
    const table = store.table(portal, req.params.objectType);
    const rec = store.restore(portal, table, recordOf(portal, table, req.params.objectId, true), userCtx(portal));
    res.json(formatRecord(portal, store, table, rec, { properties: Object.keys(rec.props) }));
  });

  r.post('/__sandbox/portals/:portalId/objects/:objectType/merge', (req: PT, res) => {
    const portal = portalOf(req);
    const table = store.table(portal, req.params.objectType);
    const b = (req.body ?? {}) as Record<string, unknown>;
    const primary = recordOf(portal, table, String(b.primaryObjectId));
    const other = recordOf(portal, table, String(b.objectIdToMerge));
    const winner = store.merge(portal, table, primary, other, userCtx(portal));
    res.json(formatRecord(portal, store, table, winner, { properties: Object.keys(winner.props) }));
  });

  /**
   * One edit applied to many records at the same instant, like a HubSpot bulk edit or import.
   * `ids` picks records; otherwise the first `limit` active records in id order (all by default).
   */
  r.post('/__sandbox/portals/:portalId/objects/:objectType/bulk-edit', (req: PT, res) => {
    const portal = portalOf(req);
    const table = store.table(portal, req.params.objectType);
    const b = (req.body ?? {}) as { ids?: unknown; limit?: unknown; properties?: unknown };
    const records = Array.isArray(b.ids)
      ? b.ids.map((id) => recordOf(portal, table, String(id)))
      : [...take(table.active, typeof b.limit === 'number' ? b.limit : Infinity)];
    if (!b.properties || typeof b.properties !== 'object') throw validation('properties are required');
    const timestamp = store.bulkUpdate(portal, table, records, b.properties, userCtx(portal));
    res.json({ count: records.length, timestamp, modifiedAt: iso(timestamp) });
  });

  r.put('/__sandbox/portals/:portalId/associations', (req: Request<{ portalId: string }>, res) => {
    const portal = portalOf(req);
    const a = association(store, portal, req.body);
    const typeIds = a.typeId !== undefined ? [a.typeId] : [portal.assoc.defaultType(a.from.def.objectTypeId, a.to.def.objectTypeId).typeId];
    store.associate(portal, a.from, a.fromId, a.to, a.toId, typeIds, userCtx(portal));
    res.status(204).end();
  });

  r.delete('/__sandbox/portals/:portalId/associations', (req: Request<{ portalId: string }>, res) => {
    const portal = portalOf(req);
    const a = association(store, portal, req.body);
    store.disassociate(portal, a.from, a.fromId, a.to, a.toId, a.typeId !== undefined ? [a.typeId] : undefined, userCtx(portal));
    res.status(204).end();
  });

  r.get('/__sandbox/portals/:portalId/ground-truth', (req: Request<{ portalId: string }>, res) => {
    res.json(groundTruth(portalOf(req)));
  });

  // ---- knobs and counters
  r.put('/__sandbox/portals/:portalId/search-delay', (req: Request<{ portalId: string }>, res) => {
    const ms = Number((req.body as { ms?: unknown })?.ms);
    if (!Number.isFinite(ms) || ms < 0) throw validation('ms must be a non-negative number');
    portalOf(req).searchDelayMs = ms;
    res.json({ ms });
  });

  r.put('/__sandbox/rate-limits', (req, res) => {
    const b = (req.body ?? {}) as { enabled?: unknown; retryAfter?: unknown };
    if (typeof b.enabled === 'boolean') deps.rateLimiter.enabled = b.enabled;
    if (typeof b.retryAfter === 'boolean') deps.rateLimiter.retryAfter = b.retryAfter;
    res.json({ enabled: deps.rateLimiter.enabled, retryAfter: deps.rateLimiter.retryAfter });
  });

  r.put('/__sandbox/webhooks/delivery', (req, res) => {
    deps.webhooks.configure(parse(deliveryOptionsInput.strict(), req.body));
    res.json(deps.webhooks.options);
  });

  r.post('/__sandbox/clock/advance', (req, res) => {
    const ms = Number((req.body as { ms?: unknown })?.ms);
    if (!Number.isFinite(ms)) throw validation('ms must be a number');
    deps.clock.advance(ms);
    res.json({ now: deps.clock.now(), scale: deps.clock.timeScale });
  });

  r.get('/__sandbox/clock', (_req, res) => {
    res.json({ now: deps.clock.now(), scale: deps.clock.timeScale });
  });

  /** Speeds simulated time up (60: a minute per real second) or freezes it (0). */
  r.put('/__sandbox/clock/scale', (req, res) => {
    deps.clock.setScale(parse(clockScaleBody, req.body).scale);
    res.json({ now: deps.clock.now(), scale: deps.clock.timeScale });
  });

  r.put('/__sandbox/oauth', (req, res) => {
    deps.tokens.configure(parse(oauthBody, req.body));
    const { rotateRefreshTokens, accessTokenTtlSeconds } = deps.tokens.options;
    res.json({ rotateRefreshTokens, accessTokenTtlSeconds });
  });

  r.put('/__sandbox/crm-behaviour', (req, res) => {
    Object.assign(store.behaviour, parse(crmBehaviourBody, req.body));
    res.json(store.behaviour);
  });

  /** Opt-in: OAuth calls without the object's read/write scope get HubSpot's 403. */
  r.put('/__sandbox/scopes', (req, res) => {
    Object.assign(deps.scopes, parse(scopesBody, req.body));
    res.json(deps.scopes);
  });

  r.get('/__sandbox/requests', (req, res) => {
    res.json(deps.requestLog.query(parse(requestLogQuery, req.query)));
  });

  r.get('/__sandbox/counters', (_req, res) => {
    const portals = Object.fromEntries([...store.portals.keys()].map((id) => [id, { ...deps.rateLimiter.portalStats(id), apps: deps.rateLimiter.appStatsOf(id) }]));
    res.json({ requests: deps.counters, rateLimits: { portals, rejected: deps.rateLimiter.totalRejected() }, webhooks: deps.webhooks.stats(), faults: deps.faults.stats() });
  });

  return r;
}

function configureLimits(deps: ControlDeps, portal: Portal): void {
  deps.rateLimiter.setTier(portal.settings.portalId, portal.settings.tier);
  deps.rateLimiter.setTimeZone(portal.settings.portalId, portal.settings.timeZone);
}

function* take<T>(items: Iterable<T>, n: number): Generator<T> {
  let i = 0;
  for (const item of items) {
    if (i++ >= n) return;
    yield item;
  }
}

function association(store: Store, portal: Portal, body: unknown) {
  const b = (body ?? {}) as Record<string, unknown>;
  const from = store.table(portal, String(b.fromType ?? ''));
  const to = store.table(portal, String(b.toType ?? ''));
  const a = store.get(portal, from, String(b.fromId ?? ''));
  const z = store.get(portal, to, String(b.toId ?? ''));
  if (!a || !z) throw notFound('Both records must exist');
  return { from, to, fromId: a.id, toId: z.id, ...(b.typeId !== undefined ? { typeId: Number(b.typeId) } : {}) };
}

/** Every record (archived included) with all its properties, and every association: the state a mirror must match. */
export function groundTruth(portal: Portal): GroundTruth {
  const objects: Record<string, GroundTruthRecord[]> = {};
  const associations: GroundTruthAssociation[] = [];
  for (const table of portal.tables.values()) {
    const records: GroundTruthRecord[] = [];
    for (const list of [table.active, table.archived]) {
      for (const rec of list) {
        const properties: Record<string, string> = { ...rec.props };
        for (const name of DERIVED) if (table.def.properties.has(name)) properties[name] = propertyValue(rec, name)!;
        records.push({ id: String(rec.id), properties, createdAt: iso(rec.createdAt), updatedAt: iso(rec.updatedAt), archived: rec.archived, ...(rec.archivedAt !== undefined ? { archivedAt: iso(rec.archivedAt) } : {}) });
        for (const toTypeId of portal.assoc.targets(table.def.objectTypeId, rec.id)) {
          const to = portal.tables.get(toTypeId)!;
          for (const edge of portal.assoc.list(table.def.objectTypeId, rec.id, toTypeId)) {
            for (const typeId of [...edge.typeIds].sort((a, b) => a - b)) {
              const t = portal.assoc.types.get(typeId);
              associations.push({ fromType: table.def.name, fromId: String(rec.id), toType: to.def.name, toId: String(edge.toId), typeId, category: t?.category ?? 'HUBSPOT_DEFINED', label: t?.label ?? null });
            }
          }
        }
      }
    }
    records.sort((a, b) => Number(a.id) - Number(b.id));
    objects[table.def.name] = records;
  }
  return { portalId: portal.settings.portalId, objects, associations };
}
