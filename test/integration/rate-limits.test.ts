// Rate limits and retries end to end: real Temporal, PostgreSQL, two worker processes and the
// simulator with HubSpot's Free/Starter limits on (100 requests per rolling 10 s per portal).
// The budget keeps every portal under its limit without a single 429; HubSpot's own answers
// (429 storms, daily limits, 423, 477, 5xx, 401, 403, 400) meet the retry behaviour issue 5 asks
// for, read from the workflow histories.
import { randomUUID } from 'node:crypto';
import { isGrpcServiceError } from '@temporalio/client';
import type { RequestHandler } from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nextMidnight } from '../../src/hubspot/errors.js';
import { createRateBudget } from '../../src/hubspot/rate-budget.js';
import { maxInAnyWindow } from '../../src/sandbox/rate-limits.js';
import type { FaultConfig } from '../../src/sandbox/faults.js';
import { activityExecutions, type ActivityExecution } from '../support/activity-history.js';
import { startWorkerProcess, type WorkerProcess } from '../support/worker-process.js';
import { eventually, startStack, type Stack } from '../support/stack.js';


/** HubSpot answers armed per portal, for the classes the fault injector does not produce (403, 400). */
const armed = new Map<number, { status: number; body: { status: string; message: string; correlationId: string; category: string } }>();
const answerArmed: RequestHandler = (_req, res, next) => {
  const portalId = (res.locals.auth as { portalId?: number } | undefined)?.portalId;
  const answer = portalId === undefined ? undefined : armed.get(portalId);
  if (!answer) return next();
  armed.delete(portalId!);
  res.status(answer.status).set('x-hubspot-correlation-id', answer.body.correlationId).json(answer.body);
};

let stack: Stack;
/** Another worker process on the stack's task queue, sharing only PostgreSQL and Temporal. */
let secondWorker: WorkerProcess | undefined;

beforeAll(async () => {
  stack = await startStack({ sandbox: { rateLimits: { defaultTier: 'free' }, hubspotMiddleware: [answerArmed] } });
  secondWorker = await startWorkerProcess(stack);
});
afterAll(async () => {
  await secondWorker?.stop();
  await stack?.close();
});

async function seededPortal(portalId: number, contacts: number, companies = 0): Promise<void> {
  await stack.control.createPortal({ portalId, tier: 'free' });
  await stack.control.seed(portalId, { seed: portalId, contacts, companies });
}

/** A private-app connection (contacts unless told); the long interval keeps incremental runs out of the way. */
async function connect(portalId: number, objectTypes = ['contacts']): Promise<string> {
  const { token } = await stack.control.createToken(portalId);
  const response = await stack.api('/connections', { method: 'POST', json: { accessToken: token, objectTypes, syncIntervalSeconds: 3600, tier: 'free' } });
  expect(response.status).toBe(201);
  return ((await response.json()) as { id: string }).id;
}

async function status(connectionId: string): Promise<any> {
  return (await stack.api(`/connections/${connectionId}`)).json();
}

async function backfilled(connectionId: string, timeoutMs = 60_000): Promise<any> {
  return eventually(async () => {
    const body = await status(connectionId);
    const objects = Object.values(body.live?.objects ?? {}) as { backfill: { status: string } }[];
    return objects.length > 0 && objects.every((o) => o.backfill.status === 'done') ? body : undefined;
  }, timeoutMs, `backfill of ${connectionId}`);
}

async function mirrored(connectionId: string, objectType = 'contacts'): Promise<number> {
  const { rows } = await stack.db.pool.query(`select count(*)::int as n from crm_objects where connection_id = $1 and object_type = $2`, [connectionId, objectType]);
  return rows[0].n;
}

