// POST /connections/:id/test against the simulator: a healthy connection passes every check; a
// revoked token, a missing scope, an unreadable object type and absent webhook subscriptions each
// fail their own check with HubSpot's reason, and no token appears in the answer.
import type { RequestHandler } from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRateBudget } from '../../src/hubspot/rate-budget.js';
import { installConnection } from '../support/oauth-install.js';
import { startStack, type Stack } from '../support/stack.js';

const HEALTHY_PORTAL = 700601;
const REVOKED_PORTAL = 700602;
const OAUTH_PORTAL = 700603;
const TOKENS = { healthy: 'pat-na1-conn-test-healthy-0001', revoked: 'pat-na1-conn-test-revoked-0002' };

/** Deals of the healthy portal answer 403 while set: a private app without the deals scope. */
let refuseDeals = false;
const dealsScope: RequestHandler = (req, res, next) => {
  if (!refuseDeals || !req.path.startsWith('/crm/v3/objects/deals') || res.locals.auth?.portalId !== HEALTHY_PORTAL) return next();
  res.status(403).json({ status: 'error', message: 'This app hasn\'t been granted all required scopes to make this call.', correlationId: 'test-403', category: 'MISSING_SCOPES' });
};

interface Report {
  connectionId: string;
  ok: boolean;
  checks: Array<{ name: string; ok: boolean; detail: string; skipped?: boolean }>;
}

let stack: Stack;

beforeAll(async () => {
  // sandboxApi: /oauth/install may pick the simulated portal.
  stack = await startStack({ sandboxApi: true, sandbox: { hubspotMiddleware: [dealsScope] } });
  for (const portalId of [HEALTHY_PORTAL, REVOKED_PORTAL, OAUTH_PORTAL]) await stack.control.createPortal({ portalId });
  await stack.control.createObject(HEALTHY_PORTAL, 'contacts', { email: 'ada@example.com' });
  stack.sandbox.tokens.addStaticToken(TOKENS.healthy, HEALTHY_PORTAL);
  stack.sandbox.tokens.addStaticToken(TOKENS.revoked, REVOKED_PORTAL);
});
afterAll(async () => stack?.close());

async function connect(accessToken: string, objectTypes: string[]): Promise<string> {
  const response = await stack.api('/connections', { method: 'POST', json: { accessToken, objectTypes } });
  expect(response.status).toBe(201);
  return ((await response.json()) as { id: string }).id;
}

async function test(id: string): Promise<{ report: Report; text: string }> {
  const response = await stack.api(`/connections/${id}/test`, { method: 'POST' });
  expect(response.status).toBe(200);
  const text = await response.text();
  return { report: JSON.parse(text) as Report, text };
}

const check = (report: Report, name: string) => {
  const found = report.checks.find((c) => c.name === name);
  expect(found, `check ${name}`).toBeDefined();
  return found!;
};

describe('POST /connections/:id/test', () => {
  let healthy: string;

  beforeAll(async () => {
    healthy = await connect(TOKENS.healthy, ['contacts', 'deals']);
  });

  it('fails the webhooks check while the app has no subscriptions, naming what is missing', async () => {
    const { report } = await test(healthy);
    expect(report.ok).toBe(false);
    expect(check(report, 'webhooks')).toMatchObject({ ok: false });
    expect(check(report, 'webhooks').detail).toContain('POST /webhooks/subscriptions');
  });

  it('passes every check for a healthy connection, and names no token', async () => {
    expect((await stack.api('/webhooks/subscriptions', { method: 'POST', json: {} })).status).toBe(200);
    const { report, text } = await test(healthy);
    expect(report.checks.filter((c) => !c.ok)).toEqual([]);
    expect(report).toMatchObject({ connectionId: healthy, ok: true });
    expect(report.checks.map((c) => c.name)).toEqual(['token', 'scopes', 'read contacts', 'read deals', 'webhooks']);
    expect(check(report, 'scopes').detail).toContain('not reported by HubSpot for private-app tokens');
    expect(check(report, 'read contacts').detail).toBe('listed a record');
    expect(text).not.toContain(TOKENS.healthy);
  });

  it('counts its HubSpot calls against the portal’s rate budget', async () => {
    // The budget lives in PostgreSQL: another instance reads what the API's took.
    const budget = createRateBudget(stack.db.pool);
    const before = (await budget.snapshot({ portalId: HEALTHY_PORTAL })).general.used;
    await test(healthy);
    // Account details and one list per object type; the sync's own calls may add more.
    expect((await budget.snapshot({ portalId: HEALTHY_PORTAL })).general.used).toBeGreaterThanOrEqual(before + 3);
  });

  it('fails the read and scope checks of an object type HubSpot refuses, with HubSpot’s message', async () => {
    refuseDeals = true;
    try {
      const { report } = await test(healthy);
      expect(report.ok).toBe(false);
      expect(check(report, 'token').ok).toBe(true);
      expect(check(report, 'read contacts').ok).toBe(true);
      expect(check(report, 'read deals')).toMatchObject({ ok: false });
      expect(check(report, 'read deals').detail).toContain('403 MISSING_SCOPES');
      expect(check(report, 'scopes')).toMatchObject({ ok: false });
      expect(check(report, 'scopes').detail).toContain('refused deals');
    } finally {
      refuseDeals = false;
    }
  });

  it('fails the token check of a revoked token with HubSpot’s message and skips what needs the token', async () => {
    const id = await connect(TOKENS.revoked, ['contacts']);
    await stack.control.revokeTokens(REVOKED_PORTAL);
    const { report, text } = await test(id);
    expect(report.ok).toBe(false);
    expect(check(report, 'token')).toMatchObject({ ok: false });
    expect(check(report, 'token').detail).toContain('401 INVALID_AUTHENTICATION: Authentication credentials not found');
    expect(check(report, 'read contacts')).toMatchObject({ ok: false, skipped: true });
    expect(text).not.toContain(TOKENS.revoked);
  });

  it('fails the scopes check of an OAuth connection whose install lacks a read scope', async () => {
    // The stack's app asks for contacts (and optionally tickets and custom objects), never deals.
    const installed = await installConnection(stack, OAUTH_PORTAL, '&objectTypes=contacts,deals');
    expect(installed.status).toBe(201);
    const { id } = (await installed.json()) as { id: string };
    const { report } = await test(id);
    expect(check(report, 'token').ok).toBe(true);
    expect(check(report, 'scopes')).toMatchObject({ ok: false });
    expect(check(report, 'scopes').detail).toContain('crm.objects.deals.read (for deals)');
    expect(check(report, 'scopes').detail).not.toContain('contacts');
  });

  it('answers 404 for an unknown connection', async () => {
    const response = await stack.api('/connections/00000000-0000-4000-8000-000000000000/test', { method: 'POST' });
    expect(response.status).toBe(404);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe('not_found');
  });
});
