// Histories at rest hold no customer data: every payload the client and the worker write is
// AES-256-GCM encrypted, and only the API's codec endpoint (operators, the Web UI's origin)
// turns it back into plaintext. Keys rotate: a worker and client with [new, old] keep running a
// workflow whose history the old key sealed.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKeyring } from '../../src/crypto/token-cipher.js';
import { resyncUpdate, statusQuery, webhookEventsSignal, type WebhookEvent } from '../../src/workflows/definitions.js';
import { startWorkerWithPayloadKeys } from '../support/payload-keys-worker.js';
import { eventually, OPERATOR_TOKEN, startStack, TEMPORAL_UI_ORIGIN, type Stack } from '../support/stack.js';

const PORTAL_ID = 700801;
const TOKEN = 'pat-na1-payload-encryption-token';
const CONTACT = { email: 'grace.hopper.cobol@example.org', firstname: 'Gracehopperfirst', lastname: 'Hopperlastname' };
const NEW_EMAIL = 'amazing.grace@navy.example.org';
const PLAINTEXTS = [...Object.values(CONTACT), NEW_EMAIL];

interface JsonPayload {
  metadata: Record<string, string>;
  data?: string;
}

let stack: Stack;
let connectionId: string;
let workflowId: string;
let contactId: string;
let histories: { workflowId: string; json: string }[];

const base64 = (text: string) => Buffer.from(text).toString('base64');
const decoded = (payload: JsonPayload) => Buffer.from(payload.data ?? '', 'base64').toString('utf8');

/** Every payload in a history, except search attributes: those are the Web UI's index, plaintext by design (ids, status). */
function payloadsOf(node: unknown, inSearchAttributes = false): JsonPayload[] {
  if (Array.isArray(node)) return node.flatMap((item) => payloadsOf(item, inSearchAttributes));
  if (!node || typeof node !== 'object') return [];
  const record = node as Record<string, unknown>;
  // patched() markers: the SDK core writes the patch id itself, outside the data converter; no customer data.
  if (record.markerName === 'core_patch') return [];
  if (record.metadata && typeof record.metadata === 'object' && 'encoding' in record.metadata) {
    return inSearchAttributes ? [] : [record as unknown as JsonPayload];
  }
  return Object.entries(record).flatMap(([key, value]) => payloadsOf(value, inSearchAttributes || key === 'searchAttributes'));
}

async function decode(payloads: JsonPayload[], headers: Record<string, string> = { authorization: `Bearer ${OPERATOR_TOKEN}` }): Promise<Response> {
  return fetch(`${stack.apiUrl}/codec/decode`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-namespace': 'default', origin: TEMPORAL_UI_ORIGIN, ...headers },
    body: JSON.stringify({ payloads }),
  });
}

beforeAll(async () => {
  stack = await startStack();
  await stack.control.createPortal({ portalId: PORTAL_ID });
  contactId = (await stack.control.createObject(PORTAL_ID, 'contacts', CONTACT)).id;
  await stack.control.createToken(PORTAL_ID, { token: TOKEN });
  const response = await stack.api('/connections', { method: 'POST', json: { accessToken: TOKEN, objectTypes: ['contacts'] } });
  expect(response.status).toBe(201);
  ({ id: connectionId, workflowId } = (await response.json()) as { id: string; workflowId: string });

  // The contact reaches the mirror: the worker read what the API's client encrypted.
  await eventually(async () => {
    const rows = await stack.db.pool.query(`select properties->>'email' as email from crm_objects where connection_id = $1`, [connectionId]);
    return rows.rows[0]?.email === CONTACT.email ? true : undefined;
  }, 60_000, 'the contact in the mirror');

  // A property change as the webhook route hands it over: the new value travels in the signal.
  await stack.control.updateObject(PORTAL_ID, 'contacts', contactId, { email: NEW_EMAIL });
  const event: WebhookEvent = {
    eventId: 1, subscriptionId: 1, portalId: PORTAL_ID, occurredAt: Date.now(), subscriptionType: 'contact.propertyChange',
    objectId: contactId, propertyName: 'email', propertyValue: NEW_EMAIL,
  };
  await stack.temporal.workflow.getHandle(workflowId).signal(webhookEventsSignal, [event]);
  await eventually(async () => {
    const rows = await stack.db.pool.query(`select properties->>'email' as email from crm_objects where connection_id = $1`, [connectionId]);
    return rows.rows[0]?.email === NEW_EMAIL ? true : undefined;
  }, 60_000, 'the webhook change in the mirror');

  const parent = await stack.temporal.workflow.getHandle(workflowId).fetchHistory();
  const childIds = (parent.events ?? []).flatMap((event) => event.startChildWorkflowExecutionInitiatedEventAttributes?.workflowId ?? []);
  histories = [{ workflowId, json: JSON.stringify(parent) }];
  for (const childId of childIds) {
    histories.push({ workflowId: childId, json: JSON.stringify(await stack.temporal.workflow.getHandle(childId).fetchHistory()) });
  }
}, 180_000);
afterAll(async () => stack?.close());

