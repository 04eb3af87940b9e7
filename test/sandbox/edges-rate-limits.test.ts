import { Client } from '@hubspot/api-client';
import express from 'express';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { budgetKey, maxInAnyWindow, RateLimiter, rateLimitMiddleware, type CallKind } from '../../src/sandbox/rate-limits.js';
import { requireAuth, TokenRegistry, type AuthContext } from '../../src/sandbox/tokens.js';
import type { SandboxClock } from '../../src/sandbox/types.js';
import { serve, type Served } from './edges-http.js';

/** A clock that only moves when told, so a burst of requests lands in one window. */
class ManualClock implements SandboxClock {
  constructor(public t: number) {}
  now() {
    return this.t;
  }
}

const PORTAL = 501;
const PAT = 'pat-na1-rate';
/** A second private app in the same portal. */
const OTHER_PAT = 'pat-na1-rate-other';
/** A second token of the first private app. */
const SAME_APP_PAT = 'pat-na1-rate-same-app';
const START = Date.UTC(2026, 0, 15, 12, 0, 0);

let clock: ManualClock;
let limiter: RateLimiter;
let tokens: TokenRegistry;
let oauthToken: string;
let patApp: number;
let otherApp: number;
let server: Served;

beforeAll(async () => {
  clock = new ManualClock(START);
  tokens = new TokenRegistry(clock);
  patApp = tokens.addStaticToken(PAT, PORTAL);
  otherApp = tokens.addStaticToken(OTHER_PAT, PORTAL);
  tokens.addStaticToken(SAME_APP_PAT, PORTAL, { appId: patApp });
  tokens.registerApp({ appId: 9, clientId: 'c9', clientSecret: 's9' });
  limiter = new RateLimiter(clock);
  const app = express();
  app.use(
    '/crm',
    requireAuth(tokens),
    rateLimitMiddleware(limiter, (req, res) => {
      const auth = res.locals.auth as AuthContext;
      const kind: CallKind = req.path.endsWith('/search') ? 'search' : auth.kind === 'oauth' ? 'oauth' : 'crm';
      return { portalId: auth.portalId, kind, ...(auth.appId === undefined ? {} : { appId: auth.appId }) };
    }),
  );
  app.get('/crm/v3/objects/contacts', (_req, res) => void res.json({ results: [] }));
  app.post('/crm/v3/objects/contacts/search', (_req, res) => void res.json({ total: 0, results: [] }));
  server = await serve(app);
});
afterAll(() => server.close());
beforeEach(() => {
  clock.t += 24 * 3600 * 1000;
  // A fresh access token each test: the day that just passed expired the last one.
  oauthToken = tokens.issueTokens({ appId: 9, portalId: PORTAL, scopes: [] }).access_token;
  limiter.reset();
  limiter.enabled = true;
  limiter.retryAfter = false;
});

const list = (token = PAT) => fetch(`${server.url}/crm/v3/objects/contacts`, { headers: { authorization: `Bearer ${token}` } });
const search = () => fetch(`${server.url}/crm/v3/objects/contacts/search`, { method: 'POST', headers: { authorization: `Bearer ${PAT}` } });

describe('rate-limit headers', () => {
  it('are on CRM responses, with the daily pair for private apps', async () => {
    const res = await list();
    expect(res.status).toBe(200);
    expect(res.headers.get('x-hubspot-ratelimit-interval-milliseconds')).toBe('10000');
    expect(res.headers.get('x-hubspot-ratelimit-max')).toBe('100');
    expect(res.headers.get('x-hubspot-ratelimit-remaining')).toBe('99');
    expect(res.headers.get('x-hubspot-ratelimit-daily')).toBe('250000');
    expect(res.headers.get('x-hubspot-ratelimit-daily-remaining')).toBe('249999');
  });

  it('leave out the daily pair for OAuth calls, which have the public-app budget of 110', async () => {
    const res = await list(oauthToken);
    expect(res.headers.get('x-hubspot-ratelimit-max')).toBe('110');
    expect(res.headers.has('x-hubspot-ratelimit-daily')).toBe(false);
    expect(res.headers.has('x-hubspot-ratelimit-daily-remaining')).toBe(false);
  });

  it('are absent on search responses', async () => {
    const res = await search();
    expect(res.status).toBe(200);
    expect([...res.headers.keys()].filter((h) => h.startsWith('x-hubspot-ratelimit'))).toEqual([]);
  });

  it('follow the tier set for the portal', async () => {
    limiter.setTier(PORTAL, 'professional');
    try {
      expect((await list()).headers.get('x-hubspot-ratelimit-max')).toBe('190');
    } finally {
      limiter.setTier(PORTAL, 'free');
    }
  });
});

