// Webhook delivery (HUBSPOT.md §8): turns the store's `CrmChange`s into HubSpot-shaped events for
// every app subscribed in the portal, batches them (≤ 100), signs them (v1 or v2, plus v3) and
// POSTs them to the app's target URL — at least once, with the duplication, delay, reordering
// and retries HubSpot's delivery shows, so hubsync's handling of all of these can be tested.
import { mulberry32 } from './seed.js';
import { randomUUID } from 'node:crypto';
import express, { type Router } from 'express';
import { z } from 'zod';
import { signV1, signV2, signV3 } from '../hubspot/webhook-signature.js';
import type { CrmChange, SandboxClock } from './types.js';

export interface WebhookApp {
  appId: number;
  clientSecret: string;
  /** `X-HubSpot-Signature` flavour; v3 is always sent as well. */
  signatureVersion?: 'v1' | 'v2';
}

export interface WebhookSettings {
  targetUrl: string;
  throttling: { maxConcurrentRequests: number };
  createdAt: string;
  updatedAt: string;
}

export interface Subscription {
  id: number;
  eventType: string;
  propertyName?: string;
  /** For `object.*` subscriptions: the custom object type (`2-NNN`). */
  objectTypeId?: string;
  active: boolean;
  createdAt: string;
  updatedAt: string;
}

/** One event as HubSpot sends it; ids are numbers in webhooks (REST ids are strings). */
export interface WebhookEvent {
  eventId: number;
  subscriptionId: number;
  portalId: number;
  appId: number;
  occurredAt: number;
  subscriptionType: string;
  attemptNumber: number;
  objectId: number;
  changeSource: string;
  sourceId?: string;
  changeFlag?: string;
  propertyName?: string;
  propertyValue?: string;
  objectTypeId?: string;
  primaryObjectId?: number;
  mergedObjectIds?: number[];
  newObjectId?: number;
  numberOfPropertiesMoved?: number;
  associationType?: string;
  fromObjectId?: number;
  toObjectId?: number;
  associationRemoved?: boolean;
  isPrimaryAssociation?: boolean;
}

/** HubSpot's caps (HUBSPOT.md §8): batches of up to 100 events, up to 10 concurrent requests per account. */
const MAX_BATCH_SIZE = 100;
const MAX_CONCURRENT_REQUESTS = 10;

const deliveryOptions = z
  .object({
    /** Multiplies every wait below (batch window, delivery delay, retry backoff): 0.001 in tests. */
    timeScale: z.number().min(0),
    /** How long events gather before a batch is cut. */
    batchWindowMs: z.number().min(0),
    maxBatchSize: z.number().int().min(1).max(MAX_BATCH_SIZE),
    /** HubSpot gives up on an answer after 5 s and retries; not scaled. */
    timeoutMs: z.number().positive(),
    /** Retries after the first attempt (HubSpot: up to 10, over about a day). */
    maxRetries: z.number().int().min(0),
    /** Backoff before retry n (1-based) is `retryBaseDelayMs * 2^(n-1)`; 60 s gives ~17 h over 10 retries. */
    retryBaseDelayMs: z.number().min(0),
    /** Chance that a delivered batch is sent again later (at-least-once). */
    duplicateRate: z.number().min(0).max(1),
    /** Shuffle events before cutting batches, and vary batch delays, so arrival order is not change order. */
    reorder: z.boolean(),
    /** Extra wait before each send, drawn uniformly from [min, max]. */
    deliveryDelayMs: z.tuple([z.number().min(0), z.number().min(0)]),
    /**
     * `both`: an association change is sent to subscribers of either record's type, each event
     * seen from its own side (what HubSpot's changelog describes); `one`: only from the side the
     * change was made on. HUBSPOT.md leaves it UNCONFIRMED.
     */
    associationChanges: z.enum(['both', 'one']),
  })
  .strict();