/** Every activity execution of the connection workflow (owners and pipelines) and of every sync run it started so far. */
async function syncActivities(connectionId: string): Promise<ActivityExecution[]> {
  const { live } = await status(connectionId);
  const workflowIds = [live.workflowId as string];
  for (const [type, object] of Object.entries(live.objects as Record<string, { runs: number }>)) {
    for (let run = 1; run <= object.runs; run++) workflowIds.push(`${live.workflowId}:sync:${type}:${run}`);
  }
  // A run just counted may not have started yet: it has no activities.
  const notFound = (error: unknown) => isGrpcServiceError(error) && error.code === 5; // gRPC NOT_FOUND
  const read = (id: string) => activityExecutions(stack.temporal, id).catch((error: unknown) => (notFound(error) ? [] : Promise.reject(error)));
  return (await Promise.all(workflowIds.map(read))).flat();
}

const hubspotRequests = (portalId: number) => stack.sandbox.rateLimiter.portalStats(portalId).requests;

describe('the shared budget under load', () => {
  const SHARED = 720_001;
  const OTHER = 720_002;
  let shared: string[];
  let other: string;

  it('two worker processes backfill two connections of one portal and one of another: 0 429s, ≤ 100 per rolling 10 s, the other portal not starved', async () => {
    // The shared portal's two connections sync two object types each: four runs side by side ask
    // for more than its budget. The other portal's one run proceeds beside them.
    await seededPortal(SHARED, 3_000, 3_000);
    await seededPortal(OTHER, 3_000);
    shared = [await connect(SHARED, ['contacts', 'companies']), await connect(SHARED, ['contacts', 'companies'])];
    other = await connect(OTHER);
    await Promise.all([...shared, other].map((id) => backfilled(id, 110_000)));

    expect(await Promise.all([...shared, other].map((id) => mirrored(id)))).toEqual([3_000, 3_000, 3_000]);
    expect(await Promise.all(shared.map((id) => mirrored(id, 'companies')))).toEqual([3_000, 3_000]);
    expect(stack.sandbox.rateLimiter.totalRejected()).toBe(0);
    expect(stack.sandbox.faults.stats().rateLimited).toBe(0);

    const sharedLog = stack.sandbox.rateLimiter.requestLog(`crm:${SHARED}`);
    const otherLog = stack.sandbox.rateLimiter.requestLog(`crm:${OTHER}`);
    const fullest = maxInAnyWindow(sharedLog, 10_000);
    // The shared portal asked for more than its budget (97 of HubSpot's 100) and got it, never more.
    expect(sharedLog.length).toBeGreaterThan(180);
    expect(fullest).toBeGreaterThanOrEqual(88);
    expect(fullest).toBeLessThanOrEqual(100);
    expect(maxInAnyWindow(stack.sandbox.rateLimiter.requestLog(`search:${SHARED}`), 1_000)).toBeLessThanOrEqual(5);
    // Not starved: the other portal's backfill ran at a good rate beside the saturated one, and in
    // some 10 s both portals together made more requests than one portal may (a single budget for
    // both would have capped them at 97).
    expect(maxInAnyWindow(otherLog, 10_000)).toBeGreaterThanOrEqual(50);
    expect(maxInAnyWindow([...sharedLog, ...otherLog].sort((x, y) => x - y), 10_000)).toBeGreaterThan(100);

    // Both processes ran page activities.
    const identities = new Set((await Promise.all([...shared, other].map(syncActivities))).flat().map((a) => a.identity));
    expect([...identities].some((id) => id.startsWith(`${secondWorker!.pid}@`))).toBe(true);
    expect([...identities].some((id) => id.startsWith(`${process.pid}@`))).toBe(true);
  }, 150_000);

  it("GET /connections/:id shows the portal's rate budget: budget, used, remaining, 429s, daily remaining", async () => {
    const body = await status(shared[0]!);
    expect(body.rateBudget.tier).toBe('free');
    expect(body.rateBudget.general).toMatchObject({ windowMs: 10_000, ceiling: 100, budget: 97, rejections: 0, blockedUntil: null });
    expect(body.rateBudget.general.remaining).toBe(97 - body.rateBudget.general.used);
    expect(body.rateBudget.search).toMatchObject({ windowMs: 1_000, ceiling: 5, budget: 4, rejections: 0 });
    const daily = body.rateBudget.daily;
    expect(daily).toMatchObject({ ceiling: 250_000, budget: 242_500, rejections: 0, blockedUntil: null });
    // Every request the simulator counted for the portal (the daily count follows HubSpot's -Daily-Remaining).
    expect(daily.used).toBeGreaterThan(180);
    expect(Math.abs(daily.used - hubspotRequests(SHARED))).toBeLessThanOrEqual(5);
    expect(daily.remaining).toBe(daily.budget - daily.used);
    // The same portal, the same budget, whichever connection asks.
    expect((await status(shared[1]!)).rateBudget.daily.used).toBeGreaterThanOrEqual(daily.used);
  });
});

