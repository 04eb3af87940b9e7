// Promise 7: bad input gets a clear 4xx that names the problem and reaches no workflow.
// Also readiness: 503 naming what is down while /healthz stays 200.
import { Client, Connection } from '@temporalio/client';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { freePort } from '../../src/embedded/free-port.js';
import { createDataConverter } from '../../src/temporal/data-converter.js';
import { serveAppWith, type ServedApp } from '../support/app-with.js';
import { eventually, startStack, type Stack } from '../support/stack.js';

let stack: Stack;

beforeAll(async () => {
  stack = await startStack();
  await stack.control.createPortal({ portalId: 700201 });
  stack.sandbox.tokens.addStaticToken('pat-na1-valid-token', 700201);
});
afterAll(async () => stack?.close());

async function expectError(response: Response, status: number, code: string, messagePart?: string): Promise<void> {
  expect(response.status).toBe(status);
  const body = (await response.json()) as { error: { code: string; message: string } };
  expect(body.error.code).toBe(code);
  if (messagePart) expect(body.error.message).toContain(messagePart);
}

async function nothingStarted(): Promise<void> {
  const rows = await stack.db.pool.query('select count(*)::int as n from connections');
  expect(rows.rows[0].n).toBe(0);
  let workflows = 0;
  for await (const _ of stack.temporal.workflow.list({ query: `TaskQueue = "${stack.taskQueue}"` })) workflows++;
  expect(workflows).toBe(0);
}

describe('POST /connections refuses bad input', () => {
  it('a token HubSpot rejects → 400 with HubSpot’s reason', async () => {
    await expectError(await stack.api('/connections', { method: 'POST', json: { accessToken: 'pat-na1-unknown' } }), 400, 'invalid_access_token', 'HubSpot rejected');
  });

  it('a missing token → 400 naming accessToken', async () => {
    await expectError(await stack.api('/connections', { method: 'POST', json: {} }), 400, 'invalid_request', 'accessToken');
  });

  it('an unknown object type → 400 naming the index', async () => {
    const response = await stack.api('/connections', { method: 'POST', json: { accessToken: 'pat-na1-valid-token', objectTypes: ['contacts', 'Robots!'] } });
    await expectError(response, 400, 'invalid_request', 'objectTypes.1');
  });

  it('a custom object the portal does not have → 400 naming it', async () => {
    const response = await stack.api('/connections', { method: 'POST', json: { accessToken: 'pat-na1-valid-token', objectTypes: ['contacts', 'p700201_robots'] } });
    await expectError(response, 400, 'invalid_request', 'p700201_robots');
  });

  it('a sync interval out of range → 400 naming syncIntervalSeconds', async () => {
    const response = await stack.api('/connections', { method: 'POST', json: { accessToken: 'pat-na1-valid-token', syncIntervalSeconds: 1 } });
    await expectError(response, 400, 'invalid_request', 'syncIntervalSeconds');
  });

  it('an unknown field → 400 naming it', async () => {
    const response = await stack.api('/connections', { method: 'POST', json: { accessToken: 'pat-na1-valid-token', colour: 'blue' } });
    await expectError(response, 400, 'invalid_request', 'colour');
  });

  it('malformed JSON → 400 invalid_json', async () => {
    const response = await stack.api('/connections', { method: 'POST', body: '{"accessToken":', headers: { 'content-type': 'application/json' } });
    await expectError(response, 400, 'invalid_json');
  });

  it('an oversized body → 413', async () => {
    const response = await stack.api('/connections', { method: 'POST', json: { accessToken: 'x'.repeat(2 * 1024 * 1024) } });
    await expectError(response, 413, 'payload_too_large');
  });

  it('and none of that created a row or a workflow', nothingStarted);
});