export type DeliveryOptions = z.output<typeof deliveryOptions>;
/** What `configure` and the control API accept: any subset, within HubSpot's caps. */
export const deliveryOptionsInput = deliveryOptions.partial();

export interface DispatcherStats {
  eventsCreated: number;
  /** Events in batches answered 2xx (duplicates included). */
  delivered: number;
  /** HTTP requests made. */
  attempts: number;
  /** Requests answered non-2xx, timed out or failed to connect. */
  failures: number;
  /** Events given up on after the last retry. */
  dropped: number;
  /** Events never sent because the app was uninstalled from the portal first. */
  discarded: number;
  duplicatesSent: number;
  maxInFlight: number;
}

interface Batch {
  appId: number;
  portalId: number;
  events: WebhookEvent[];
  attempt: number;
  /** A re-send of a delivered batch; never duplicated again, so a rate of 1 still terminates. */
  duplicate?: boolean;
}

interface Lane {
  appId: number;
  portalId: number;
  pending: WebhookEvent[];
  ready: Batch[];
  inFlight: number;
  cutScheduled: boolean;
}

export interface WebhookDispatcherDeps {
  clock: SandboxClock;
  fetch?: typeof fetch;
  seed?: number;
  /** Whether the app is installed in the portal: events flow only while it is. */
  isInstalled: (appId: number, portalId: number) => boolean;
  options?: Partial<DeliveryOptions>;
}

const DEFAULTS: DeliveryOptions = {
  timeScale: 1,
  batchWindowMs: 50,
  maxBatchSize: 100,
  timeoutMs: 5_000,
  maxRetries: 10,
  retryBaseDelayMs: 60_000,
  duplicateRate: 0,
  reorder: false,
  deliveryDelayMs: [0, 0],
  associationChanges: 'both',
};

const STANDARD_PREFIX: Record<string, string> = {
  '0-1': 'contact',
  '0-2': 'company',
  '0-3': 'deal',
  '0-5': 'ticket',
  '0-7': 'product',
  '0-8': 'line_item',
};

// HubSpot documents `NEW` for creations; the other flags follow the same naming and are best effort.
const CHANGE_FLAG: Partial<Record<CrmChange['change'], string>> = {
  creation: 'NEW',
  deletion: 'DELETED',
  privacyDeletion: 'DELETED',
  merge: 'MERGED',
  restore: 'RESTORED',
};

export class WebhookDispatcher {
  readonly options: DeliveryOptions;
  private readonly clock: SandboxClock;
  private readonly fetchFn: typeof fetch;
  private readonly random: () => number;
  private readonly isInstalled: (appId: number, portalId: number) => boolean;
  private readonly apps = new Map<number, WebhookApp>();
  private readonly settings = new Map<number, WebhookSettings>();
  private readonly subscriptions = new Map<number, Subscription[]>();
  private readonly lanes = new Map<string, Lane>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly idleWaiters: Array<() => void> = [];
  private readonly counters: DispatcherStats = {
    eventsCreated: 0, delivered: 0, attempts: 0, failures: 0, dropped: 0, discarded: 0, duplicatesSent: 0, maxInFlight: 0,
  };
  private nextSubscriptionId = 1000;
  private nextEventId: number;

  constructor(deps: WebhookDispatcherDeps) {
    this.clock = deps.clock;
    this.fetchFn = deps.fetch ?? fetch;
    this.random = mulberry32(deps.seed ?? 1);
    this.isInstalled = deps.isInstalled;
    this.options = { ...DEFAULTS, ...deliveryOptionsInput.parse(deps.options ?? {}) };
    this.nextEventId = 1 + Math.floor(this.random() * 1e9);
  }

  /** Throws (a ZodError) for values outside HubSpot's caps, e.g. batches over 100. */
  configure(options: Partial<DeliveryOptions>): void {
    Object.assign(this.options, deliveryOptionsInput.parse(options));
  }

