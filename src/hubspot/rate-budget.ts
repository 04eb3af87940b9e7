// A per-portal HubSpot request budget shared by every worker process through PostgreSQL
// (HUBSPOT.md §5, issue 5).
//
// Why not rate-limiter-flexible: its PostgreSQL store counts fixed windows, and a fixed
// 100-per-10 s window lets 200 requests through in a rolling 10 s (the end of one window plus
// the start of the next) — exactly what HubSpot's TEN_SECONDLY_ROLLING policy refuses. Its
// priority queue lives in one process. So this is a small limiter of its own: each budget is
// one row holding the log of permits still inside its rolling window; one SQL function call per
// attempt locks the row, prunes the log, checks priority share, 429 block, window and daily
// quota, and records the permit (src/db/migrations/20261124130000_rate_budgets.sql).
//
// Priorities: while a realtime request has asked within the last fifth of the window,
// incremental may fill at most 85 % and backfill 65 % of it (backfill also stops at 65 % while
// incremental asks); with no one above it, backfill gets the whole budget. Incremental and
// backfill are also paced (a tenth of their share per tenth of the window) so the window drains
// evenly and a realtime request never waits behind a whole window's burst. Within a process,
// waiters for one budget queue by priority and only the head polls the database, so a permit
// costs about one statement however many activities wait.
// The 'last fifth' is 20261214130000_rate_permit_recent_priority.sql, which replaced the function.
import type { Pool } from 'pg';
import type { AuthType } from '../workflows/definitions.js';

export type RequestKind = 'general' | 'search';
/** Webhook reads and write-backs > incremental sync > backfill. */
export type Priority = 'realtime' | 'incremental' | 'backfill';
/** OAuth apps: budget per app and portal (give appId); private apps: per portal. */
export interface BudgetKey {
  portalId: number;
  appId?: number;
}
export type Tier = 'free' | 'starter' | 'professional' | 'enterprise' | 'api-addon' | 'public-app';
export type RatePolicy = 'TEN_SECONDLY_ROLLING' | 'DAILY' | 'SECONDLY';

export interface AcquireOptions {
  kind: RequestKind;
  priority: Priority;
  tier: Tier;
  signal?: AbortSignal;
  /** Default 30 s: longer waits fail fast so the activity retries later instead of holding a slot. */
  maxWaitMs?: number;
}

export interface WindowSnapshot {
  windowMs: number;
  /** HubSpot's limit per window (tier, or what its headers last said). */
  ceiling: number;
  /** The ceiling less the safety margin: what this limiter hands out. */
  budget: number;
  used: number;
  remaining: number;
  /** 429s recorded with recordRejection. */
  rejections: number;
  blockedUntil: string | null;
}

export interface BudgetSnapshot {
  general: WindowSnapshot;
  search: WindowSnapshot;
  /** Null for OAuth budgets, whose calls HubSpot does not count per day. */
  daily: { ceiling: number; budget: number; used: number; remaining: number; rejections: number; blockedUntil: string | null } | null;
}

export interface RateBudget {
  /** Waits (bounded by maxWaitMs, honouring the signal) for a permit and takes it; throws RateBudgetTimeoutError when it cannot have one in time. */
  acquire(key: BudgetKey, opts: AcquireOptions): Promise<void>;
  /** Adapts to X-HubSpot-RateLimit-Max/-Remaining/-Interval-Milliseconds and -Daily/-Daily-Remaining. */
  observe(key: BudgetKey, headers: Record<string, string | undefined>): Promise<void>;
  /** Records a 429 so every process backs off until `until`. */
  recordRejection(key: BudgetKey, policy: RatePolicy, until: Date): Promise<void>;
  snapshot(key: BudgetKey, opts?: { tier?: Tier }): Promise<BudgetSnapshot>;
}

/**
 * Share of each HubSpot limit left unused (HUBSPOT_RATE_SAFETY_MARGIN). Each app has its own
 * per-portal limit, so the margin only has to absorb the gap between a permit's database time and
 * the request's arrival at HubSpot (network jitter, clock skew): a few requests of a 100-per-10 s
 * window. Other spenders of the same budget show in HubSpot's headers, which observe() follows.
 */
