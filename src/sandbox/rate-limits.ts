// HubSpot rate limits (HUBSPOT.md §5): a rolling ten-second budget per app (each private app has
// its own; OAuth apps per installing portal), 5 searches per second per portal, and a daily budget
// per portal for non-OAuth calls that resets at midnight in the portal's time zone. Every allowed
// request is logged per budget key, and private-app calls also per portal, so tests can prove a
// client never exceeded a budget in any window.
import { randomUUID } from 'node:crypto';
import type { Request, RequestHandler, Response } from 'express';
import type { SandboxClock } from './types.js';

export type Tier = 'free' | 'starter' | 'professional' | 'enterprise' | 'api-addon';
export type PolicyName = 'TEN_SECONDLY_ROLLING' | 'DAILY' | 'SECONDLY';
/** `crm`: private-app / service-key call; `oauth`: call with an OAuth access token; `search`: CRM search. */
export type CallKind = 'crm' | 'search' | 'oauth';

export interface RateCheckInput {
  portalId: number;
  /** The calling app: a private app's own id, or the OAuth app's. */
  appId?: number;
  kind: CallKind;
}

export interface PortalLimits {
  tenSecondly: number;
  daily: number;
}

export const TIER_LIMITS: Record<Tier, PortalLimits> = {
  free: { tenSecondly: 100, daily: 250_000 },
  starter: { tenSecondly: 100, daily: 250_000 },
  // Sources differ between 625,000 and 650,000; the lower figure is the safer one to test against.
  professional: { tenSecondly: 190, daily: 625_000 },
  enterprise: { tenSecondly: 190, daily: 1_000_000 },
  // The add-on adds 1,000,000 a day; modelled on top of Professional.
  'api-addon': { tenSecondly: 250, daily: 1_625_000 },
};
export const PUBLIC_APP_TEN_SECONDLY = 110;
export const SEARCH_PER_SECOND = 5;

export interface RateLimitedBody {
  status: 'error';
  message: string;
  errorType: 'RATE_LIMIT';
  correlationId: string;
  policyName: PolicyName;
}

export type RateCheck =
  | { allowed: true; headers: Record<string, string> }
  | { allowed: false; status: 429; headers: Record<string, string>; body: RateLimitedBody };

export interface RateLimiterOptions {
  defaultTier?: Tier;
  /** IANA zone used for the daily reset of portals without their own. */
  defaultTimeZone?: string;
  /** Whether CRM 429s carry `Retry-After` is UNCONFIRMED; off by default. */
  retryAfter?: boolean;
}

/** Requests and 429s of a whole portal (every app and token), or of one app in it. */
export interface PortalRateStats {
  requests: number;
  rejected: Record<PolicyName, number>;
}

/** Sliding window over the log of allowed requests: `head` is the first one still inside it. */
interface Budget {
  log: number[];
  head: number;
}

const TEN_SECONDS = 10_000;
const ONE_SECOND = 1_000;

export class RateLimiter {
  enabled = true;
  retryAfter: boolean;
  private readonly defaultTier: Tier;
  private readonly defaultTimeZone: string;
  private readonly tiers = new Map<number, Tier>();
  private readonly overrides = new Map<number, Partial<PortalLimits>>();
  private readonly timeZones = new Map<number, string>();
  private readonly budgets = new Map<string, Budget>();
  private readonly daily = new Map<number, { day: string; used: number }>();
  private readonly stats = new Map<number, PortalRateStats>();
  /** `${portalId}:${appId}` → the same counts for one app of the portal. */
  private readonly appStatsByKey = new Map<string, PortalRateStats>();

  constructor(
    private readonly clock: SandboxClock,
    options: RateLimiterOptions = {},
  ) {
    this.defaultTier = options.defaultTier ?? 'free';
    this.defaultTimeZone = options.defaultTimeZone ?? 'UTC';
    this.retryAfter = options.retryAfter ?? false;
  }

  setTier(portalId: number, tier: Tier): void {
    this.tiers.set(portalId, tier);
  }

  /** Override a portal's ten-second or daily budget (e.g. a tiny daily limit for a test). */
  setLimits(portalId: number, limits: Partial<PortalLimits>): void {
    this.overrides.set(portalId, { ...this.overrides.get(portalId), ...limits });
  }

  setTimeZone(portalId: number, timeZone: string): void {
    this.timeZones.set(portalId, timeZone);
  }