  registerApp(app: WebhookApp): void {
    this.apps.set(app.appId, app);
  }

  getSettings(appId: number): WebhookSettings | undefined {
    return this.settings.get(appId);
  }

  setSettings(appId: number, input: { targetUrl: string; maxConcurrentRequests?: number }): WebhookSettings {
    const now = new Date(this.clock.now()).toISOString();
    const previous = this.settings.get(appId);
    const next: WebhookSettings = {
      targetUrl: input.targetUrl,
      throttling: { maxConcurrentRequests: input.maxConcurrentRequests ?? previous?.throttling.maxConcurrentRequests ?? MAX_CONCURRENT_REQUESTS },
      createdAt: previous?.createdAt ?? now,
      updatedAt: now,
    };
    this.settings.set(appId, next);
    return next;
  }

  clearSettings(appId: number): boolean {
    return this.settings.delete(appId);
  }

  listSubscriptions(appId: number): Subscription[] {
    return this.subscriptions.get(appId) ?? [];
  }

  subscribe(appId: number, input: { eventType: string; propertyName?: string; objectTypeId?: string; active?: boolean }): Subscription {
    const now = new Date(this.clock.now()).toISOString();
    const sub: Subscription = {
      id: this.nextSubscriptionId++,
      eventType: input.eventType,
      active: input.active ?? true,
      createdAt: now,
      updatedAt: now,
      ...(input.propertyName === undefined ? {} : { propertyName: input.propertyName }),
      ...(input.objectTypeId === undefined ? {} : { objectTypeId: input.objectTypeId }),
    };
    this.subscriptions.set(appId, [...this.listSubscriptions(appId), sub]);
    return sub;
  }

  setSubscriptionActive(appId: number, id: number, active: boolean): Subscription | undefined {
    const sub = this.listSubscriptions(appId).find((s) => s.id === id);
    if (sub) Object.assign(sub, { active, updatedAt: new Date(this.clock.now()).toISOString() });
    return sub;
  }

  unsubscribe(appId: number, id: number): boolean {
    const subs = this.listSubscriptions(appId);
    this.subscriptions.set(appId, subs.filter((s) => s.id !== id));
    return subs.some((s) => s.id === id);
  }

  /** Queues the events a store change produces for every subscribed, installed app. */
  handle(change: CrmChange): void {
    const prefix = STANDARD_PREFIX[change.objectTypeId] ?? (change.objectTypeId.startsWith('2-') ? 'object' : undefined);
    if (!prefix || (change.inverse && this.options.associationChanges === 'one')) return;
    // A GDPR delete is also a deletion to subscribers of `contact.deletion`.
    const types = change.change === 'privacyDeletion' ? ['privacyDeletion', 'deletion'] : [change.change];
    for (const [appId, subs] of this.subscriptions) {
      if (!this.settings.has(appId) || !this.isInstalled(appId, change.portalId)) continue;
      for (const type of types) {
        const subscriptionType = `${prefix}.${type}`;
        for (const sub of subs) {
          if (!sub.active || sub.eventType !== subscriptionType) continue;
          if (type === 'propertyChange' && sub.propertyName !== change.propertyName) continue;
          if (prefix === 'object' && sub.objectTypeId !== change.objectTypeId) continue;
          this.enqueue(this.toEvent(change, appId, sub.id, subscriptionType));
        }
      }
    }
  }