describe('ten-secondly rolling limit', () => {
  it('answers the 101st request within 10 s with the exact 429 body, and not before', async () => {
    for (let i = 0; i < 100; i++) expect((await list()).status).toBe(200);
    const res = await list();
    expect(res.status).toBe(429);
    expect(await res.json()).toEqual({
      status: 'error',
      message: 'You have reached your ten_secondly_rolling limit.',
      errorType: 'RATE_LIMIT',
      correlationId: expect.stringMatching(/^[0-9a-f-]{36}$/),
      policyName: 'TEN_SECONDLY_ROLLING',
    });
    expect(res.headers.has('retry-after')).toBe(false);
    expect(limiter.portalStats(PORTAL).rejected.TEN_SECONDLY_ROLLING).toBe(1);
  });

  it('rolls: requests free up exactly ten seconds after they were made', async () => {
    for (let i = 0; i < 50; i++) await list();
    clock.t += 5_000;
    for (let i = 0; i < 50; i++) await list();
    expect((await list()).status).toBe(429);
    clock.t += 5_000; // the first 50 are now exactly 10 s old: out of the window
    for (let i = 0; i < 50; i++) expect((await list()).status).toBe(200);
    expect((await list()).status).toBe(429);
  });

  it('reaches the official client as an ApiException carrying policyName', async () => {
    const client = new Client({ accessToken: PAT, basePath: server.url, numberOfApiCallRetries: 0 });
    for (let i = 0; i < 100; i++) await client.crm.contacts.basicApi.getPage();
    const error = await client.crm.contacts.basicApi.getPage().catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 429, body: { policyName: 'TEN_SECONDLY_ROLLING', errorType: 'RATE_LIMIT' } });
  });

  it('keeps separate budgets for an OAuth app and the portal private app', async () => {
    for (let i = 0; i < 100; i++) await list();
    expect((await list()).status).toBe(429);
    expect((await list(oauthToken)).status).toBe(200);
    expect(limiter.requestLog(budgetKey({ portalId: PORTAL, appId: 9, kind: 'oauth' }))).toHaveLength(1);
  });

  it('gives each private app its own ten-second budget; tokens of one app share it', async () => {
    expect(otherApp).not.toBe(patApp);
    for (let i = 0; i < 60; i++) expect((await list(PAT)).status).toBe(200);
    for (let i = 0; i < 40; i++) expect((await list(SAME_APP_PAT)).status).toBe(200);
    expect((await list(PAT)).status).toBe(429);
    expect((await list(SAME_APP_PAT)).status).toBe(429);
    const other = await list(OTHER_PAT);
    expect(other.status).toBe(200);
    expect(other.headers.get('x-hubspot-ratelimit-remaining')).toBe('99');
    for (let i = 0; i < 99; i++) expect((await list(OTHER_PAT)).status).toBe(200);
    expect((await list(OTHER_PAT)).status).toBe(429);

    // The portal's counters still cover every app; each app's are kept beside them.
    expect(limiter.portalStats(PORTAL)).toEqual({ requests: 203, rejected: { TEN_SECONDLY_ROLLING: 3, DAILY: 0, SECONDLY: 0 } });
    expect(limiter.appStats(PORTAL, patApp)).toEqual({ requests: 102, rejected: { TEN_SECONDLY_ROLLING: 2, DAILY: 0, SECONDLY: 0 } });
    expect(limiter.appStats(PORTAL, otherApp)).toEqual({ requests: 101, rejected: { TEN_SECONDLY_ROLLING: 1, DAILY: 0, SECONDLY: 0 } });
    expect(Object.keys(limiter.appStatsOf(PORTAL)).sort()).toEqual([String(patApp), String(otherApp)].sort());
    expect(maxInAnyWindow(limiter.requestLog(budgetKey({ portalId: PORTAL, appId: patApp, kind: 'crm' })), 10_000)).toBe(100);
    // Every private-app call of the portal, whichever app made it.
    expect(limiter.requestLog(`crm:${PORTAL}`)).toHaveLength(200);
  });

  it('never lets more than the budget through in any rolling window', async () => {
    let seed = 7;
    const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (let i = 0; i < 600; i++) {
      clock.t += Math.floor(rand() * 120);
      await list();
    }
    const log = limiter.requestLog(budgetKey({ portalId: PORTAL, appId: patApp, kind: 'crm' }));
    expect(limiter.portalStats(PORTAL).rejected.TEN_SECONDLY_ROLLING).toBeGreaterThan(0);
    expect(maxInAnyWindow(log, 10_000)).toBe(100);
  });

  it('adds Retry-After when configured', async () => {
    limiter.retryAfter = true;
    for (let i = 0; i < 100; i++) await list();
    clock.t += 2_500;
    expect((await list()).headers.get('retry-after')).toBe('8');
  });

  it('can be switched off', async () => {
    limiter.enabled = false;
    for (let i = 0; i < 150; i++) expect((await list()).status).toBe(200);
  });
});

