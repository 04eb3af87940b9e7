// A private-app connection driven through the HTTP API against the real Temporal server,
// PostgreSQL and the HubSpot simulator: start → status → pause → resume → stop.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectionStatusKey, portalIdKey } from '../../src/temporal/search-attributes.js';
import { decodedHistoryText } from '../support/payloads.js';
import { eventually, startStack, type Stack } from '../support/stack.js';

const PORTAL_ID = 700101;
const TOKEN = 'pat-na1-lifecycle-secret-token-0001';

let stack: Stack;

beforeAll(async () => {
  stack = await startStack();
  await stack.control.createPortal({ portalId: PORTAL_ID });
  stack.sandbox.tokens.addStaticToken(TOKEN, PORTAL_ID);
});
afterAll(async () => stack?.close());

async function json(response: Response): Promise<any> {
  return response.json();
}

async function dbStatus(id: string): Promise<string | undefined> {
  const result = await stack.db.pool.query('select status from connections where id = $1', [id]);
  return result.rows[0]?.status;
}

async function searchAttributeStatus(workflowId: string): Promise<string | undefined> {
  const description = await stack.temporal.workflow.getHandle(workflowId).describe();
  return description.typedSearchAttributes.get(connectionStatusKey);
}

describe('a private-app connection', () => {
  let id: string;
  let workflowId: string;

  it('is created from a token HubSpot accepts, learning the portal id from HubSpot', async () => {
    const response = await stack.api('/connections', { method: 'POST', json: { accessToken: TOKEN, objectTypes: ['contacts', 'deals'] } });
    expect(response.status).toBe(201);
    const body = await json(response);
    expect(body).toEqual({ id: expect.any(String), portalId: PORTAL_ID, workflowId: `connection:${body.id}` });
    ({ id, workflowId } = body);

    const description = await stack.temporal.workflow.getHandle(workflowId).describe();
    expect(description.status.name).toBe('RUNNING');
    expect(description.taskQueue).toBe(stack.taskQueue);
    expect(description.typedSearchAttributes.get(portalIdKey)).toBe(String(PORTAL_ID));
  });

  it('reports its live status from the workflow', async () => {
    const body = await eventually(async () => {
      const response = await stack.api(`/connections/${id}`);
      const current = await json(response);
      return current.live?.status === 'active' ? current : undefined;
    });
    expect(body).toMatchObject({ id, portalId: PORTAL_ID, authType: 'private_app', objectTypes: ['contacts', 'deals'], status: 'active' });
    expect(body.live).toMatchObject({ connectionId: id, portalId: PORTAL_ID, workflowId, config: { objectTypes: ['contacts', 'deals'], syncIntervalSeconds: 60 } });
  });

  it('pauses: the workflow, PostgreSQL and the ConnectionStatus search attribute agree', async () => {
    const response = await stack.api(`/connections/${id}/pause`, { method: 'POST' });
    expect(response.status).toBe(200);
    expect(await json(response)).toMatchObject({ status: 'paused' });
    await eventually(async () => ((await dbStatus(id)) === 'paused' ? true : undefined), 20_000, 'row paused');
    await eventually(async () => ((await searchAttributeStatus(workflowId)) === 'paused' ? true : undefined), 20_000, 'search attribute paused');
  });

  it('is found by the operator filter on ConnectionStatus', async () => {
    const found = await eventually(async () => {
      const ids: string[] = [];
      for await (const execution of stack.temporal.workflow.list({ query: `ConnectionStatus = "paused" AND HubSpotPortalId = "${PORTAL_ID}"` })) {
        ids.push(execution.workflowId);
      }
      return ids.includes(workflowId) ? ids : undefined;
    });
    expect(found).toContain(workflowId);
  });

  it('resumes', async () => {
    const response = await stack.api(`/connections/${id}/resume`, { method: 'POST' });
    expect(await json(response)).toMatchObject({ status: 'active' });
    await eventually(async () => ((await dbStatus(id)) === 'active' ? true : undefined));
  });

  it('changes its configuration through PATCH, in the workflow and the stored row', async () => {
    const response = await stack.api(`/connections/${id}`, { method: 'PATCH', json: { syncIntervalSeconds: 120, webhookDebounceMs: 100 } });
    expect(response.status).toBe(200);
    expect((await json(response)).config).toEqual({ objectTypes: ['contacts', 'deals'], syncIntervalSeconds: 120, webhookDebounceMs: 100 });
    const row = await stack.db.pool.query('select sync_interval_seconds from connections where id = $1', [id]);
    expect(row.rows[0].sync_interval_seconds).toBe(120);
    const empty = await stack.api(`/connections/${id}`, { method: 'PATCH', json: {} });
    expect(empty.status).toBe(400);
    const bad = await stack.api(`/connections/${id}`, { method: 'PATCH', json: { webhookDebounceMs: -1 } });
    expect(bad.status).toBe(400);
    expect((await json(bad)).error.message).toContain('webhookDebounceMs');
  });

  it('lists connections with filters', async () => {
    const all = await json(await stack.api('/connections'));
    expect(all.connections.map((c: { id: string }) => c.id)).toContain(id);
    const paused = await json(await stack.api('/connections?status=paused'));
    expect(paused.connections).toEqual([]);
    const byPortal = await json(await stack.api(`/connections?portalId=${PORTAL_ID}`));
    expect(byPortal.connections).toHaveLength(1);
  });

  it('stops: the workflow completes and refuses further controls with 409', async () => {
    const response = await stack.api(`/connections/${id}/stop`, { method: 'POST' });
    expect(response.status).toBe(200);
    const result = await stack.temporal.workflow.getHandle(workflowId).result();
    expect(result).toMatchObject({ status: 'stopped' });
    expect(await dbStatus(id)).toBe('stopped');

    const again = await stack.api(`/connections/${id}/resume`, { method: 'POST' });
    expect(again.status).toBe(409);
    expect((await json(again)).error.code).toBe('conflict');
  });

  it('never puts the access token in the workflow history, the API answers or the logs', async () => {
    // Every payload decoded, so that encryption cannot hide a token from the scan.
    const history = await decodedHistoryText(stack.temporal, await stack.temporal.workflow.getHandle(workflowId).fetchHistory());
    expect(history.length).toBeGreaterThan(1000);
    expect(history).toContain(`"connectionId":"${id}"`);
    expect(history).not.toContain(TOKEN);
    // Payloads are base64 in the exported history: check the encoded form too.
    expect(history).not.toContain(Buffer.from(TOKEN).toString('base64').slice(0, 24));

    const answers = JSON.stringify([await json(await stack.api(`/connections/${id}`)), await json(await stack.api('/connections'))]);
    expect(answers).not.toContain(TOKEN);
    expect(stack.logs.length).toBeGreaterThan(0);
    expect(stack.logs.join('\n')).not.toContain(TOKEN);

    const stored = await stack.db.pool.query('select access_token from connection_tokens');
    expect(stored.rows).toHaveLength(1);
    expect(stored.rows[0].access_token).not.toContain(TOKEN);
  });
});
