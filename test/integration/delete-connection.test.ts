// DELETE /connections/:id on the real stack: the workflow stops and completes, the tokens are
// forgotten (an OAuth refresh token revoked at HubSpot first), the mirror is kept or purged, and a
// second DELETE answers the same. Then promise 1 over everything this file did: no secret of the
// deployment in an API answer, a log line or a workflow history.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { replacePipelines, upsertOwners } from '../../src/db/crm.js';
import { callback, install, installConnection } from '../support/oauth-install.js';
import { decodedHistoriesOfStack, recordApiAnswers, secretForms, type AnswerRecorder } from '../support/secret-scan.js';
import { eventually, OAUTH_APP, startStack, type Stack } from '../support/stack.js';

const MIRROR_TABLES = ['crm_objects', 'crm_associations', 'crm_owners', 'crm_pipelines', 'object_properties'];
let nextPortalId = 700_601;

let stack: Stack;
let recorder: AnswerRecorder;

beforeAll(async () => {
  stack = await startStack({ sandboxApi: true });
  recorder = recordApiAnswers(stack);
});
afterAll(async () => {
  recorder?.stop();
  await stack?.close();
});

/** Rows per mirror table for one connection. */
async function mirrorCounts(connectionId: string): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const table of MIRROR_TABLES) {
    counts[table] = Number((await stack.db.pool.query(`select count(*) from ${table} where connection_id = $1`, [connectionId])).rows[0].count);
  }
  return counts;
}

/**
 * A private-app connection whose mirror has rows in every table: records, associations and
 * property lists from its backfill, owners and pipelines written directly.
 */
async function syncedConnection(): Promise<{ id: string; workflowId: string }> {
  const portalId = nextPortalId++;
  await stack.control.createPortal({ portalId });
  await stack.control.seed(portalId, { seed: 3, contacts: 40, companies: 10, deals: 10, tickets: 5 });
  const token = `pat-na1-delete-${portalId}`;
  await stack.control.createToken(portalId, { token });
  const response = await stack.api('/connections', { method: 'POST', json: { accessToken: token, objectTypes: ['contacts', 'deals'] } });
  expect(response.status).toBe(201);
  const connection = (await response.json()) as { id: string; workflowId: string };
  await upsertOwners(stack.db.pool, connection.id, [{ id: '1', updatedAt: new Date(), archived: false, data: { id: '1' } }]);
  await replacePipelines(stack.db.pool, connection.id, 'deals', [{ id: 'default', data: { id: 'default', stages: [] } }]);
  await eventually(async () => (Object.values(await mirrorCounts(connection.id)).every((n) => n > 0) ? true : undefined), 60_000, 'a mirror row in every table');
  return connection;
}

async function errorOf(response: Response): Promise<{ code: string; message: string }> {
  return ((await response.json()) as { error: { code: string; message: string } }).error;
}

function deleteConnection(id: string, query = ''): Promise<Response> {
  return stack.api(`/connections/${id}${query}`, { method: 'DELETE' });
}

async function connectionRow(id: string) {
  const row = (await stack.db.pool.query(`select status from connections where id = $1`, [id])).rows[0];
  const tokens = Number((await stack.db.pool.query(`select count(*) from connection_tokens where connection_id = $1`, [id])).rows[0].count);
  return { status: row?.status, tokens };
}

