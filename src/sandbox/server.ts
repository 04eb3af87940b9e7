// Assembles the HubSpot simulator: one express app serving HubSpot's paths (auth, rate limits,
// CRM, associations, metadata, OAuth, webhooks, timeline) and the /__sandbox control API.
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type Express, type Request, type RequestHandler, type Response, type Router } from 'express';
import { createAssociationsRouter } from './associations.js';
import { createControlRouter, type RequestCounters } from './control-routes.js';
import { createCrmRouter } from './crm-routes.js';
import { errorHandler, HubSpotError, sendError } from './crm-errors.js';
import { createFaultsRouter, FaultInjector, faultMiddleware } from './faults.js';
import { createMetaRouter } from './meta-routes.js';
import { RateLimiter, rateLimitMiddleware, type RateLimiterOptions } from './rate-limits.js';
import { RequestLog } from './request-log.js';
import { scopeMiddleware, type ScopeSettings } from './scopes.js';
import { seedPortal } from './seed.js';
import { Store, type CrmBehaviour } from './store.js';
import { createTimelineRouter, TimelineStore } from './timeline.js';
import { createOAuthRouter, requireAuth, TokenRegistry, type AuthContext, type TokenRegistryOptions } from './tokens.js';
import { AdjustableClock } from './types.js';
import { createWebhooksRouter, WebhookDispatcher, type DeliveryOptions } from './webhooks.js';

export interface SandboxOptions {
  clock?: AdjustableClock;
  /** Default eventual-consistency delay of search for new portals (ms); 0 = searchable at once. */
  searchDelayMs?: number;
  /** The restore window and which types mint a new id on merge (defaults: HUBSPOT.md's). */
  crm?: Partial<CrmBehaviour>;
  tokens?: TokenRegistryOptions;
  /** `enabled: false` turns rate limiting off (counting continues). */
  rateLimits?: RateLimiterOptions & { enabled?: boolean };
  webhooks?: Partial<DeliveryOptions> & { fetch?: typeof fetch; seed?: number };
  /** Seed of the fault injector's random choices. */
  faultSeed?: number;
  /** Extra middleware before every HubSpot route, after auth, rate limits and faults. */
  hubspotMiddleware?: RequestHandler[];
  /** Extra routers mounted beside the control API (e.g. a fault-injection control router). */
  controlRouters?: Router[];
  /** How many HubSpot-path requests the request log keeps (oldest out first). */
  requestLogSize?: number;
  /** `enforce: true` answers OAuth calls lacking the object's scope with HubSpot's 403; off by default. */
  scopes?: Partial<ScopeSettings>;
}

export interface Sandbox {
  app: Express;
  store: Store;
  clock: AdjustableClock;
  tokens: TokenRegistry;
  rateLimiter: RateLimiter;
  webhooks: WebhookDispatcher;
  timeline: TimelineStore;
  faults: FaultInjector;
  counters: RequestCounters;
  requestLog: RequestLog;
  scopes: ScopeSettings;
  /** The portal the OAuth authorize stand-in installs into when the request names none. */
  setDefaultPortal(portalId: number): void;
  listen(port?: number, host?: string): Promise<{ url: string; close(): Promise<void> }>;
}

