// Fault injection: the failures HubSpot produces in the wild (HUBSPOT.md §6), on demand and
// deterministic per seed, globally or for one portal — so each retry and backoff path in hubsync
// has a test that can reproduce it.
import { randomUUID } from 'node:crypto';
import express, { type Request, type RequestHandler, type Response, type Router } from 'express';
import { z } from 'zod';
import { rateLimitedBody } from './rate-limits.js';
import type { SandboxClock } from './types.js';
import { mulberry32 } from './seed.js';

/** A burst that lasts for the next `requests` requests, for `forMs` of sandbox time, or both (whichever ends first). */
const burst = z.object({ requests: z.number().int().positive().optional(), forMs: z.number().positive().optional() });

export const faultConfigSchema = z
  .object({
    /** Chance (0–1) that a request is answered with a 5xx from `errorStatuses`. */
    errorRate: z.number().min(0).max(1).optional(),
    errorStatuses: z.array(z.number().int().min(500).max(599)).nonempty().optional(),
    /** Added to every request, plus up to `jitterMs` more. */
    latencyMs: z.number().min(0).optional(),
    jitterMs: z.number().min(0).optional(),
    /** Chance that a request hangs for `stallMs` (longer than any client timeout), then gets a 504. */
    stallRate: z.number().min(0).max(1).optional(),
    stallMs: z.number().min(0).optional(),
    /** Every request in the burst gets a 429 with this policy. */
    rateLimitStorm: burst.extend({ policyName: z.enum(['TEN_SECONDLY_ROLLING', 'DAILY']).default('TEN_SECONDLY_ROLLING') }).optional(),
    /** 423 Locked: HubSpot asks for at least 2 s before the next try. */
    locked: burst.extend({ retryAfterSeconds: z.number().int().positive().optional() }).optional(),
    /** 477 Migration in progress, with `Retry-After`. */
    migration: burst.extend({ retryAfterSeconds: z.number().int().positive().default(10) }).optional(),
    /** Chance that a 2xx JSON answer is cut in half. */
    malformedJsonRate: z.number().min(0).max(1).optional(),
  })
  .strict();

export type FaultConfig = z.input<typeof faultConfigSchema>;
type ParsedConfig = z.output<typeof faultConfigSchema>;
type Burst = { requests?: number | undefined; forMs?: number | undefined };

/** A burst as stored: `until` is absolute sandbox time, `remaining` counts down. */
interface ActiveBurst {
  remaining?: number;
  until?: number;
}

interface ActiveConfig {
  config: ParsedConfig;
  bursts: Partial<Record<'rateLimitStorm' | 'locked' | 'migration', ActiveBurst>>;
}

export interface FaultStats {
  errors: number;
  stalls: number;
  rateLimited: number;
  locked: number;
  migration: number;
  malformed: number;
}

type Decision =
  | { kind: 'pass'; delayMs: number; malformed: boolean }
  | { kind: 'stall'; delayMs: number; stallMs: number }
  | { kind: 'respond'; delayMs: number; status: number; body: object; headers: Record<string, string> };

const BURSTS = ['rateLimitStorm', 'locked', 'migration'] as const;

export class FaultInjector {
  private global: ActiveConfig | undefined;
  private readonly portals = new Map<number, ActiveConfig>();
  private readonly random: () => number;
  private readonly counters: FaultStats = { errors: 0, stalls: 0, rateLimited: 0, locked: 0, migration: 0, malformed: 0 };

  constructor(
    private readonly clock: SandboxClock,
    seed = 1,
  ) {
    this.random = mulberry32(seed);
  }

  /** Replaces the faults for one portal, or for every request when `portalId` is omitted. */
  set(config: FaultConfig, portalId?: number): void {
    const parsed = faultConfigSchema.parse(config);
    const now = this.clock.now();
    const bursts: ActiveConfig['bursts'] = {};
    for (const name of BURSTS) {
      const b: Burst | undefined = parsed[name];
      if (!b) continue;
      bursts[name] = {
        ...(b.requests === undefined ? {} : { remaining: b.requests }),
        ...(b.forMs === undefined ? {} : { until: now + b.forMs }),
      };
    }
    const active = { config: parsed, bursts };
    if (portalId === undefined) this.global = active;
    else this.portals.set(portalId, active);
  }

  clear(portalId?: number): void {
    if (portalId === undefined) {
      this.global = undefined;
      this.portals.clear();
    } else {
      this.portals.delete(portalId);
    }
  }

  /** The configured faults with what is left of each burst. */
  describe() {
    const view = (a: ActiveConfig) => ({ ...a.config, active: a.bursts });
    return {
      global: this.global ? view(this.global) : null,
      portals: Object.fromEntries([...this.portals].map(([id, a]) => [id, view(a)])),
    };
  }

  stats(): FaultStats {
    return { ...this.counters };
  }