describe('429s from HubSpot', () => {
  it('a ten-secondly 429 storm: activities retry after the 10 s HubSpot asked for, every worker backs off, and the sync completes', async () => {
    const PORTAL = 720_101;
    await seededPortal(PORTAL, 1_500);
    const id = await connect(PORTAL);
    await stack.control.setFaults({ rateLimitStorm: { requests: 2, policyName: 'TEN_SECONDLY_ROLLING' } }, PORTAL);
    const body = await backfilled(id, 90_000);
    expect(await mirrored(id)).toBe(1_500);
    expect(stack.sandbox.faults.stats().rateLimited).toBe(2);
    // No 429 of the simulator's own limiter followed: the storm blocked the shared budget instead.
    expect(stack.sandbox.rateLimiter.portalStats(PORTAL).rejected).toEqual({ TEN_SECONDLY_ROLLING: 0, DAILY: 0, SECONDLY: 0 });
    expect(body.rateBudget.general.rejections).toBe(2);

    const retried = (await syncActivities(id)).filter((a) => a.lastFailure?.type === 'HubSpotRateLimited');
    expect(retried.length).toBeGreaterThanOrEqual(1);
    for (const a of retried) {
      // The rate-limit interval header says 10 s; the policy's own first backoff would be 1 s.
      expect(a.startedMs - a.scheduledMs).toBeGreaterThanOrEqual((a.attempt - 1) * 10_000 - 50);
      expect(a.outcome).toBe('completed');
    }
  }, 120_000);

  it("a DAILY 429 pauses the connection until the daily reset at midnight in the portal's time zone, with no HubSpot calls while paused", async () => {
    const PORTAL = 720_201;
    const TIME_ZONE = 'Pacific/Auckland';
    await stack.control.createPortal({ portalId: PORTAL, tier: 'free', timeZone: TIME_ZONE });
    await stack.control.seed(PORTAL, { seed: PORTAL, contacts: 500 });
    const id = await connect(PORTAL);
    // The connection learns the portal's time zone from HubSpot's account details, with owners and pipelines.
    await eventually(async () => {
      const row = await stack.db.pool.query('select time_zone from connections where id = $1', [id]);
      return row.rows[0].time_zone === TIME_ZONE ? true : undefined;
    }, 30_000, "the portal's time zone");
    await backfilled(id);
    await stack.control.setFaults({ rateLimitStorm: { forMs: 10 * 60_000, policyName: 'DAILY' } }, PORTAL);
    expect((await stack.api(`/connections/${id}/resync`, { method: 'POST', json: {} })).status).toBe(200);
    const paused = await eventually(async () => {
      const body = await status(id);
      return body.live?.status === 'paused' ? body : undefined;
    }, 30_000, 'the connection to pause');
    expect(paused.live.autoResumeAt).toBe(new Date(nextMidnight(Date.now(), TIME_ZONE)).toISOString());
    expect(paused.live.autoResumeAt).not.toBe(new Date(nextMidnight(Date.now(), 'UTC')).toISOString());
    // HubSpot's answer is in the status (another run may have met the budget's daily block after it).
    expect(paused.live.recentErrors).toContainEqual({ at: expect.any(String), type: 'HubSpotDailyLimit', message: expect.stringMatching(/429.*daily limit.*correlation id [0-9a-f-]{36}/) });
    // A daily 429 is not retried.
    const failed = (await syncActivities(id)).filter((a) => a.failure?.type === 'HubSpotDailyLimit');
    expect(failed.length).toBeGreaterThanOrEqual(1);
    expect(failed.every((a) => a.attempt === 1)).toBe(true);

    await new Promise((resolve) => setTimeout(resolve, 1_000)); // runs already failing may finish
    const before = hubspotRequests(PORTAL);
    await new Promise((resolve) => setTimeout(resolve, 6_000));
    expect(hubspotRequests(PORTAL)).toBe(before);
    expect((await status(id)).live.status).toBe('paused');
    await stack.control.clearFaults(PORTAL);
  }, 60_000);

  it('a daily block in the shared budget pauses the connection until the reset, then it resumes on its own and completes', async () => {
    const PORTAL = 720_301;
    await seededPortal(PORTAL, 500);
    // What a worker that saw the DAILY 429 records: every worker stops for this portal until the reset.
    const resetAt = Date.now() + 35_000; // beyond the 30 s an activity waits for a permit
    await createRateBudget(stack.db.pool).recordRejection({ portalId: PORTAL }, 'DAILY', new Date(resetAt));
    const id = await connect(PORTAL);
    const connectedAt = Date.now(); // after the token check of POST /connections
    const paused = await eventually(async () => {
      const body = await status(id);
      return body.live?.status === 'paused' ? body : undefined;
    }, 20_000, 'the connection to pause');
    expect(Math.abs(Date.parse(paused.live.autoResumeAt) - resetAt)).toBeLessThan(2_000);
    expect(paused.rateBudget.daily.blockedUntil).toBe(new Date(resetAt).toISOString());

    const resumed = await backfilled(id, 60_000);
    expect(resumed.live.status).toBe('active');
    expect(Date.parse(resumed.live.statusChangedAt)).toBeGreaterThanOrEqual(Date.parse(paused.live.autoResumeAt));
    expect(await mirrored(id)).toBe(500);
    // Nothing reached HubSpot before the reset.
    const log = [...stack.sandbox.rateLimiter.requestLog(`crm:${PORTAL}`), ...stack.sandbox.rateLimiter.requestLog(`search:${PORTAL}`)];
    expect(log.filter((t) => t > connectedAt && t < resetAt - 50)).toEqual([]);
    expect(log.filter((t) => t >= resetAt - 50).length).toBeGreaterThan(5);
  }, 90_000);
});

