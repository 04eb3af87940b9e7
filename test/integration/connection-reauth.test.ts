// An OAuth connection across token trouble, on the real stack: an access token that expires
// mid-sync is refreshed and the sync goes on; a refresh token HubSpot refuses moves the connection
// to reauth_required without a retry loop; a new install resumes it from its cursors.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectionStatusKey } from '../../src/temporal/search-attributes.js';
import { webhookEventsSignal, type WebhookEvent } from '../../src/workflows/definitions.js';
import { installConnection } from '../support/oauth-install.js';
import { decodedHistoriesOfStack } from '../support/secret-scan.js';
import { eventually, OAUTH_APP, startStack, liveStatus, type Stack } from '../support/stack.js';

const PORTAL_ID = 700501;
const INTERVAL_S = 10;

let stack: Stack;
let connection: { id: string; workflowId: string };
/** Webhook records applied when the connection went to reauth_required. */
let appliedBeforeReauth = 0;
/** Ids of three seeded contacts. */
let contactIds: string[];

const live = () => liveStatus(stack, connection.id);

async function mirroredJobTitle(contactId: string): Promise<string | undefined> {
  const row = await stack.db.pool.query(
    `select properties->>'jobtitle' as jobtitle from crm_objects where connection_id = $1 and object_type = 'contacts' and object_id = $2`,
    [connection.id, contactId],
  );
  return row.rows[0]?.jobtitle;
}

/** Edits a contact in HubSpot and waits until the mirror has the edit. */
async function expectChangeToArrive(contactId: string, jobtitle: string, timeoutMs = 3 * INTERVAL_S * 1000): Promise<void> {
  await stack.control.updateObject(PORTAL_ID, 'contacts', contactId, { jobtitle });
  await eventually(async () => ((await mirroredJobTitle(contactId)) === jobtitle ? true : undefined), timeoutMs, `jobtitle ${jobtitle} in the mirror`);
}

async function storedRefreshToken(): Promise<string> {
  const row = (await stack.db.pool.query('select key_id, refresh_token from connection_tokens where connection_id = $1', [connection.id])).rows[0];
  return stack.cipher.open({ keyId: row.key_id, ciphertext: row.refresh_token });
}

beforeAll(async () => {
  stack = await startStack({ sandboxApi: true });
  await stack.control.createPortal({ portalId: PORTAL_ID });
  await stack.control.seed(PORTAL_ID, { seed: 5, contacts: 300, companies: 40 });
  contactIds = (await stack.control.groundTruth(PORTAL_ID)).objects.contacts!.slice(0, 3).map((c) => c.id);
  // Every type syncs in its own child: each hits the expired token at about the same time.
  const answer = await installConnection(stack, PORTAL_ID, `&objectTypes=contacts,companies,deals,tickets&syncIntervalSeconds=${INTERVAL_S}`);
  expect(answer.status).toBe(201);
  connection = (await answer.json()) as { id: string; workflowId: string };
  await eventually(async () => {
    const objects = Object.values((await live())?.objects ?? {}) as Array<{ backfill: { status: string } }>;
    return objects.length === 4 && objects.every((o) => o.backfill.status === 'done') ? true : undefined;
  }, 60_000, 'backfill');
});
afterAll(async () => stack?.close());