  limitsFor(portalId: number): PortalLimits {
    return { ...TIER_LIMITS[this.tiers.get(portalId) ?? this.defaultTier], ...this.overrides.get(portalId) };
  }

  check(input: RateCheckInput): RateCheck {
    const stats = [this.statsFor(input.portalId), this.appStatsFor(input.portalId, input.appId ?? 0)];
    for (const s of stats) s.requests++;
    if (!this.enabled) return { allowed: true, headers: {} };

    const now = this.clock.now();
    const limits = this.limitsFor(input.portalId);
    const windowMs = input.kind === 'search' ? ONE_SECOND : TEN_SECONDS;
    const max =
      input.kind === 'search' ? SEARCH_PER_SECOND : input.kind === 'oauth' ? PUBLIC_APP_TEN_SECONDLY : limits.tenSecondly;
    const budget = this.budget(budgetKey(input));
    const inWindow = slide(budget, now - windowMs);
    // OAuth calls have no daily limit (HubSpot changelog: "there is no daily limit for these calls").
    const daily = input.kind === 'oauth' ? undefined : this.dailyUsage(input.portalId, now);

    const headers = (remaining: number, dailyUsed: number): Record<string, string> => {
      // Search responses carry no rate-limit headers at all.
      if (input.kind === 'search') return {};
      const h: Record<string, string> = {
        'X-HubSpot-RateLimit-Interval-Milliseconds': String(windowMs),
        'X-HubSpot-RateLimit-Max': String(max),
        'X-HubSpot-RateLimit-Remaining': String(Math.max(0, remaining)),
      };
      if (daily) {
        h['X-HubSpot-RateLimit-Daily'] = String(limits.daily);
        h['X-HubSpot-RateLimit-Daily-Remaining'] = String(Math.max(0, limits.daily - dailyUsed));
      }
      return h;
    };

    const reject = (policyName: PolicyName, retryAfterMs: number): RateCheck => {
      for (const s of stats) s.rejected[policyName]++;
      const h = headers(max - inWindow, daily?.used ?? 0);
      if (this.retryAfter) h['Retry-After'] = String(Math.max(1, Math.ceil(retryAfterMs / 1000)));
      return { allowed: false, status: 429, headers: h, body: rateLimitedBody(policyName) };
    };

    if (daily && daily.used >= limits.daily) return reject('DAILY', msUntilMidnight(now, this.zoneOf(input.portalId)));
    if (inWindow >= max) {
      const oldest = budget.log[budget.head] ?? now;
      return reject(input.kind === 'search' ? 'SECONDLY' : 'TEN_SECONDLY_ROLLING', oldest + windowMs - now);
    }
    budget.log.push(now);
    if (input.kind === 'crm') this.budget(portalLogKey(input.portalId)).log.push(now);
    if (daily) daily.used++;
    return { allowed: true, headers: headers(max - inWindow - 1, daily?.used ?? 0) };
  }

  /**
   * Timestamps of every request a budget let through, oldest first: a `budgetKey`, or
   * `crm:{portalId}` for every private-app call of the portal, whichever app made it.
   */
  requestLog(key: string): readonly number[] {
    return this.budgets.get(key)?.log ?? [];
  }

  budgetKeys(): string[] {
    return [...this.budgets.keys()];
  }

  /** Every request and 429 of the portal, whichever app or token made it. */
  portalStats(portalId: number): PortalRateStats {
    const s = this.statsFor(portalId);
    return { requests: s.requests, rejected: { ...s.rejected } };
  }

  /** The requests and 429s of one app (private or OAuth) in the portal. */
  appStats(portalId: number, appId: number): PortalRateStats {
    const s = this.appStatsFor(portalId, appId);
    return { requests: s.requests, rejected: { ...s.rejected } };
  }

  /** Per-app counts of the portal, keyed by app id, for the apps that called it. */
  appStatsOf(portalId: number): Record<string, PortalRateStats> {
    const out: Record<string, PortalRateStats> = {};
    for (const [key, s] of this.appStatsByKey) {
      const [portal, appId] = key.split(':');
      if (Number(portal) === portalId) out[appId!] = { requests: s.requests, rejected: { ...s.rejected } };
    }
    return out;
  }