export const DEFAULT_SAFETY_MARGIN = 0.03;

export interface RateBudgetOptions {
  /** Share of each HubSpot limit left unused. Default DEFAULT_SAFETY_MARGIN. */
  safetyMargin?: number;
  /** Epoch ms. Default: the database clock, which every worker shares. */
  clock?: () => number;
  /** Window lengths, shorter in tests. Defaults: HubSpot's 10 s and 1 s. */
  generalWindowMs?: number;
  searchWindowMs?: number;
  /** Overrides the tier table (tests). */
  limits?: (tier: Tier) => TierLimits;
}

export interface TierLimits {
  /** Requests per general window. */
  general: number;
  /** Requests per day; null where HubSpot has no daily quota (public OAuth apps). */
  daily: number | null;
}

/** HUBSPOT.md §5. Where sources differ (Professional 625k–650k a day) the lower figure. */
export const TIER_LIMITS: Record<Tier, TierLimits> = {
  free: { general: 100, daily: 250_000 },
  starter: { general: 100, daily: 250_000 },
  professional: { general: 190, daily: 625_000 },
  enterprise: { general: 190, daily: 1_000_000 },
  // The add-on adds 1,000,000 a day to the portal's own; counted on top of Professional.
  'api-addon': { general: 250, daily: 1_625_000 },
  'public-app': { general: 110, daily: null },
};
export const SEARCH_PER_SECOND = 5;

/** The tier a connection has unless told otherwise: OAuth apps are limited as public apps; a private app is assumed on the smallest plan. */
export function defaultTier(authType: AuthType): Tier {
  return authType === 'oauth' ? 'public-app' : 'free';
}

/** No permit in time. `retryAfterMs` is when one might be free: hand it to the retry as `nextRetryDelay`. */
export class RateBudgetTimeoutError extends Error {
  override name = 'RateBudgetTimeoutError';
  constructor(
    readonly policy: RatePolicy,
    readonly retryAfterMs: number,
  ) {
    super(`HubSpot ${policy} budget exhausted; next permit in ${Math.ceil(retryAfterMs)} ms`);
  }
}

const RANK: Record<Priority, number> = { realtime: 0, incremental: 1, backfill: 2 };
const DEFAULT_MAX_WAIT_MS = 30_000;

/** Queued by rank, first come first served within a rank. */
interface Waiter {
  rank: number;
  opts: AcquireOptions;
  deadline: number;
  resolve(): void;
  reject(error: unknown): void;
}

/** The waiters of one budget in this process; only the head asks the database. */
interface Queue {
  waiters: Waiter[];
  pumping: boolean;
  /** Interrupts the head's sleep (a higher priority arrived, or the head left). */
  wake?: () => void;
}