describe('DELETE /connections/:id', () => {
  it('stops a private-app connection, forgets its token and keeps the mirror', async () => {
    const connection = await syncedConnection();
    const response = await deleteConnection(connection.id);

    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ id: connection.id, status: 'stopped', purged: false, revoked: false });
    const described = await stack.temporal.workflow.getHandle(connection.workflowId).describe();
    expect(described.status.name).toBe('COMPLETED');
    expect(await connectionRow(connection.id)).toEqual({ status: 'stopped', tokens: 0 });
    const kept = await mirrorCounts(connection.id);
    expect(Object.values(kept).every((n) => n > 0)).toBe(true);

    // Idempotent: the same answer again, nothing else changes.
    const again = await deleteConnection(connection.id);
    expect(again.status).toBe(200);
    expect(await again.json()).toEqual({ id: connection.id, status: 'stopped', purged: false, revoked: false });
    expect(await mirrorCounts(connection.id)).toEqual(kept);
  });

  it('with purge=true deletes every mirrored row of that connection and none of another', async () => {
    const other = await syncedConnection();
    const connection = await syncedConnection();
    const otherBefore = await mirrorCounts(other.id);

    const response = await deleteConnection(connection.id, '?purge=true');
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ id: connection.id, status: 'stopped', purged: true, revoked: false });
    expect(await mirrorCounts(connection.id)).toEqual(Object.fromEntries(MIRROR_TABLES.map((t) => [t, 0])));
    expect(await connectionRow(connection.id)).toEqual({ status: 'stopped', tokens: 0 });

    const otherAfter = await mirrorCounts(other.id);
    for (const table of MIRROR_TABLES) expect(otherAfter[table], table).toBeGreaterThanOrEqual(otherBefore[table]!);
    expect((await stack.temporal.workflow.getHandle(other.workflowId).describe()).status.name).toBe('RUNNING');

    const again = await deleteConnection(connection.id, '?purge=true');
    expect(again.status).toBe(200);
    expect(await again.json()).toMatchObject({ purged: true });
  });

  it('revokes an OAuth connection\'s refresh token at HubSpot before forgetting it', async () => {
    const portalId = nextPortalId++;
    await stack.control.createPortal({ portalId });
    const installed = await installConnection(stack, portalId, '&objectTypes=contacts');
    expect(installed.status).toBe(201);
    const connection = (await installed.json()) as { id: string; workflowId: string };
    const row = (await stack.db.pool.query(`select key_id, refresh_token from connection_tokens where connection_id = $1`, [connection.id])).rows[0];
    const refreshToken = stack.cipher.open({ keyId: row.key_id, ciphertext: row.refresh_token });
    expect(stack.sandbox.tokens.refreshTokenInfo(refreshToken)?.hub_id).toBe(portalId);

    const response = await deleteConnection(connection.id);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ id: connection.id, status: 'stopped', purged: false, revoked: true });
    expect(stack.sandbox.tokens.refreshTokenInfo(refreshToken)).toBeUndefined();
    const refresh = await fetch(`${stack.sandboxUrl}/oauth/v3/token`, {
      method: 'POST',
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken, client_id: stack.hubspot.clientId!, client_secret: stack.hubspot.clientSecret! }),
    });
    expect(refresh.status).toBe(400);
    expect(await connectionRow(connection.id)).toEqual({ status: 'stopped', tokens: 0 });
    expect((await stack.temporal.workflow.getHandle(connection.workflowId).describe()).status.name).toBe('COMPLETED');

    const again = await deleteConnection(connection.id);
    expect(again.status).toBe(200);
    expect(await again.json()).toEqual({ id: connection.id, status: 'stopped', purged: false, revoked: true });
    // The portal can be installed again: the stopped connection no longer holds its place.
    expect((await installConnection(stack, portalId, '&objectTypes=contacts')).status).toBe(201);
  });

  it('answers 404 for an unknown connection and 400 for a bad purge value, touching nothing', async () => {
    const unknown = await deleteConnection('8f14e45f-ceea-4e7a-9f7b-1f2d3c4b5a69');
    expect(unknown.status).toBe(404);
    expect((await errorOf(unknown)).code).toBe('not_found');
    expect((await deleteConnection('not-a-uuid')).status).toBe(404);

    const connection = await syncedConnection();
    for (const query of ['?purge=yes', '?purge=1', '?purge=', '?purge=true&purge=false', '?force=true']) {
      const response = await deleteConnection(connection.id, query);
      expect(response.status, query).toBe(400);
      expect((await errorOf(response)).code, query).toBe('invalid_request');
    }
    expect((await errorOf(await deleteConnection(connection.id, '?purge=yes'))).message).toMatch(/^purge: expected true or false/);
    expect((await stack.temporal.workflow.getHandle(connection.workflowId).describe()).status.name).toBe('RUNNING');
    expect(await connectionRow(connection.id)).toMatchObject({ tokens: 1 });
  });

  it('needs the operator token', async () => {
    const response = await fetch(`${stack.apiUrl}/connections/8f14e45f-ceea-4e7a-9f7b-1f2d3c4b5a69`, { method: 'DELETE' });
    expect(response.status).toBe(401);
  });
});

describe('the deployment’s secrets (promise 1)', () => {
  it('appear in no API answer, log line or decoded workflow history, after every route that uses them', async () => {
    // The OAuth client secret: a code exchange, then a replayed callback HubSpot refuses.
    const portalId = nextPortalId++;
    await stack.control.createPortal({ portalId });
    const { callbackUrl, cookie } = await install(stack, `?portalId=${portalId}&objectTypes=contacts`);
    const installed = await callback(callbackUrl, cookie);
    expect(installed.status).toBe(201);
    const { id } = (await installed.json()) as { id: string };
    expect((await callback(callbackUrl, cookie)).status).toBe(400);
    // The developer API key: the webhooks API through both routes that call it.
    expect((await stack.api('/webhooks/subscriptions', { method: 'POST', json: {} })).status).toBe(200);
    const tested = await stack.api(`/connections/${id}/test`, { method: 'POST' });
    expect(tested.status).toBe(200);
    expect(((await tested.json()) as { checks: Array<{ name: string; ok: boolean }> }).checks).toContainEqual(expect.objectContaining({ name: 'webhooks', ok: true }));
    // The client secret signs webhooks: a delivery with a bad signature is refused, naming no secret.
    const refused = await fetch(`${stack.apiUrl}/webhooks/hubspot`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-hubspot-signature-v3': 'bm9wZQ==', 'x-hubspot-request-timestamp': String(Date.now()) }, body: '[]' });
    expect(refused.status).toBe(401);
    // The encryption key seals tokens and payloads: the connection syncs, then is revoked and deleted.
    await eventually(async () => ((await (await stack.api(`/connections/${id}`)).json()) as any).live?.objects?.contacts?.backfill?.status === 'done' || undefined, 60_000, 'the backfill');
    expect((await stack.api(`/connections/${id}`, { method: 'DELETE' })).status).toBe(200);

    const secrets = {
      TOKEN_ENCRYPTION_KEY: stack.cipherKey,
      HUBSPOT_CLIENT_SECRET: OAUTH_APP.clientSecret,
      HUBSPOT_DEVELOPER_API_KEY: stack.webhooks.developerApiKey!,
    };
    const histories = await decodedHistoriesOfStack(stack);
    // At least this test's connection and its syncs, and every other of this file that ran.
    expect(histories.length).toBeGreaterThanOrEqual(3);
    expect(recorder.answers.length).toBeGreaterThanOrEqual(6);
    expect(stack.logs.length).toBeGreaterThanOrEqual(3);
    const places = {
      'an API answer': recorder.answers.join('\n'),
      'a log line': stack.logs.join('\n'),
      ...Object.fromEntries(histories.map((h) => [`the history of ${h.workflowId}`, h.text])),
    };
    for (const [name, secret] of Object.entries(secrets)) {
      for (const form of secretForms(secret)) {
        for (const [where, text] of Object.entries(places)) expect(text.includes(form), `${name} (${form}) in ${where}`).toBe(false);
      }
    }
  });
});