  /** What happens to the next request of this portal; a portal's own faults replace the global ones. */
  decide(portalId: number | undefined): Decision {
    const active = (portalId === undefined ? undefined : this.portals.get(portalId)) ?? this.global;
    if (!active) return { kind: 'pass', delayMs: 0, malformed: false };
    const c = active.config;
    const delayMs = (c.latencyMs ?? 0) + (c.jitterMs ?? 0) * this.random();

    if (this.take(active, 'rateLimitStorm')) {
      this.counters.rateLimited++;
      return { kind: 'respond', delayMs, status: 429, body: rateLimitedBody(c.rateLimitStorm!.policyName), headers: {} };
    }
    if (this.take(active, 'locked')) {
      this.counters.locked++;
      const s = c.locked!.retryAfterSeconds;
      return { kind: 'respond', delayMs, status: 423, body: errorBody('The resource is locked; try again in a few seconds.', 'LOCKED'), headers: s ? { 'Retry-After': String(s) } : {} };
    }
    if (this.take(active, 'migration')) {
      this.counters.migration++;
      return {
        kind: 'respond', delayMs, status: 477, body: errorBody('This account is being migrated; try again later.', 'MIGRATION_IN_PROGRESS'),
        headers: { 'Retry-After': String(c.migration!.retryAfterSeconds) },
      };
    }
    if (this.random() < (c.stallRate ?? 0)) {
      this.counters.stalls++;
      return { kind: 'stall', delayMs, stallMs: c.stallMs ?? 120_000 };
    }
    if (this.random() < (c.errorRate ?? 0)) {
      this.counters.errors++;
      const statuses = c.errorStatuses ?? [500, 502, 503, 504];
      const status = statuses[Math.floor(this.random() * statuses.length)]!;
      return { kind: 'respond', delayMs, status, body: errorBody('Internal error (injected by the sandbox)', 'INTERNAL_ERROR'), headers: {} };
    }
    const malformed = this.random() < (c.malformedJsonRate ?? 0);
    return { kind: 'pass', delayMs, malformed };
  }

  /** Charges one request to a burst; false when it is not configured or has run out. */
  private take(active: ActiveConfig, name: (typeof BURSTS)[number]): boolean {
    const b = active.bursts[name];
    if (!b) return false;
    const expired = (b.until !== undefined && this.clock.now() >= b.until) || b.remaining === 0;
    if (expired) {
      delete active.bursts[name];
      return false;
    }
    if (b.remaining !== undefined) b.remaining--;
    return true;
  }

  countMalformed(): void {
    this.counters.malformed++;
  }
}

/** Applies the injector's decision to each request; mount after auth so the portal is known. */
export function faultMiddleware(
  injector: FaultInjector,
  portalOf: (req: Request, res: Response) => number | undefined = (_req, res) => (res.locals.auth as { portalId?: number } | undefined)?.portalId,
): RequestHandler {
  return async (req, res, next) => {
    const decision = injector.decide(portalOf(req, res));
    if (decision.delayMs > 0) await sleep(decision.delayMs, res);
    if (res.writableEnded || res.destroyed) return;
    switch (decision.kind) {
      case 'stall':
        await sleep(decision.stallMs, res);
        if (!res.destroyed) res.status(504).json(errorBody('The upstream request timed out.', 'GATEWAY_TIMEOUT'));
        return;
      case 'respond': {
        const body = decision.body as { correlationId?: string };
        res.status(decision.status).set(decision.headers);
        if (body.correlationId) res.set('x-hubspot-correlation-id', body.correlationId);
        res.json(decision.body);
        return;
      }
      case 'pass':
        if (decision.malformed) truncateJson(res, injector);
        next();
    }
  };
}

/** Makes the next successful `res.json` send half of its JSON. */
function truncateJson(res: Response, injector: FaultInjector): void {
  const json = res.json.bind(res);
  res.json = (body: unknown) => {
    if (res.statusCode < 200 || res.statusCode >= 300) return json(body);
    injector.countMalformed();
    const text = JSON.stringify(body) ?? '';
    return res.type('application/json').send(text.slice(0, Math.max(1, Math.floor(text.length / 2))));
  };
}

/** Waits, but stops early when the client goes away (a stall must not outlive its socket). */
function sleep(ms: number, res: Response): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    timer.unref();
    res.once('close', done);
    function done() {
      clearTimeout(timer);
      res.off('close', done);
      resolve();
    }
  });
}

function errorBody(message: string, category: string) {
  return { status: 'error', message, correlationId: randomUUID(), category };
}

/** `/__sandbox/faults[/:portalId]`: GET the faults, PUT a config (replaces), DELETE to clear. */
export function createFaultsRouter(injector: FaultInjector): Router {
  const router = express.Router();
  router.use('/__sandbox/faults', express.json());
  const put = (req: Request, res: Response, portalId?: number) => {
    const parsed = faultConfigSchema.safeParse(req.body ?? {});
    if (!parsed.success) {
      return void res.status(400).json({ error: { code: 'invalid_faults', message: z.prettifyError(parsed.error) } });
    }
    injector.set(req.body as FaultConfig, portalId);
    res.json(injector.describe());
  };
  const withPortal = (handler: (portalId: number, req: Request, res: Response) => void) => (req: Request, res: Response) => {
    const portalId = Number(req.params.portalId);
    if (!Number.isSafeInteger(portalId)) return void res.status(400).json({ error: { code: 'invalid_portal', message: 'portalId must be an integer' } });
    handler(portalId, req, res);
  };

  router.get('/__sandbox/faults', (_req, res) => void res.json({ ...injector.describe(), stats: injector.stats() }));
  router.put('/__sandbox/faults', (req, res) => put(req, res));
  router.put('/__sandbox/faults/:portalId', withPortal((portalId, req, res) => put(req, res, portalId)));
  router.delete('/__sandbox/faults', (_req, res) => {
    injector.clear();
    res.status(204).end();
  });
  router.delete('/__sandbox/faults/:portalId', withPortal((portalId, _req, res) => {
    injector.clear(portalId);
    res.status(204).end();
  }));
  return router;
}