/** HubSpot paths that do not take a bearer token: OAuth, and developer APIs keyed by app id. */
const UNAUTHENTICATED = [/^\/oauth\//, /^\/webhooks\/v3\//, /^\/integrators\/timeline\/v3\/\d+\/event-templates/];

export function createSandbox(options: SandboxOptions = {}): Sandbox {
  const clock = options.clock ?? new AdjustableClock();
  const store = new Store(clock, { searchDelayMs: options.searchDelayMs ?? 0, ...(options.crm ? { behaviour: options.crm } : {}) });
  const tokens = new TokenRegistry(clock, options.tokens);
  const rateLimiter = new RateLimiter(clock, options.rateLimits);
  if (options.rateLimits?.enabled === false) rateLimiter.enabled = false;
  const { fetch: fetchFn, seed, ...delivery } = options.webhooks ?? {};
  const webhooks = new WebhookDispatcher({
    clock,
    options: delivery,
    // Installed while the app holds an installation or a live private-app token: an uninstall or a revocation stops deliveries.
    isInstalled: (appId, portalId) => tokens.hasInstallation(appId, portalId),
    ...(fetchFn ? { fetch: fetchFn } : {}),
    ...(seed !== undefined ? { seed } : {}),
  });
  store.onChange((change) => webhooks.handle(change));
  const timeline = new TimelineStore(clock);
  const faults = new FaultInjector(clock, options.faultSeed ?? 1);
  const counters: RequestCounters = { total: 0, byStatus: {}, byRoute: {}, byPortal: {} };
  const requestLog = new RequestLog(options.requestLogSize);
  const scopes: ScopeSettings = { enforce: options.scopes?.enforce ?? false };

  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', 'simple');
  app.use(countRequests(counters, requestLog, clock));
  app.use(createControlRouter({ store, clock, tokens, rateLimiter, webhooks, faults, counters, requestLog, scopes }));
  app.use(createFaultsRouter(faults));
  for (const router of options.controlRouters ?? []) app.use(router);

  let defaultPortalId: number | undefined;
  app.use(createOAuthRouter(tokens, { defaultPortalId: () => defaultPortalId }));
  app.use(createWebhooksRouter(webhooks));

  const auth = requireAuth(tokens);
  app.use((req, res, next) => (UNAUTHENTICATED.some((re) => re.test(req.path)) ? next() : auth(req, res, next)));
  app.use(
    rateLimitMiddleware(rateLimiter, (req, res) => {
      const a = res.locals.auth as AuthContext | undefined;
      if (!a) return undefined;
      const kind = req.method === 'POST' && /\/search$/.test(req.path) ? 'search' : a.kind === 'oauth' ? 'oauth' : 'crm';
      return { portalId: a.portalId, appId: a.appId, kind };
    }),
  );
  app.use(scopeMiddleware(store, scopes));
  // Faults apply to HubSpot's API only, never to the control API (mounted above).
  app.use(faultMiddleware(faults));
  for (const m of options.hubspotMiddleware ?? []) app.use(m);
  app.use(express.json({ limit: '10mb' }));
  app.use(createTimelineRouter(timeline, { resolveObject: (portalId, objectType, ref) => resolveObject(store, portalId, objectType, ref) }));
  app.use(createCrmRouter(store));
  app.use(createAssociationsRouter(store));
  app.use(createMetaRouter(store));
  app.use((req: Request, res: Response) => sendError(res, new HubSpotError(404, 'OBJECT_NOT_FOUND', `No route for ${req.method} ${req.path}`)));
  app.use(errorHandler);

  return {
    app,
    store,
    clock,
    tokens,
    rateLimiter,
    webhooks,
    timeline,
    faults,
    counters,
    requestLog,
    scopes,
    setDefaultPortal: (portalId) => {
      defaultPortalId = portalId;
    },
    listen: (port = 0, host = '127.0.0.1') => listen(app, port, host, () => webhooks.close()),
  };
}

function listen(app: Express, port: number, host: string, onClose: () => void): Promise<{ url: string; close(): Promise<void> }> {
  return new Promise((resolve, reject) => {
    const server: Server = app.listen(port, host, (err?: Error) => {
      if (err) return reject(err);
      const address = server.address() as AddressInfo;
      resolve({
        url: `http://${host.includes(':') ? `[${host}]` : host}:${address.port}`,
        close: () =>
          new Promise<void>((done, fail) => {
            onClose();
            server.closeAllConnections();
            server.close((e) => (e ? fail(e) : done()));
          }),
      });
    });
  });
}

function countRequests(counters: RequestCounters, log: RequestLog, clock: AdjustableClock): RequestHandler {
  return (req, res, next) => {
    if (req.path.startsWith('/__sandbox')) return next();
    // Routers may rewrite req.url on the way: keep the path as the client sent it.
    const path = req.path;
    res.on('finish', () => {
      counters.total++;
      const status = String(res.statusCode);
      counters.byStatus[status] = (counters.byStatus[status] ?? 0) + 1;
      const route = `${req.method} ${(req.route as { path?: string } | undefined)?.path ?? path}`;
      counters.byRoute[route] = (counters.byRoute[route] ?? 0) + 1;
      const auth = res.locals.auth as AuthContext | undefined;
      if (auth) counters.byPortal[auth.portalId] = (counters.byPortal[auth.portalId] ?? 0) + 1;
      log.record({
        method: req.method,
        path,
        ...(auth ? { portalId: auth.portalId, appId: auth.appId, tokenKind: auth.kind } : {}),
        status: res.statusCode,
        at: clock.now(),
      });
    });
    next();
  };
}

/** Timeline events name their object by id or email. */
function resolveObject(store: Store, portalId: number, objectType: string, ref: string): string | undefined {
  const portal = store.portals.get(portalId);
  if (!portal) return undefined;
  try {
    const table = store.table(portal, objectType);
    const rec = ref.includes('@') && table.unique.has('email') ? table.findUnique('email', ref) : store.get(portal, table, ref);
    return rec ? String(rec.id) : undefined;
  } catch {
    return undefined;
  }
}

export interface DemoPortalOptions {
  portalId?: number;
  token?: string;
  seed?: number;
  contacts?: number;
  companies?: number;
  deals?: number;
  tickets?: number;
  /** Also register an OAuth app (installable through /oauth/authorize, into the demo portal unless `portalId` says otherwise). */
  app?: { appId: number; clientId: string; clientSecret: string };
}

/** A seeded portal with a private-app token: what `npm run sandbox` and SANDBOX=1 start with. */
export function createDemoPortal(sandbox: Sandbox, opts: DemoPortalOptions = {}): { portalId: number; token: string } {
  const portal = sandbox.store.createPortal({ portalId: opts.portalId ?? 100001, tier: 'professional', timeZone: 'Europe/Berlin', accountType: 'DEVELOPER_TEST' });
  const portalId = portal.settings.portalId;
  sandbox.rateLimiter.setTier(portalId, portal.settings.tier);
  sandbox.rateLimiter.setTimeZone(portalId, portal.settings.timeZone);
  seedPortal(sandbox.store, portal, {
    seed: opts.seed ?? 42,
    contacts: opts.contacts ?? 3000,
    companies: opts.companies ?? 600,
    deals: opts.deals ?? 1200,
    tickets: opts.tickets ?? 800,
  });
  const token = opts.token ?? 'pat-na1-sandbox-demo-token';
  sandbox.tokens.addStaticToken(token, portalId, { scopes: ['crm.objects.contacts.read', 'crm.objects.contacts.write', 'crm.objects.companies.read', 'crm.objects.deals.read', 'tickets', 'timeline'] });
  if (opts.app) {
    sandbox.tokens.registerApp(opts.app);
    sandbox.webhooks.registerApp({ appId: opts.app.appId, clientSecret: opts.app.clientSecret });
  }
  // "Connect a portal" on the demo works without choosing one.
  sandbox.setDefaultPortal(portalId);
  return { portalId, token };
}
