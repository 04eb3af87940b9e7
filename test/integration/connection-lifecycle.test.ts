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

describe('GET /connections over many connections', () => {
  const OTHER_PORTAL = 700102;
  const OTHER_TOKEN = 'pat-na1-lifecycle-secret-token-0002';
  /** Ids in creation order: the first connection above (stopped by now), then one more on its portal and three on another. */
  let all: string[];
  let onOther: string[];
  let paused: string;

  const ids = (body: { connections: Array<{ id: string }> }) => body.connections.map((c) => c.id);

  /** Follows `next` until it is null, as a client would; returns each page's ids. */
  async function pages(query: string): Promise<string[][]> {
    const result: string[][] = [];
    let after: string | null = null;
    do {
      const response = await stack.api(`/connections?${query}${after ? `&after=${after}` : ''}`);
      expect(response.status).toBe(200);
      const body = await json(response);
      result.push(ids(body));
      after = body.next;
      expect(result.length).toBeLessThan(20);
    } while (after);
    return result;
  }

  beforeAll(async () => {
    await stack.control.createPortal({ portalId: OTHER_PORTAL });
    stack.sandbox.tokens.addStaticToken(OTHER_TOKEN, OTHER_PORTAL);
    const created: string[] = [];
    for (const [token, portal] of [[TOKEN, PORTAL_ID], [OTHER_TOKEN, OTHER_PORTAL], [OTHER_TOKEN, OTHER_PORTAL], [OTHER_TOKEN, OTHER_PORTAL]] as const) {
      const response = await stack.api('/connections', { method: 'POST', json: { accessToken: token, objectTypes: ['contacts'] } });
      expect(response.status).toBe(201);
      const body = await json(response);
      expect(body.portalId).toBe(portal);
      created.push(body.id);
    }
    all = ids(await json(await stack.api('/connections')));
    expect(all).toHaveLength(5);
    expect(all.slice(1)).toEqual(created);
    onOther = created.slice(1);
    paused = onOther[1]!;
    expect((await stack.api(`/connections/${paused}/pause`, { method: 'POST' })).status).toBe(200);
    await eventually(async () => ((await dbStatus(paused)) === 'paused' ? true : undefined), 20_000, 'row paused');
  });

  it('pages with limit and after, `next` naming the last id of a full page, until a page is not full', async () => {
    const byTwo = await pages('limit=2');
    expect(byTwo).toEqual([all.slice(0, 2), all.slice(2, 4), all.slice(4)]);

    const first = await json(await stack.api('/connections?limit=2'));
    expect(first.next).toBe(all[1]);
    const last = await json(await stack.api(`/connections?limit=2&after=${all[3]}`));
    expect(last).toMatchObject({ connections: [expect.objectContaining({ id: all[4] })], next: null });
  });

  it('ends with an empty page when the last page was exactly full', async () => {
    expect(await pages('limit=5')).toEqual([all, []]);
    expect(await pages('limit=1')).toEqual([...all.map((id) => [id]), []]);
  });

  it('filters by status: only the paused one, only the stopped one, the active rest', async () => {
    expect(ids(await json(await stack.api('/connections?status=paused')))).toEqual([paused]);
    expect(ids(await json(await stack.api('/connections?status=stopped')))).toEqual([all[0]]);
    expect(ids(await json(await stack.api('/connections?status=active')))).toEqual(all.slice(1).filter((id) => id !== paused));
  });

  it('filters by portal, alone, with a status, and page by page', async () => {
    expect(ids(await json(await stack.api(`/connections?portalId=${OTHER_PORTAL}`)))).toEqual(onOther);
    expect(ids(await json(await stack.api(`/connections?portalId=${PORTAL_ID}`)))).toEqual(all.slice(0, 2));
    expect(ids(await json(await stack.api(`/connections?portalId=${OTHER_PORTAL}&status=active`)))).toEqual(onOther.filter((id) => id !== paused));
    expect(ids(await json(await stack.api(`/connections?portalId=${OTHER_PORTAL}&status=stopped`)))).toEqual([]);
    expect(await pages(`portalId=${OTHER_PORTAL}&limit=2`)).toEqual([onOther.slice(0, 2), onOther.slice(2)]);
    expect(ids(await json(await stack.api('/connections?portalId=999999')))).toEqual([]);
  });
});