describe('an OAuth connection', () => {
  it("draws on its app's own rate budget in the portal, apart from private apps, and not on the portal's daily quota", async () => {
    const windows = await stack.db.pool.query(`select key from rate_windows where key like $1 order by key`, [`general:${PORTAL_ID}%`]);
    expect(windows.rows.map((row) => row.key)).toEqual([`general:${PORTAL_ID}:${OAUTH_APP.appId}`]);
    const daily = await stack.db.pool.query(`select used from rate_daily where portal_id = $1`, [PORTAL_ID]);
    expect(daily.rows.map((row) => row.used)).toEqual(daily.rowCount ? [0] : []);
  });

  it('refreshes an access token that expired mid-sync and keeps syncing', async () => {
    const before = stack.sandbox.tokens.refreshAttempts(PORTAL_ID);
    // HubSpot's clock jumps past the token's 30 minutes: the next call gets 401 EXPIRED_AUTHENTICATION.
    await stack.control.advanceClock(31 * 60_000);
    await expectChangeToArrive(contactIds[0]!, 'after expiry');
    expect(stack.sandbox.tokens.refreshAttempts(PORTAL_ID)).toBeGreaterThan(before);
    expect((await live()).status).toBe('active');
  });

  it('moves to reauth_required when HubSpot refuses the refresh token, with at most 3 refresh attempts', async () => {
    const refreshToken = await storedRefreshToken();
    const revoked = await fetch(`${stack.sandboxUrl}/oauth/v1/refresh-tokens/${refreshToken}`, { method: 'DELETE' });
    expect(revoked.status).toBe(204);
    const before = stack.sandbox.tokens.refreshAttempts(PORTAL_ID);
    await stack.control.advanceClock(31 * 60_000);
    await stack.control.updateObject(PORTAL_ID, 'contacts', contactIds[1]!, { jobtitle: 'while refused' });

    await eventually(async () => ((await live()).status === 'reauth_required' ? true : undefined), 3 * INTERVAL_S * 1000, 'reauth_required');
    const status = await live();
    expect(status.recentErrors[0]).toMatchObject({ type: 'RefreshTokenRejected' });
    const row = await stack.db.pool.query('select status from connections where id = $1', [connection.id]);
    await eventually(async () => ((await stack.db.pool.query('select status from connections where id = $1', [connection.id])).rows[0].status === 'reauth_required' ? true : undefined));
    expect(row.rowCount).toBe(1);
    const description = await stack.temporal.workflow.getHandle(connection.workflowId).describe();
    expect(description.typedSearchAttributes.get(connectionStatusKey)).toBe('reauth_required');

    // Four object types, one refused refresh token: HubSpot is asked once or twice (the timer and
    // an expired-token 401 may both get there first), never once per activity. No hot retry loop:
    // two more intervals pass without another refresh attempt.
    const attempts = stack.sandbox.tokens.refreshAttempts(PORTAL_ID) - before;
    expect(attempts).toBeGreaterThanOrEqual(1);
    expect(attempts).toBeLessThanOrEqual(3);
    await new Promise((resolve) => setTimeout(resolve, 2 * INTERVAL_S * 1000));
    expect(stack.sandbox.tokens.refreshAttempts(PORTAL_ID) - before).toBe(attempts);
    expect(await mirroredJobTitle(contactIds[1]!)).not.toBe('while refused');

    // An operator cannot just resume it.
    expect((await stack.api(`/connections/${connection.id}/resume`, { method: 'POST' })).status).toBe(409);

    // A webhook arriving now is kept, not applied, until the connection works again.
    appliedBeforeReauth = status.webhooks.applied;
    const event: WebhookEvent = { eventId: 1, subscriptionId: 3, portalId: PORTAL_ID, occurredAt: Date.now(), subscriptionType: 'contact.propertyChange', objectId: contactIds[1]!, propertyName: 'jobtitle' };
    await stack.temporal.workflow.getHandle(connection.workflowId).signal(webhookEventsSignal, [event]);
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    expect((await live()).webhooks).toMatchObject({ received: 1, pending: { contacts: 1 }, running: null });
  }, 90_000);

  it('resumes from its cursors after a new install through /oauth/callback', async () => {
    const answer = await installConnection(stack, PORTAL_ID);
    expect(answer.status).toBe(200);
    expect(await answer.json()).toMatchObject({ id: connection.id, reauthorized: true });
    await eventually(async () => ((await live()).status === 'active' ? true : undefined), 20_000, 'active again');
    // The webhook kept while refused is applied now.
    await eventually(async () => {
      const hooks = (await live()).webhooks;
      return (hooks.pending.contacts ?? 0) === 0 && hooks.applied > appliedBeforeReauth ? true : undefined;
    }, 20_000, 'the kept webhook applied');
    // The change made while refused arrives, and so do new ones; no new backfill was needed.
    await eventually(async () => ((await mirroredJobTitle(contactIds[1]!)) === 'while refused' ? true : undefined), 3 * INTERVAL_S * 1000, 'the change made while refused');
    await expectChangeToArrive(contactIds[2]!, 'after reauthorization');
    expect((await live()).objects.contacts.backfill.status).toBe('done');
  }, 90_000);

  it('never lets a token it held into any history: the connection, its syncs, its webhook batches, every run', async () => {
    const tokens = stack.sandbox.tokens.issuedTokens(PORTAL_ID);
    // Installs, refreshes (one after the clock jump), the refused one, the new install.
    expect(tokens.length).toBeGreaterThanOrEqual(5);
    const histories = await decodedHistoriesOfStack(stack);
    expect(histories.filter((h) => h.workflowId.startsWith(`${connection.workflowId}:sync:`)).length).toBeGreaterThan(4);
    expect(histories.some((h) => h.workflowId.startsWith(`${connection.workflowId}:webhooks:`))).toBe(true);
    const leaks = histories.flatMap(({ workflowId, text }) => tokens.filter((token) => text.includes(token)).map((token) => `${workflowId}: ${token.slice(0, 6)}…`));
    expect(leaks).toEqual([]);
  });
});