  /** Resolves once nothing is queued, in flight or waiting for a retry. */
  idle(): Promise<void> {
    if (!this.busy()) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  stats(): DispatcherStats {
    return { ...this.counters };
  }

  /** Drops everything queued and every scheduled retry (shutdown, or a test resetting the portal). */
  close(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    for (const lane of this.lanes.values()) {
      lane.pending = [];
      lane.ready = [];
      lane.cutScheduled = false;
    }
    this.settleIdle();
  }

  private toEvent(change: CrmChange, appId: number, subscriptionId: number, subscriptionType: string): WebhookEvent {
    const num = (id: string | undefined) => (id === undefined ? undefined : Number(id));
    const flag = CHANGE_FLAG[change.change];
    const event: WebhookEvent = {
      eventId: this.nextEventId++,
      subscriptionId,
      portalId: change.portalId,
      appId,
      occurredAt: change.occurredAt,
      subscriptionType,
      attemptNumber: 0,
      objectId: Number(change.objectId),
      changeSource: change.changeSource,
    };
    const optional: Partial<WebhookEvent> = {
      sourceId: change.sourceId,
      changeFlag: flag,
      propertyName: change.propertyName,
      propertyValue: change.propertyValue,
      objectTypeId: subscriptionType.startsWith('object.') ? change.objectTypeId : undefined,
      primaryObjectId: num(change.primaryObjectId),
      mergedObjectIds: change.mergedObjectIds?.map(Number),
      newObjectId: num(change.newObjectId),
      numberOfPropertiesMoved: change.numberOfPropertiesMoved,
      associationType: change.associationType,
      fromObjectId: num(change.fromObjectId),
      toObjectId: num(change.toObjectId),
      associationRemoved: change.associationRemoved,
      isPrimaryAssociation: change.isPrimaryAssociation,
    };
    for (const [k, v] of Object.entries(optional)) if (v !== undefined) (event as unknown as Record<string, unknown>)[k] = v;
    this.counters.eventsCreated++;
    return event;
  }

  private lane(appId: number, portalId: number): Lane {
    const key = `${appId}:${portalId}`;
    let lane = this.lanes.get(key);
    if (!lane) this.lanes.set(key, (lane = { appId, portalId, pending: [], ready: [], inFlight: 0, cutScheduled: false }));
    return lane;
  }

  private enqueue(event: WebhookEvent): void {
    const lane = this.lane(event.appId, event.portalId);
    lane.pending.push(event);
    if (lane.cutScheduled) return;
    lane.cutScheduled = true;
    this.after(this.options.batchWindowMs, () => {
      lane.cutScheduled = false;
      this.pump(lane);
    });
  }

  /** Starts as many sends as the app's concurrency allows: ready batches (retries, duplicates) first. */
  private pump(lane: Lane): void {
    if (!this.isInstalled(lane.appId, lane.portalId)) {
      // Uninstalled: what is queued or waiting for a retry is never sent.
      this.counters.discarded += lane.pending.length + lane.ready.reduce((n, b) => n + b.events.length, 0);
      lane.pending = [];
      lane.ready = [];
      return this.settleIdle();
    }
    const limit = this.settings.get(lane.appId)?.throttling.maxConcurrentRequests ?? MAX_CONCURRENT_REQUESTS;
    while (lane.inFlight < limit) {
      let batch = lane.ready.shift();
      if (!batch && lane.pending.length > 0) {
        if (this.options.reorder) shuffle(lane.pending, this.random);
        batch = { appId: lane.appId, portalId: lane.portalId, events: lane.pending.splice(0, this.options.maxBatchSize), attempt: 0 };
      }
      if (!batch) break;
      lane.inFlight++;
      this.counters.maxInFlight = Math.max(this.counters.maxInFlight, lane.inFlight);
      void this.send(lane, batch);
    }
    this.settleIdle();
  }

  private async send(lane: Lane, batch: Batch): Promise<void> {
    const [min, max] = this.options.deliveryDelayMs;
    const delay = min + (max - min) * this.random();
    if (delay > 0) await new Promise<void>((resolve) => this.after(delay, resolve));
    const ok = await this.post(batch);
    lane.inFlight--;
    if (ok) {
      this.counters.delivered += batch.events.length;
      if (!batch.duplicate && this.random() < this.options.duplicateRate) {
        this.counters.duplicatesSent += batch.events.length;
        const jitter = this.options.retryBaseDelayMs * this.random();
        this.after(jitter, () => this.requeue(lane, { ...batch, duplicate: true }));
      }
    } else if (batch.attempt < this.options.maxRetries) {
      const next = batch.attempt + 1;
      const events = batch.events.map((e) => ({ ...e, attemptNumber: next }));
      this.after(this.options.retryBaseDelayMs * 2 ** batch.attempt, () => this.requeue(lane, { ...batch, events, attempt: next }));
    } else {
      this.counters.dropped += batch.events.length;
    }
    this.pump(lane);
  }

  private requeue(lane: Lane, batch: Batch): void {
    lane.ready.push(batch);
    this.pump(lane);
  }

  /** One signed POST; true when answered 2xx within the timeout. */
  private async post(batch: Batch): Promise<boolean> {
    const settings = this.settings.get(batch.appId);
    const app = this.apps.get(batch.appId);
    this.counters.attempts++;
    if (!settings || !app) {
      this.counters.failures++;
      return false;
    }
    const body = JSON.stringify(batch.events);
    // HubSpot's own clock at sending, which receivers compare with theirs; occurredAt stays simulated time.
    const timestamp = Date.now();
    const v2 = app.signatureVersion === 'v2';
    const headers = {
      'content-type': 'application/json',
      'user-agent': 'HubSpot Connect 2.0 (http://dev.hubspot.com/) (sandbox)',
      'X-HubSpot-Signature': v2 ? signV2(app.clientSecret, 'POST', settings.targetUrl, body) : signV1(app.clientSecret, body),
      'X-HubSpot-Signature-Version': v2 ? 'v2' : 'v1',
      'X-HubSpot-Signature-v3': signV3(app.clientSecret, 'POST', settings.targetUrl, body, timestamp),
      'X-HubSpot-Request-Timestamp': String(timestamp),
      'X-HubSpot-Correlation-Id': randomUUID(),
    };
    try {
      const res = await this.fetchFn(settings.targetUrl, {
        method: 'POST',
        headers,
        body,
        signal: AbortSignal.timeout(this.options.timeoutMs),
      });
      // Drain the body so the connection is reused; its content does not matter.
      await res.arrayBuffer().catch(() => undefined);
      if (res.ok) return true;
    } catch {
      // Connection refused, reset or timed out: all retried alike.
    }
    this.counters.failures++;
    return false;
  }

  private after(ms: number, fn: () => void): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
      this.settleIdle();
    }, ms * this.options.timeScale);
    this.timers.add(t);
  }

  private busy(): boolean {
    if (this.timers.size > 0) return true;
    for (const lane of this.lanes.values()) {
      if (lane.inFlight > 0 || lane.pending.length > 0 || lane.ready.length > 0) return true;
    }
    return false;
  }

  private settleIdle(): void {
    if (this.idleWaiters.length === 0 || this.busy()) return;
    for (const resolve of this.idleWaiters.splice(0)) resolve();
  }
}