describe('management routes', () => {
  it('answer 401 without the operator token', async () => {
    await expectError(await fetch(`${stack.apiUrl}/connections`), 401, 'unauthorized');
    await expectError(await stack.api('/connections', { headers: { authorization: 'Bearer wrong-token-wrong-token' } }), 401, 'unauthorized');
  });

  it('answer 404 for an unknown connection', async () => {
    await expectError(await stack.api('/connections/6f1c1d6e-0000-4000-8000-000000000000'), 404, 'not_found', 'no connection');
    await expectError(await stack.api('/connections/not-a-uuid/pause', { method: 'POST' }), 404, 'not_found');
  });

  it('reject bad list filters with 400', async () => {
    await expectError(await stack.api('/connections?status=sleeping'), 400, 'invalid_request', 'status');
    await expectError(await stack.api('/connections?limit=0'), 400, 'invalid_request', 'limit');
  });

  it('leave health and readiness open', async () => {
    expect((await fetch(`${stack.apiUrl}/healthz`)).status).toBe(200);
    const ready = await fetch(`${stack.apiUrl}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ready', checks: { postgres: 'ok', temporal: 'ok' } });
  });
});

describe('GET /readyz when a dependency is down', () => {
  const served: ServedApp[] = [];
  const pools: pg.Pool[] = [];
  afterAll(async () => {
    for (const app of served) await app.close();
    for (const pool of pools) await pool.end();
  });

  /** A pool whose PostgreSQL is gone: nothing listens on its port. */
  async function deadPool(): Promise<pg.Pool> {
    const pool = new pg.Pool({ connectionString: `postgres://postgres@127.0.0.1:${await freePort()}/postgres` });
    pools.push(pool);
    return pool;
  }

  /** A client of the real Temporal server whose connection was closed, as after a lost connection. */
  async function closedTemporal(): Promise<Client> {
    const connection = await Connection.connect({ address: inject('temporalAddress') });
    await connection.close();
    return new Client({ connection, namespace: 'default', dataConverter: createDataConverter([stack.cipherKey]) });
  }

  async function probe(app: ServedApp): Promise<{ ready: Response; body: any; health: Response }> {
    const ready = await fetch(`${app.url}/readyz`);
    return { ready, body: await ready.json(), health: await fetch(`${app.url}/healthz`) };
  }

  it('answers 503 naming PostgreSQL when its server is unreachable, and /healthz stays 200', async () => {
    const app = await serveAppWith(stack, { pool: await deadPool() });
    served.push(app);
    const { ready, body, health } = await probe(app);
    expect(ready.status).toBe(503);
    expect(body).toEqual({ status: 'not_ready', checks: { postgres: expect.stringMatching(/^unavailable: .*ECONNREFUSED/), temporal: 'ok' } });
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok' });
  });

  it('answers 503 naming Temporal when its connection is closed, and /healthz stays 200', async () => {
    const app = await serveAppWith(stack, { temporal: await closedTemporal() });
    served.push(app);
    const { ready, body, health } = await probe(app);
    expect(ready.status).toBe(503);
    expect(body).toEqual({ status: 'not_ready', checks: { postgres: 'ok', temporal: expect.stringMatching(/^unavailable: /) } });
    expect(health.status).toBe(200);
  });

  it('answers within seconds when Temporal does not answer at all, naming both when both are down', async () => {
    // Nothing listens there: the SDK would retry for about 20 s without the probe's own deadline.
    const unreachable = new Client({ connection: Connection.lazy({ address: `127.0.0.1:${await freePort()}` }), namespace: 'default' });
    const app = await serveAppWith(stack, { temporal: unreachable, pool: await deadPool() });
    served.push(app);
    const started = Date.now();
    const { ready, body } = await probe(app);
    expect(Date.now() - started).toBeLessThan(8_000);
    expect(ready.status).toBe(503);
    expect(body.checks.postgres).toMatch(/^unavailable: /);
    expect(body.checks.temporal).toMatch(/^unavailable: /);
    // Not closed: the SDK's retries of the abandoned call still run, and would throw on a closed channel.
  });
});

describe('POST /connections/:id/resync refuses invalid parameters before any workflow', () => {
  let id: string;

  beforeAll(async () => {
    const response = await stack.api('/connections', { method: 'POST', json: { accessToken: 'pat-na1-valid-token', objectTypes: ['contacts'] } });
    expect(response.status).toBe(201);
    ({ id } = (await response.json()) as { id: string });
    await eventually(async () => ((await (await stack.api(`/connections/${id}`)).json()) as any).live?.status === 'active' || undefined, 30_000, 'the connection active');
    // With no worker, an update that reached the workflow would wait for one until the API's
    // 10 s deadline: a quick 400 can only come from the API. (An update its validator rejects
    // leaves no event in the history, so the history could not tell.)
    await stack.stopWorker();
  });

  it.each([
    ['an object type the connection does not sync', { objectType: 'deals' }, 'objectType: deals is not synced by this connection (it syncs contacts)'],
    ['a since that is not an ISO time', { since: 'yesterday' }, 'since: expected an ISO time'],
    ['a since without a UTC offset', { objectType: 'contacts', since: '2026-01-01T00:00:00' }, 'since:'],
  ])('%s → 400 naming it, answered without the workflow', async (_what, body, message) => {
    const started = Date.now();
    await expectError(await stack.api(`/connections/${id}/resync`, { method: 'POST', json: body }), 400, 'invalid_request', message);
    expect(Date.now() - started).toBeLessThan(5_000);
  });
});
