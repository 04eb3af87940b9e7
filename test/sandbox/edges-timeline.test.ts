import { Client } from '@hubspot/api-client';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTimelineRouter, TimelineStore, type ResolveObject } from '../../src/sandbox/timeline.js';
import { requireAuth, TokenRegistry } from '../../src/sandbox/tokens.js';
import { AdjustableClock } from '../../src/sandbox/types.js';
import { serve, type Served } from './edges-http.js';

const APP_ID = 4001;
const PORTAL = 700;
const PAT = 'pat-na1-timeline';
const contacts = new Map([['101', 'ann@example.com'], ['102', 'bob@example.com']]);

const resolveObject: ResolveObject = (portalId, objectType, idOrEmail) => {
  if (portalId !== PORTAL || objectType !== 'contacts') return undefined;
  if (contacts.has(idOrEmail)) return idOrEmail;
  return [...contacts].find(([, email]) => email === idOrEmail.toLowerCase())?.[0];
};

let store: TimelineStore;
let server: Served;
let templateId: string;

beforeAll(async () => {
  const clock = new AdjustableClock();
  const tokens = new TokenRegistry(clock);
  tokens.addStaticToken(PAT, PORTAL);
  store = new TimelineStore(clock);
  const app = express();
  app.use(['/integrators/timeline/v3/events', '/automation'], requireAuth(tokens));
  app.use(createTimelineRouter(store, { resolveObject }));
  server = await serve(app);

  const dev = new Client({ developerApiKey: 'dev', basePath: server.url, numberOfApiCallRetries: 0 });
  const template = await dev.crm.timeline.templatesApi.create(APP_ID, {
    name: 'Email opened',
    objectType: 'contacts',
    headerTemplate: 'Opened {{subject}}',
    tokens: [{ name: 'subject', label: 'Subject', type: 'string' as never }],
  });
  templateId = template.id;
});
afterAll(() => server.close());

const client = () => new Client({ accessToken: PAT, basePath: server.url, numberOfApiCallRetries: 0 });

describe('timeline event templates', () => {
  it('are listed, read, updated and deleted through the official client', async () => {
    const dev = new Client({ developerApiKey: 'dev', basePath: server.url, numberOfApiCallRetries: 0 });
    const extra = await dev.crm.timeline.templatesApi.create(APP_ID, { name: 'Temp', objectType: 'contacts', tokens: [] });
    expect((await dev.crm.timeline.templatesApi.getAll(APP_ID)).results.map((t) => t.name)).toEqual(['Email opened', 'Temp']);
    const updated = await dev.crm.timeline.templatesApi.update(extra.id, APP_ID, { id: extra.id, name: 'Renamed', tokens: [] });
    expect(updated.name).toBe('Renamed');
    await dev.crm.timeline.templatesApi.archive(extra.id, APP_ID);
    expect(await dev.crm.timeline.templatesApi.getById(extra.id, APP_ID).catch((e: unknown) => e)).toMatchObject({ code: 404 });
  });

  it('stop at 750 per app', async () => {
    const other = 4999;
    for (let i = 0; i < 750; i++) store.createTemplate(other, { name: `t${i}`, objectType: 'contacts', tokens: [] });
    const res = await fetch(`${server.url}/integrators/timeline/v3/${other}/event-templates`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'one too many', objectType: 'contacts', tokens: [] }),
    });
    expect(res.status).toBe(400);
  });
});

describe('timeline events', () => {
  it('are created with 201 and overwritten when the id is reused (last write wins)', async () => {
    const first = await client().crm.timeline.eventsApi.create({
      eventTemplateId: templateId, id: 'open-1', objectId: '101', tokens: { subject: 'First' }, extraData: { n: 1 },
    });
    expect(first).toMatchObject({ id: 'open-1', objectId: '101', objectType: 'contacts', tokens: { subject: 'First' } });
    await client().crm.timeline.eventsApi.create({
      eventTemplateId: templateId, id: 'open-1', objectId: '101', tokens: { subject: 'Second' }, extraData: { n: 2 },
    });
    const stored = store.getEvent(PORTAL, templateId, 'open-1')!;
    expect(stored).toMatchObject({ tokens: { subject: 'Second' }, extraData: { n: 2 }, writes: 2 });
    expect(store.listEvents(PORTAL).filter((e) => e.id === 'open-1')).toHaveLength(1);
  });

  it('resolve a contact by email and answer 404 when there is none', async () => {
    const byEmail = await client().crm.timeline.eventsApi.create({ eventTemplateId: templateId, email: 'BOB@example.com', tokens: {} });
    expect(byEmail.objectId).toBe('102');
    const missing = await client()
      .crm.timeline.eventsApi.create({ eventTemplateId: templateId, email: 'nobody@example.com', tokens: {} })
      .catch((e: unknown) => e);
    expect(missing).toMatchObject({ code: 404, body: { category: 'OBJECT_NOT_FOUND' } });
  });

  it('refuse tokens the template does not declare', async () => {
    const error = await client()
      .crm.timeline.eventsApi.create({ eventTemplateId: templateId, objectId: '101', tokens: { nope: 'x' } })
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 400, body: { category: 'VALIDATION_ERROR' } });
  });

  it('batch-create with 201, or 207 listing the failures', async () => {
    const ok = await client().crm.timeline.eventsApi.createBatchWithHttpInfo({
      inputs: [
        { eventTemplateId: templateId, id: 'b-1', objectId: '101', tokens: { subject: 'a' } },
        { eventTemplateId: templateId, id: 'b-2', objectId: '102', tokens: { subject: 'b' } },
      ],
    });
    expect(ok.httpStatusCode).toBe(201);
    const partial = await client().crm.timeline.eventsApi.createBatchWithHttpInfo({
      inputs: [
        { eventTemplateId: templateId, id: 'b-1', objectId: '101', tokens: { subject: 'a again' } },
        { eventTemplateId: templateId, id: 'b-3', objectId: '999', tokens: {} },
      ],
    });
    expect(partial.httpStatusCode).toBe(207);
    expect(partial.data).toMatchObject({ numErrors: 1, results: [{ id: 'b-1' }] });
    expect(store.getEvent(PORTAL, templateId, 'b-1')).toMatchObject({ tokens: { subject: 'a again' }, writes: 2 });
    expect(store.getEvent(PORTAL, templateId, 'b-3')).toBeUndefined();
  });

  it('need a token', async () => {
    const res = await fetch(`${server.url}/integrators/timeline/v3/events`, { method: 'POST' });
    expect(res.status).toBe(401);
  });
});

describe('legacy workflow enrolment', () => {
  const enrol = (workflowId: number, email: string) =>
    fetch(`${server.url}/automation/v2/workflows/${workflowId}/enrollments/contacts/${encodeURIComponent(email)}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${PAT}` },
    });

  it('answers 204 and counts each enrolment per workflow and email', async () => {
    expect((await enrol(55, 'ann@example.com')).status).toBe(204);
    expect((await enrol(55, 'ann@example.com')).status).toBe(204);
    expect((await enrol(56, 'ann@example.com')).status).toBe(204);
    expect(store.enrolments(PORTAL, '55', 'ann@example.com')).toBe(2);
    expect(store.enrolments(PORTAL, '56', 'ann@example.com')).toBe(1);
    expect(store.enrolments(PORTAL, '55', 'bob@example.com')).toBe(0);
  });

  it('answers 404 for an unknown contact and records nothing', async () => {
    expect((await enrol(55, 'ghost@example.com')).status).toBe(404);
    expect(store.enrolments(PORTAL, '55', 'ghost@example.com')).toBe(0);
  });
});