describe('histories exported from the server', () => {
  it('cover the connection and its children (backfill, incremental, webhook batch)', () => {
    expect(histories.length).toBeGreaterThanOrEqual(3);
    const children = histories.slice(1).map((h) => h.workflowId);
    for (const child of children) expect(child.startsWith(`${workflowId}:`)).toBe(true);
    expect(children.filter((child) => child.startsWith(`${workflowId}:sync:contacts:`)).length).toBeGreaterThanOrEqual(2);
  });

  it('hold every payload encrypted, with the key id that sealed it', () => {
    const payloads = histories.flatMap((h) => payloadsOf(JSON.parse(h.json)));
    expect(payloads.length).toBeGreaterThan(10);
    const keyIds = new Set<string>();
    for (const payload of payloads) {
      expect(payload.metadata.encoding).toBe(base64('binary/encrypted'));
      keyIds.add(Buffer.from(payload.metadata['encryption-key-id'] ?? '', 'base64').toString());
    }
    expect([...keyIds]).toEqual([stack.cipher.currentKeyId]);
  });

  it("contain no property value of the synced contact, in the JSON or in any payload's data", () => {
    for (const { workflowId: id, json } of histories) {
      for (const plaintext of PLAINTEXTS) {
        expect(json, `${plaintext} in ${id}`).not.toContain(plaintext);
        expect(json).not.toContain(base64(plaintext).slice(0, 16));
      }
      for (const payload of payloadsOf(JSON.parse(json))) {
        for (const plaintext of PLAINTEXTS) expect(decoded(payload)).not.toContain(plaintext);
      }
    }
  });
});