  totalRejected(policyName?: PolicyName): number {
    let n = 0;
    for (const s of this.stats.values()) {
      n += policyName ? s.rejected[policyName] : s.rejected.DAILY + s.rejected.SECONDLY + s.rejected.TEN_SECONDLY_ROLLING;
    }
    return n;
  }

  /** Forget budgets, logs, daily usage and counters (tiers and overrides stay). */
  reset(): void {
    this.budgets.clear();
    this.daily.clear();
    this.stats.clear();
    this.appStatsByKey.clear();
  }

  private budget(key: string): Budget {
    let b = this.budgets.get(key);
    if (!b) this.budgets.set(key, (b = { log: [], head: 0 }));
    return b;
  }

  private statsFor(portalId: number): PortalRateStats {
    let s = this.stats.get(portalId);
    if (!s) this.stats.set(portalId, (s = emptyStats()));
    return s;
  }

  private appStatsFor(portalId: number, appId: number): PortalRateStats {
    const key = `${portalId}:${appId}`;
    let s = this.appStatsByKey.get(key);
    if (!s) this.appStatsByKey.set(key, (s = emptyStats()));
    return s;
  }

  private zoneOf(portalId: number): string {
    return this.timeZones.get(portalId) ?? this.defaultTimeZone;
  }

  private dailyUsage(portalId: number, now: number): { day: string; used: number } {
    const day = localDate(now, this.zoneOf(portalId));
    let d = this.daily.get(portalId);
    if (!d || d.day !== day) this.daily.set(portalId, (d = { day, used: 0 }));
    return d;
  }
}

/** The ten-second budget a request draws on: per private app, per OAuth app and portal, per portal for search. */
export function budgetKey(input: RateCheckInput): string {
  if (input.kind === 'oauth') return `oauth:${input.appId ?? 0}:${input.portalId}`;
  if (input.kind === 'crm') return `crm:${input.portalId}:app:${input.appId ?? 0}`;
  return `search:${input.portalId}`;
}

/** Every private-app call of a portal: what its daily limit counts, and what hubsync's per-portal budget shapes. */
function portalLogKey(portalId: number): string {
  return `crm:${portalId}`;
}

function emptyStats(): PortalRateStats {
  return { requests: 0, rejected: { TEN_SECONDLY_ROLLING: 0, DAILY: 0, SECONDLY: 0 } };
}

/** The largest number of timestamps inside any half-open window `[t, t + windowMs)`. */
export function maxInAnyWindow(timestamps: readonly number[], windowMs: number): number {
  let best = 0;
  let start = 0;
  for (let end = 0; end < timestamps.length; end++) {
    while (timestamps[end]! - timestamps[start]! >= windowMs) start++;
    best = Math.max(best, end - start + 1);
  }
  return best;
}

export function rateLimitedBody(policyName: PolicyName): RateLimitedBody {
  return {
    status: 'error',
    message: `You have reached your ${policyName.toLowerCase()} limit.`,
    errorType: 'RATE_LIMIT',
    correlationId: randomUUID(),
    policyName,
  };
}

/** Counts requests in the window and moves `head` past those that fell out of it. */
function slide(budget: Budget, windowStart: number): number {
  while (budget.head < budget.log.length && budget.log[budget.head]! <= windowStart) budget.head++;
  return budget.log.length - budget.head;
}

const dateFormats = new Map<string, Intl.DateTimeFormat>();

function localDate(ms: number, timeZone: string): string {
  let f = dateFormats.get(timeZone);
  if (!f) dateFormats.set(timeZone, (f = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' })));
  return f.format(ms);
}

/** Time to the next local midnight, to the minute: hour steps, then minute steps back (DST-safe). */
function msUntilMidnight(now: number, timeZone: string): number {
  const today = localDate(now, timeZone);
  let t = now;
  while (localDate(t, timeZone) === today) t += 3_600_000;
  while (localDate(t - 60_000, timeZone) !== today) t -= 60_000;
  return t - now;
}

/** Express middleware: charges the request to its budget and answers 429 when it is spent. */
export function rateLimitMiddleware(
  limiter: RateLimiter,
  resolveKey: (req: Request, res: Response) => RateCheckInput | undefined,
): RequestHandler {
  return (req, res, next) => {
    const key = resolveKey(req, res);
    if (!key) return next();
    const result = limiter.check(key);
    res.set(result.headers);
    if (result.allowed) return next();
    res.status(429).set('x-hubspot-correlation-id', result.body.correlationId).json(result.body);
  };
}