describe('search and daily limits', () => {
  it('allows 5 searches a second per portal, then answers SECONDLY without headers', async () => {
    for (let i = 0; i < 5; i++) expect((await search()).status).toBe(200);
    const res = await search();
    expect(res.status).toBe(429);
    expect(await res.json()).toMatchObject({ policyName: 'SECONDLY', errorType: 'RATE_LIMIT' });
    expect(res.headers.has('x-hubspot-ratelimit-max')).toBe(false);
    clock.t += 1_000;
    expect((await search()).status).toBe(200);
  });

  it('answers DAILY once the day is spent, until midnight in the portal time zone', async () => {
    limiter.setTimeZone(PORTAL, 'America/New_York');
    limiter.setLimits(PORTAL, { daily: 3 });
    try {
      // 20:00 in New York, 01:00 UTC the next day: the reset follows New York.
      const day = new Date(clock.t);
      clock.t = Date.UTC(day.getUTCFullYear(), day.getUTCMonth(), day.getUTCDate() + 1, 1, 0, 0);
      for (let i = 0; i < 3; i++) expect((await list()).status).toBe(200);
      const res = await list();
      expect(res.status).toBe(429);
      expect(await res.json()).toMatchObject({ policyName: 'DAILY', message: 'You have reached your daily limit.' });
      expect(res.headers.get('x-hubspot-ratelimit-daily-remaining')).toBe('0');
      clock.t += 3 * 3600 * 1000; // 23:00 New York
      expect((await list()).status).toBe(429);
      clock.t += 3600 * 1000 + 1; // past midnight New York
      expect((await list()).status).toBe(200);
      expect(limiter.portalStats(PORTAL).rejected.DAILY).toBe(2);
    } finally {
      limiter.setLimits(PORTAL, { daily: 250_000 });
      limiter.setTimeZone(PORTAL, 'UTC');
    }
  });

  it('counts the daily limit per portal, across its private apps', async () => {
    limiter.setLimits(PORTAL, { daily: 5 });
    try {
      for (let i = 0; i < 3; i++) expect((await list(PAT)).status).toBe(200);
      for (let i = 0; i < 2; i++) expect((await list(OTHER_PAT)).status).toBe(200);
      const res = await list(OTHER_PAT);
      expect(res.status).toBe(429);
      expect(await res.json()).toMatchObject({ policyName: 'DAILY' });
      expect((await list(PAT)).status).toBe(429);
      expect(limiter.portalStats(PORTAL).rejected.DAILY).toBe(2);
    } finally {
      limiter.setLimits(PORTAL, { daily: 250_000 });
    }
  });

  it('gives Retry-After up to the local midnight for a daily 429 when configured', async () => {
    limiter.retryAfter = true;
    limiter.setLimits(PORTAL, { daily: 1 });
    try {
      const day = new Date(clock.t);
      clock.t = Date.UTC(day.getUTCFullYear(), day.getUTCMonth(), day.getUTCDate(), 23, 0, 0);
      await list();
      expect((await list()).headers.get('retry-after')).toBe('3600');
    } finally {
      limiter.setLimits(PORTAL, { daily: 250_000 });
    }
  });
});

describe('maxInAnyWindow', () => {
  it('counts the densest half-open window', () => {
    expect(maxInAnyWindow([0, 1, 2, 10, 11], 10)).toBe(3);
    expect(maxInAnyWindow([0, 9, 10, 19], 10)).toBe(2);
    expect(maxInAnyWindow([], 10)).toBe(0);
  });
});