describe('POST /codec/decode', () => {
  function signalPayloads(): JsonPayload[] {
    const parent = JSON.parse(histories[0]!.json) as { events: Array<{ workflowExecutionSignaledEventAttributes?: { signalName: string; input?: { payloads: JsonPayload[] } } }> };
    const signal = parent.events.find((e) => e.workflowExecutionSignaledEventAttributes?.signalName === webhookEventsSignal.name);
    return signal?.workflowExecutionSignaledEventAttributes?.input?.payloads ?? [];
  }

  it('gives an operator the plaintext: the webhook event with the new email, the workflow input with the portal', async () => {
    const started = JSON.parse(histories[0]!.json).events[0].workflowExecutionStartedEventAttributes.input.payloads as JsonPayload[];
    const response = await decode([...signalPayloads(), ...started]);
    expect(response.status).toBe(200);
    const body = (await response.json()) as { payloads: JsonPayload[] };
    expect(body.payloads).toHaveLength(2);
    const [signal, input] = body.payloads.map((payload) => ({ encoding: Buffer.from(payload.metadata.encoding ?? '', 'base64').toString(), value: JSON.parse(decoded(payload)) }));
    expect(signal).toEqual({ encoding: 'json/plain', value: [expect.objectContaining({ objectId: contactId, propertyValue: NEW_EMAIL })] });
    expect(input?.value).toMatchObject({ connectionId, portalId: PORTAL_ID });
  });

  it('encodes what it decodes back into an encrypted payload (the Web UI sends signals through /encode)', async () => {
    const plain = { metadata: { encoding: base64('json/plain') }, data: base64(JSON.stringify({ hello: CONTACT.email })) };
    const encoded = await fetch(`${stack.apiUrl}/codec/encode`, {
      method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${OPERATOR_TOKEN}` }, body: JSON.stringify({ payloads: [plain] }),
    });
    const [sealed] = ((await encoded.json()) as { payloads: JsonPayload[] }).payloads;
    expect(decoded(sealed!)).not.toContain(CONTACT.email);
    const roundTrip = ((await (await decode([sealed!])).json()) as { payloads: JsonPayload[] }).payloads;
    expect(roundTrip).toEqual([plain]);
  });

  it('refuses without the operator token, and with a wrong one', async () => {
    for (const headers of [{}, { authorization: 'Bearer not-the-operator-token-000' }] as Record<string, string>[]) {
      const response = await decode(signalPayloads(), headers);
      expect(response.status).toBe(401);
      const text = await response.text();
      expect(text).not.toContain(NEW_EMAIL);
      // The browser may read the refusal: the UI then says why instead of failing silently.
      expect(response.headers.get('access-control-allow-origin')).toBe(TEMPORAL_UI_ORIGIN);
    }
  });

  it('answers a payload sealed with an unknown key with 400, naming no data', async () => {
    const [payload] = signalPayloads();
    const response = await decode([{ ...payload!, metadata: { ...payload!.metadata, 'encryption-key-id': base64('000000000000') } }]);
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe('cannot_decode');
  });
});

describe('CORS for the Web UI', () => {
  it("answers the browser's preflight without a token, for the UI's origin and headers", async () => {
    const response = await fetch(`${stack.apiUrl}/codec/decode`, {
      method: 'OPTIONS',
      headers: { origin: TEMPORAL_UI_ORIGIN, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type,x-namespace' },
    });
    expect(response.status).toBe(204);
    expect(response.headers.get('access-control-allow-origin')).toBe(TEMPORAL_UI_ORIGIN);
    expect(response.headers.get('access-control-allow-methods')).toContain('POST');
    expect(response.headers.get('access-control-allow-headers')?.split(/,\s*/)).toEqual(expect.arrayContaining(['content-type', 'x-namespace', 'authorization']));
    expect(response.headers.get('access-control-allow-credentials')).toBe('true');
    expect(response.headers.get('vary')).toMatch(/origin/i);
  });

  it('allows no other origin', async () => {
    const response = await fetch(`${stack.apiUrl}/codec/decode`, { method: 'OPTIONS', headers: { origin: 'https://evil.example.com', 'access-control-request-method': 'POST' } });
    expect(response.headers.get('access-control-allow-origin')).toBeNull();
    const post = await decode([], { authorization: `Bearer ${OPERATOR_TOKEN}`, origin: 'https://evil.example.com' });
    expect(post.headers.get('access-control-allow-origin')).toBeNull();
  });
});

describe('payload key rotation', () => {
  const keyIdOf = (payload: JsonPayload) => Buffer.from(payload.metadata['encryption-key-id'] ?? '', 'base64').toString();

  it('a worker and client configured [B, A] read the history A sealed, keep the connection working, and seal what follows with B', async () => {
    const keyA = stack.cipherKey;
    const keyB = randomBytes(32).toString('base64');
    const idA = stack.cipher.currentKeyId;
    const idB = createKeyring([keyB]).currentKeyId;
    // The rotation as a deployment rolls it out: every worker on A stops, workers on [B, A] take over.
    await stack.stopWorker();
    // Signals its children sent before the stop reach the history a moment later: wait until it is still.
    const sealedWithA = await eventually(async () => {
      const first = (await stack.temporal.workflow.getHandle(workflowId).fetchHistory()).events ?? [];
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      const second = (await stack.temporal.workflow.getHandle(workflowId).fetchHistory()).events ?? [];
      return second.length === first.length ? second : undefined;
    }, 20_000, 'the history sealed with A to be complete');
    const rotated = await startWorkerWithPayloadKeys(stack, [keyB, keyA]);
    try {
      const handle = rotated.client.workflow.getHandle(workflowId);
      // A fresh worker has no cached workflow: to answer it replays the whole history, every payload A's.
      expect(await handle.query(statusQuery)).toMatchObject({ connectionId, portalId: PORTAL_ID, status: 'active' });
      const asked = new Date().toISOString();
      const view = await handle.executeUpdate(resyncUpdate, { args: [{ objectType: 'contacts', since: new Date(Date.now() - 3_600_000).toISOString() }] });
      expect(view.connectionId).toBe(connectionId);
      // The resync runs to the end: a child workflow and activities that open the token (still under A's token key).
      await eventually(async () => {
        const lastRun = (await handle.query(statusQuery)).objects.contacts?.lastRun;
        return lastRun && lastRun.startedAt >= asked && lastRun.outcome === 'done' ? true : undefined;
      }, 60_000, 'a sync run after the rotation');

      const events = (await rotated.client.workflow.getHandle(workflowId).fetchHistory()).events ?? [];
      const before = payloadsOf(JSON.parse(JSON.stringify(sealedWithA)));
      const after = payloadsOf(JSON.parse(JSON.stringify(events.slice(sealedWithA.length))));
      expect(before.length).toBeGreaterThan(5);
      expect(after.length).toBeGreaterThan(2);
      expect(new Set(before.map(keyIdOf))).toEqual(new Set([idA]));
      expect(new Set(after.map(keyIdOf))).toEqual(new Set([idB]));

      // The stack's API still holds only A: it cannot open what B sealed, and says so.
      const refused = await decode(after.slice(0, 1));
      expect(refused.status).toBe(400);
      expect(((await refused.json()) as { error: { code: string; message: string } }).error).toMatchObject({ code: 'cannot_decode', message: expect.stringContaining(idB) });
    } finally {
      await rotated.stop();
    }
  }, 120_000);
});
