import { Client } from '@hubspot/api-client';
import express from 'express';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createFaultsRouter, FaultInjector, faultMiddleware } from '../../src/sandbox/faults.js';
import { requireAuth, TokenRegistry } from '../../src/sandbox/tokens.js';
import { AdjustableClock } from '../../src/sandbox/types.js';
import { serve, type Served } from './edges-http.js';

const A = { portal: 801, token: 'pat-na1-a' };
const B = { portal: 802, token: 'pat-na1-b' };
const RECORDS = { results: [{ id: '1', properties: { email: 'ann@example.com' } }] };

let clock: AdjustableClock;
let injector: FaultInjector;
let server: Served;

beforeAll(async () => {
  clock = new AdjustableClock();
  const tokens = new TokenRegistry(clock);
  tokens.addStaticToken(A.token, A.portal);
  tokens.addStaticToken(B.token, B.portal);
  injector = new FaultInjector(clock, 5);
  const app = express();
  app.use(createFaultsRouter(injector));
  app.use('/crm', requireAuth(tokens), faultMiddleware(injector));
  app.get('/crm/v3/objects/contacts', (_req, res) => void res.json(RECORDS));
  server = await serve(app);
});
afterAll(() => server.close());
beforeEach(() => injector.clear());

const list = (token = A.token, signal?: AbortSignal) =>
  fetch(`${server.url}/crm/v3/objects/contacts`, { headers: { authorization: `Bearer ${token}` }, ...(signal ? { signal } : {}) });

describe('injected failures', () => {
  it('answers 5xx for the configured portal only', async () => {
    injector.set({ errorRate: 1, errorStatuses: [503] }, A.portal);
    const res = await list(A.token);
    expect(res.status).toBe(503);
    expect(await res.json()).toMatchObject({ status: 'error', category: 'INTERNAL_ERROR' });
    expect((await list(B.token)).status).toBe(200);
  });

  it('injects a 5xx rate that is the same for the same seed', async () => {
    const run = () => {
      const i = new FaultInjector(clock, 99);
      i.set({ errorRate: 0.3 });
      return Array.from({ length: 400 }, () => i.decide(A.portal).kind);
    };
    const first = run();
    expect(run()).toEqual(first);
    const errors = first.filter((k) => k === 'respond').length;
    expect(errors).toBeGreaterThan(80);
    expect(errors).toBeLessThan(160);
  });

  it('adds latency', async () => {
    injector.set({ latencyMs: 150 });
    const start = performance.now();
    expect((await list()).status).toBe(200);
    expect(performance.now() - start).toBeGreaterThanOrEqual(145);
  });

  it('stalls longer than the client waits', async () => {
    injector.set({ stallRate: 1, stallMs: 30_000 });
    const start = performance.now();
    const error = await list(A.token, AbortSignal.timeout(200)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).name).toBe('TimeoutError');
    expect(performance.now() - start).toBeLessThan(2_000);
    expect(injector.stats().stalls).toBe(1);
  });

  it('answers a 429 storm for the next N requests, seen by the official client as DAILY', async () => {
    injector.set({ rateLimitStorm: { requests: 2, policyName: 'DAILY' } });
    const client = new Client({ accessToken: A.token, basePath: server.url, numberOfApiCallRetries: 0 });
    const error = await client.crm.contacts.basicApi.getPage().catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 429, body: { status: 'error', errorType: 'RATE_LIMIT', policyName: 'DAILY', message: 'You have reached your daily limit.' } });
    expect((await list()).status).toBe(429);
    expect((await list()).status).toBe(200);
  });

  it('answers a 429 storm for a window of sandbox time', async () => {
    injector.set({ rateLimitStorm: { forMs: 10_000 } });
    const res = await list();
    expect(res.status).toBe(429);
    expect(await res.json()).toMatchObject({ policyName: 'TEN_SECONDLY_ROLLING' });
    clock.advance(10_000);
    expect((await list()).status).toBe(200);
  });

  it('answers 423 and 477, the latter with Retry-After', async () => {
    injector.set({ locked: { requests: 1 }, migration: { requests: 1, retryAfterSeconds: 30 } });
    const locked = await list();
    expect(locked.status).toBe(423);
    const migrating = await list();
    expect(migrating.status).toBe(477);
    expect(migrating.headers.get('retry-after')).toBe('30');
    expect((await list()).status).toBe(200);
    expect(injector.stats()).toMatchObject({ locked: 1, migration: 1 });
  });

  it('cuts JSON bodies in half', async () => {
    injector.set({ malformedJsonRate: 1 });
    const res = await list();
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/application\/json/);
    const text = await res.text();
    expect(() => JSON.parse(text) as unknown).toThrow();
    expect(JSON.stringify(RECORDS).startsWith(text)).toBe(true);
  });
});

describe('/__sandbox/faults', () => {
  const control = (method: string, path = '', body?: unknown) =>
    fetch(`${server.url}/__sandbox/faults${path}`, {
      method,
      headers: { 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });

  it('sets, shows and clears faults per portal', async () => {
    expect((await control('PUT', `/${A.portal}`, { errorRate: 1 })).status).toBe(200);
    const shown = (await (await control('GET')).json()) as { portals: Record<string, unknown> };
    expect(shown.portals[String(A.portal)]).toMatchObject({ errorRate: 1 });
    expect((await list()).status).toBeGreaterThanOrEqual(500);
    expect((await control('DELETE', `/${A.portal}`)).status).toBe(204);
    expect((await list()).status).toBe(200);
  });

  it('refuses an invalid config with a 400 naming the problem', async () => {
    const res = await control('PUT', '', { errorRate: 2 });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: { code: 'invalid_faults', message: expect.stringContaining('errorRate') } });
  });
});