describe('each HubSpot error class through the real activity and retry policy', () => {
  /** Minimum time from scheduling to the attempt that ran last, for that attempt number. */
  type Case = { name: string; faults: FaultConfig; type: string; minDelayMs: (attempt: number) => number; clearAfterFirst?: boolean };
  const backoff = (attempt: number) => (2 ** (attempt - 1) - 1) * 1_000; // PAGE_SYNC: 1 s, then doubling
  const retried: Case[] = [
    { name: '423 Locked is retried after at least 2 s', faults: { locked: { requests: 1 } }, type: 'HubSpotLocked', minDelayMs: (n) => (n - 1) * 2_000 },
    { name: "477 Migration in progress is retried after HubSpot's Retry-After", faults: { migration: { requests: 1, retryAfterSeconds: 4 } }, type: 'HubSpotMigrating', minDelayMs: (n) => (n - 1) * 4_000 },
    { name: '503 is retried with backoff', faults: { errorRate: 1, errorStatuses: [503] }, type: 'HubSpotServerError', minDelayMs: backoff, clearAfterFirst: true },
    { name: 'a stalled request answered 504 (gateway timeout) is retried with backoff', faults: { stallRate: 1, stallMs: 1_500 }, type: 'HubSpotServerError', minDelayMs: backoff, clearAfterFirst: true },
  ];

  it.each(retried.map((c, i) => ({ ...c, portalId: 720_400 + i })))('$name, and the page succeeds', async ({ portalId, faults, type, minDelayMs, clearAfterFirst }) => {
    await seededPortal(portalId, 300);
    const id = await connect(portalId);
    const injected = () => Object.values(stack.sandbox.faults.stats()).reduce((n, x) => n + x, 0);
    const before = injected();
    await stack.control.setFaults(faults, portalId);
    // A quick backfill may be done before the fault is armed: a later run (the archived sweep) meets it then.
    await eventually(async () => (injected() > before ? true : undefined), 20_000, 'the injected failure');
    if (clearAfterFirst) await stack.control.clearFaults(portalId);
    const body = await backfilled(id, 60_000);
    expect(await mirrored(id)).toBe(300);
    expect(body.live.recentErrors).toEqual([]);

    const retriedOnes = await eventually(async () => {
      const found = (await syncActivities(id)).filter((a) => a.lastFailure?.type === type);
      return found.length > 0 && found.every((a) => a.outcome === 'completed') ? found : undefined;
    }, 20_000, `a completed retry after ${type}`);
    for (const a of retriedOnes) {
      expect(a.attempt).toBeGreaterThanOrEqual(2);
      expect(a.startedMs - a.scheduledMs).toBeGreaterThanOrEqual(minDelayMs(a.attempt) - 50);
    }
  }, 90_000);

  const hubspotError = (status: number, category: string, message: string) => ({ status, body: { status: 'error', message, correlationId: randomUUID(), category } });
  const final = [
    { name: '403 missing scopes', type: 'HubSpotMissingScopes', answer: hubspotError(403, 'MISSING_SCOPES', 'This app hasn\'t been granted all required scopes to make this call.') },
    { name: '400 validation error', type: 'HubSpotValidation', answer: hubspotError(400, 'VALIDATION_ERROR', 'Property values were not valid: limit must be at most 100') },
  ];

  it.each(final.map((c, i) => ({ ...c, portalId: 720_500 + i })))('$name is not retried and shows in the status with HubSpot\'s message and correlation id', async ({ portalId, type, answer }) => {
    await seededPortal(portalId, 300);
    const id = await connect(portalId);
    armed.set(portalId, answer);
    const body = await eventually(async () => {
      const b = await status(id);
      return b.live?.recentErrors?.length ? b : undefined;
    }, 30_000, 'a recent error');
    expect(body.live.recentErrors[0].type).toBe(type);
    expect(body.live.recentErrors[0].message).toContain(answer.body.message);
    expect(body.live.recentErrors[0].message).toContain(answer.body.correlationId);
    const failed = (await syncActivities(id)).filter((a) => a.failure?.type === type);
    expect(failed).toHaveLength(1);
    expect(failed[0]!.attempt).toBe(1);
    // Only that request failed: the next run of the backfill completes.
    await backfilled(id, 60_000);
    expect(await mirrored(id)).toBe(300);
  }, 90_000);

  it('401 invalid authentication (token revoked) is not retried and parks the connection in reauth_required with HubSpot\'s message', async () => {
    const portalId = 720_600;
    await seededPortal(portalId, 300);
    const id = await connect(portalId);
    await stack.control.revokeTokens(portalId);
    const body = await eventually(async () => {
      const b = await status(id);
      return b.live?.status === 'reauth_required' ? b : undefined;
    }, 30_000, 'reauth_required');
    expect(body.live.recentErrors[0].type).toBe('HubSpotInvalidToken');
    expect(body.live.recentErrors[0].message).toMatch(/HubSpot 401 INVALID_AUTHENTICATION: .+ \(correlation id [0-9a-f-]{36}\)/);
    const failed = (await syncActivities(id)).filter((a) => a.failure?.type === 'HubSpotInvalidToken');
    expect(failed.length).toBeGreaterThanOrEqual(1);
    expect(failed.every((a) => a.attempt === 1)).toBe(true);
  }, 60_000);
});