export function createRateBudget(pool: Pool, options: RateBudgetOptions = {}): RateBudget {
  const margin = options.safetyMargin ?? DEFAULT_SAFETY_MARGIN;
  const generalWindowMs = options.generalWindowMs ?? 10_000;
  const searchWindowMs = options.searchWindowMs ?? 1_000;
  const limitsOf = options.limits ?? ((tier: Tier) => TIER_LIMITS[tier]);
  const dbNow = (): number | null => options.clock?.() ?? null;
  const localNow = options.clock ?? Date.now;
  const queues = new Map<string, Queue>();

  async function take(key: BudgetKey, { kind, priority, tier }: AcquireOptions) {
    const limits = limitsOf(tier);
    const search = kind === 'search';
    const { rows } = await pool.query<{ granted: boolean; wait_ms: string; budget: 'window' | 'daily' }>(
      'select * from take_rate_permit($1, $2, $3, $4, $5, $6, $7, $8)',
      [
        windowKey(key, kind),
        search ? searchWindowMs : generalWindowMs,
        search ? SEARCH_PER_SECOND : limits.general,
        margin,
        priority,
        key.portalId,
        key.appId === undefined ? limits.daily : null,
        dbNow(),
      ],
    );
    const row = rows[0]!;
    const policy: RatePolicy = row.budget === 'daily' ? 'DAILY' : search ? 'SECONDLY' : 'TEN_SECONDLY_ROLLING';
    return { granted: row.granted, waitMs: Number(row.wait_ms), policy };
  }

  async function pump(id: string, queue: Queue, key: BudgetKey): Promise<void> {
    queue.pumping = true;
    try {
      while (queue.waiters.length > 0) {
        const head = queue.waiters[0]!;
        let result;
        try {
          result = await take(key, head.opts);
        } catch (error) {
          leave(queue, head);
          head.reject(error);
          continue;
        }
        if (!queue.waiters.includes(head)) continue; // aborted meanwhile: the permit is spent unused
        if (result.granted) {
          leave(queue, head);
          head.resolve();
          continue;
        }
        // No one of the head's priority or lower can be served before it: fail at once those who
        // cannot wait that long. (A higher priority that arrived meanwhile may have a larger share.)
        const readyAt = localNow() + result.waitMs;
        for (const w of [...queue.waiters]) {
          if (w.rank >= head.rank && w.deadline < readyAt) {
            leave(queue, w);
            w.reject(new RateBudgetTimeoutError(result.policy, result.waitMs));
          }
        }
        if (queue.waiters[0] === head) await sleep(queue, result.waitMs);
      }
    } finally {
      queue.pumping = false;
      if (queue.waiters.length === 0) queues.delete(id);
    }
  }

  function sleep(queue: Queue, ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        queue.wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      queue.wake = done;
    });
  }

  function leave(queue: Queue, waiter: Waiter): void {
    const i = queue.waiters.indexOf(waiter);
    if (i >= 0) queue.waiters.splice(i, 1);
  }

  return {
    acquire(key, opts) {
      opts.signal?.throwIfAborted();
      const id = windowKey(key, opts.kind);
      let queue = queues.get(id);
      if (!queue) queues.set(id, (queue = { waiters: [], pumping: false }));
      const q = queue;
      return new Promise<void>((resolve, reject) => {
        const onAbort = () => {
          const wasHead = q.waiters[0] === waiter;
          leave(q, waiter);
          if (wasHead) q.wake?.();
          reject(opts.signal!.reason);
        };
        const waiter: Waiter = {
          rank: RANK[opts.priority],
          opts,
          deadline: localNow() + (opts.maxWaitMs ?? DEFAULT_MAX_WAIT_MS),
          resolve: () => {
            opts.signal?.removeEventListener('abort', onAbort);
            resolve();
          },
          reject: (error) => {
            opts.signal?.removeEventListener('abort', onAbort);
            reject(error);
          },
        };
        opts.signal?.addEventListener('abort', onAbort, { once: true });
        const at = q.waiters.findIndex((w) => w.rank > waiter.rank);
        q.waiters.splice(at < 0 ? q.waiters.length : at, 0, waiter);
        if (at === 0) q.wake?.(); // the new head outranks the sleeping one: ask again now
        if (!q.pumping) void pump(id, q, key);
      });
    },

    async observe(key, headers) {
      const h = lowerCaseKeys(headers);
      const max = int(h['x-hubspot-ratelimit-max']);
      const dailyMax = int(h['x-hubspot-ratelimit-daily']);
      if (max === null && dailyMax === null) return; // search answers carry no rate-limit headers
      await pool.query('select observe_rate_headers($1, $2, $3, $4, $5, $6, $7, $8)', [
        windowKey(key, 'general'),
        key.portalId,
        max,
        int(h['x-hubspot-ratelimit-remaining']),
        int(h['x-hubspot-ratelimit-interval-milliseconds']),
        dailyMax,
        int(h['x-hubspot-ratelimit-daily-remaining']),
        dbNow(),
      ]);
    },

    async recordRejection(key, policy, until) {
      const untilMs = until.getTime();
      if (policy === 'DAILY') {
        await pool.query(
          `insert into rate_daily (portal_id, day, blocked_until, rejections) values ($1, (now() at time zone 'UTC')::date, $2, 1)
           on conflict (portal_id) do update
             set blocked_until = greatest(rate_daily.blocked_until, excluded.blocked_until), rejections = rate_daily.rejections + 1`,
          [key.portalId, untilMs],
        );
        return;
      }
      await pool.query(
        `insert into rate_windows (key, blocked_until, rejections) values ($1, $2, 1)
         on conflict (key) do update
           set blocked_until = greatest(rate_windows.blocked_until, excluded.blocked_until), rejections = rate_windows.rejections + 1`,
        [windowKey(key, policy === 'SECONDLY' ? 'search' : 'general'), untilMs],
      );
    },

    async snapshot(key, opts = {}) {
      const limits = limitsOf(opts.tier ?? 'free');
      const { rows } = await pool.query<{
        now_ms: string;
        windows: WindowRow[] | null;
        daily: DailyRow | null;
      }>(
        `select coalesce($3::bigint, floor(extract(epoch from clock_timestamp()) * 1000)::bigint) as now_ms,
                (select json_agg(w) from rate_windows w where key = any($1)) as windows,
                (select row_to_json(d) from rate_daily d where portal_id = $2) as daily`,
        [[windowKey(key, 'general'), windowKey(key, 'search')], key.portalId, dbNow()],
      );
      const row = rows[0]!;
      const now = Number(row.now_ms);
      const byKey = new Map((row.windows ?? []).map((w) => [w.key, w]));
      const view = (kind: RequestKind, ceiling: number, windowMs: number): WindowSnapshot => {
        const w = byKey.get(windowKey(key, kind));
        const win = w?.observed_window_ms ?? w?.window_ms ?? windowMs;
        const top = w?.observed_max ?? w?.max_permits ?? ceiling;
        const budget = Math.max(1, Math.floor(top * (1 - margin)));
        const used = (w?.permits ?? []).filter((t) => Number(t) > now - win).length;
        const blocked = Number(w?.blocked_until ?? 0);
        return {
          windowMs: win, ceiling: top, budget, used, remaining: Math.max(0, budget - used),
          rejections: Number(w?.rejections ?? 0), blockedUntil: blocked > now ? new Date(blocked).toISOString() : null,
        };
      };
      const d = row.daily;
      const dailyCeiling = d?.observed_max ?? d?.max_permits ?? limits.daily;
      const today = new Date(now).toISOString().slice(0, 10);
      const dailyUsed = d && d.day.slice(0, 10) === today ? d.used : 0;
      const dailyBudget = dailyCeiling === null ? 0 : Math.floor(dailyCeiling * (1 - margin));
      const dailyBlocked = Number(d?.blocked_until ?? 0);
      return {
        general: view('general', limits.general, generalWindowMs),
        search: view('search', SEARCH_PER_SECOND, searchWindowMs),
        daily:
          key.appId !== undefined || dailyCeiling === null
            ? null
            : {
                ceiling: dailyCeiling, budget: dailyBudget, used: dailyUsed, remaining: Math.max(0, dailyBudget - dailyUsed),
                rejections: Number(d?.rejections ?? 0), blockedUntil: dailyBlocked > now ? new Date(dailyBlocked).toISOString() : null,
              },
      };
    },
  };
}

interface WindowRow {
  key: string;
  window_ms: number | null;
  max_permits: number | null;
  observed_max: number | null;
  observed_window_ms: number | null;
  permits: (number | string)[];
  blocked_until: number | string;
  rejections: number | string;
}

interface DailyRow {
  day: string;
  used: number;
  max_permits: number | null;
  observed_max: number | null;
  blocked_until: number | string;
  rejections: number | string;
}

/** Search is limited per portal whatever the app; the general window per app for OAuth. */
export function windowKey(key: BudgetKey, kind: RequestKind): string {
  if (kind === 'search') return `search:${key.portalId}`;
  return key.appId === undefined ? `general:${key.portalId}` : `general:${key.portalId}:${key.appId}`;
}

function lowerCaseKeys(headers: Record<string, string | undefined>): Record<string, string | undefined> {
  return Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
}

function int(value: string | undefined): number | null {
  const n = Number(value);
  return value !== undefined && value !== '' && Number.isInteger(n) && n >= 0 ? n : null;
}
