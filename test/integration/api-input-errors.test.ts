// Promise 7: bad input gets a clear 4xx that names the problem and reaches no workflow.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from '../support/stack.js';

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