function shuffle<T>(items: T[], random: () => number): void {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
}

const settingsBody = z.object({
  targetUrl: z.string().refine((u) => URL.canParse(u), 'targetUrl must be a URL'),
  throttling: z.object({ maxConcurrentRequests: z.number().int().min(1).max(MAX_CONCURRENT_REQUESTS) }).optional(),
});

/** HubSpot's webhooks API for an app's settings and subscriptions (developer `hapikey` not checked). */
export function createWebhooksRouter(dispatcher: WebhookDispatcher): Router {
  const router = express.Router();
  router.use('/webhooks/v3', express.json());
  const appIdOf = (raw: string) => Number(raw);
  const subscriptionBody = (s: Subscription) => ({ ...s, id: String(s.id) });

  router.get('/webhooks/v3/:appId/settings', (req, res) => {
    const settings = dispatcher.getSettings(appIdOf(req.params.appId));
    if (settings) res.json(settings);
    else res.status(404).json(errorBody('No settings configured for this app', 'OBJECT_NOT_FOUND'));
  });
  router.put('/webhooks/v3/:appId/settings', (req, res) => {
    const parsed = settingsBody.safeParse(req.body ?? {});
    if (!parsed.success) return void res.status(400).json(errorBody(z.prettifyError(parsed.error), 'VALIDATION_ERROR'));
    const { targetUrl, throttling } = parsed.data;
    res.json(dispatcher.setSettings(appIdOf(req.params.appId), { targetUrl, ...(throttling ? { maxConcurrentRequests: throttling.maxConcurrentRequests } : {}) }));
  });
  router.delete('/webhooks/v3/:appId/settings', (req, res) => {
    dispatcher.clearSettings(appIdOf(req.params.appId));
    res.status(204).end();
  });

  router.get('/webhooks/v3/:appId/subscriptions', (req, res) => {
    res.json({ results: dispatcher.listSubscriptions(appIdOf(req.params.appId)).map(subscriptionBody) });
  });
  router.post('/webhooks/v3/:appId/subscriptions', (req, res) => {
    const body = (req.body ?? {}) as { eventType?: unknown; propertyName?: unknown; objectTypeId?: unknown; active?: unknown };
    const eventType = typeof body.eventType === 'string' ? body.eventType : '';
    const propertyName = typeof body.propertyName === 'string' ? body.propertyName : undefined;
    const objectTypeId = typeof body.objectTypeId === 'string' ? body.objectTypeId : undefined;
    if (!/^[a-z_]+\.[a-zA-Z]+$/.test(eventType)) return void res.status(400).json(errorBody('eventType is required', 'VALIDATION_ERROR'));
    if (eventType.endsWith('.propertyChange') && !propertyName) {
      return void res.status(400).json(errorBody('propertyName is required for propertyChange subscriptions', 'VALIDATION_ERROR'));
    }
    if (eventType.startsWith('object.') && !objectTypeId) {
      return void res.status(400).json(errorBody('objectTypeId is required for object subscriptions', 'VALIDATION_ERROR'));
    }
    const sub = dispatcher.subscribe(appIdOf(req.params.appId), {
      eventType,
      ...(propertyName === undefined ? {} : { propertyName }),
      ...(objectTypeId === undefined ? {} : { objectTypeId }),
      ...(typeof body.active === 'boolean' ? { active: body.active } : {}),
    });
    res.status(201).json(subscriptionBody(sub));
  });
  router.get('/webhooks/v3/:appId/subscriptions/:id', (req, res) => {
    const sub = dispatcher.listSubscriptions(appIdOf(req.params.appId)).find((s) => s.id === Number(req.params.id));
    if (sub) res.json(subscriptionBody(sub));
    else res.status(404).json(errorBody('Subscription not found', 'OBJECT_NOT_FOUND'));
  });
  router.patch('/webhooks/v3/:appId/subscriptions/:id', (req, res) => {
    const active = (req.body as { active?: unknown } | undefined)?.active;
    if (typeof active !== 'boolean') return void res.status(400).json(errorBody('active must be a boolean', 'VALIDATION_ERROR'));
    const sub = dispatcher.setSubscriptionActive(appIdOf(req.params.appId), Number(req.params.id), active);
    if (sub) res.json(subscriptionBody(sub));
    else res.status(404).json(errorBody('Subscription not found', 'OBJECT_NOT_FOUND'));
  });
  router.delete('/webhooks/v3/:appId/subscriptions/:id', (req, res) => {
    if (dispatcher.unsubscribe(appIdOf(req.params.appId), Number(req.params.id))) res.status(204).end();
    else res.status(404).json(errorBody('Subscription not found', 'OBJECT_NOT_FOUND'));
  });
  return router;
}

function errorBody(message: string, category: string) {
  return { status: 'error', message, correlationId: randomUUID(), category };
}
