// A custom object type, found through the schemas API, syncs like the standard ones.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createHubSpotClient } from '../../src/hubspot/client.js';
import { mirrorDifferences } from '../support/mirror.js';
import { webhookEventsSignal, type WebhookEvent } from '../../src/workflows/definitions.js';
import { eventually, startStack, type Stack } from '../support/stack.js';

const PORTAL_ID = 700701;
const TOKEN = 'pat-na1-custom-objects';
const CARS = `p${PORTAL_ID}_cars`;

let stack: Stack;
let carsTypeId: string;

beforeAll(async () => {
  stack = await startStack();
  await stack.control.createPortal({ portalId: PORTAL_ID });
  await stack.control.createToken(PORTAL_ID, { token: TOKEN });
  const client = createHubSpotClient(stack.sandboxUrl, TOKEN);
  const schema = await client.crm.schemas.coreApi.create({
    name: 'cars',
    labels: { singular: 'Car', plural: 'Cars' },
    primaryDisplayProperty: 'model',
    requiredProperties: ['model'],
    associatedObjects: ['CONTACT'],
    properties: [
      { name: 'model', label: 'Model', type: 'string', fieldType: 'text' },
      { name: 'year', label: 'Year', type: 'number', fieldType: 'number' },
    ],
  } as never);
  expect(schema.fullyQualifiedName).toBe(CARS);
  carsTypeId = schema.objectTypeId!;
  for (let i = 0; i < 250; i++) await client.crm.objects.basicApi.create(CARS, { properties: { model: `Model ${i}`, year: String(1990 + (i % 30)) } } as never);
});
afterAll(async () => stack?.close());

it('backfills a custom object, then picks up its changes', async () => {
  const response = await stack.api('/connections', { method: 'POST', json: { accessToken: TOKEN, objectTypes: [CARS], syncIntervalSeconds: 10, tier: 'api-addon' } });
  expect(response.status).toBe(201);
  const { id } = (await response.json()) as { id: string };
  const converged = async () => {
    let last: string[] = [];
    await eventually(async () => {
      last = await mirrorDifferences(stack.db.pool, id, await stack.control.groundTruth(PORTAL_ID), [CARS]);
      return last.length === 0 ? true : undefined;
    }, 40_000).catch(() => undefined);
    return last.slice(0, 10);
  };
  expect(await converged()).toEqual([]);
  const rows = await stack.db.pool.query('select count(*)::int as n from crm_objects where connection_id = $1 and object_type = $2', [id, CARS]);
  expect(rows.rows[0].n).toBe(250);

  const first = (await stack.control.groundTruth(PORTAL_ID)).objects[CARS]![0]!;
  await stack.control.updateObject(PORTAL_ID, CARS, first.id, { model: 'Renamed' });
  expect(await converged()).toEqual([]);
});

it("applies the custom object's webhook events, which name the type by id, to the type configured by name", async () => {
  // An hourly interval: only the webhook can bring the change in time.
  const response = await stack.api('/connections', { method: 'POST', json: { accessToken: TOKEN, objectTypes: [CARS], syncIntervalSeconds: 3600, tier: 'api-addon' } });
  expect(response.status).toBe(201);
  const { id, workflowId } = (await response.json()) as { id: string; workflowId: string };
  const live = async () => ((await (await stack.api(`/connections/${id}`)).json()) as { live: any }).live;
  await eventually(async () => ((await live())?.objects?.[CARS]?.backfill?.status === 'done' ? true : undefined), 40_000, 'the backfill');
  expect((await live()).config.customObjectTypeIds).toEqual({ [carsTypeId]: CARS });

  const runsBefore = (await live()).objects[CARS].runs;
  const car = (await stack.control.groundTruth(PORTAL_ID)).objects[CARS]![1]!;
  await stack.control.updateObject(PORTAL_ID, CARS, car.id, { model: 'Heard of by webhook' });
  const event: WebhookEvent = { eventId: 1, subscriptionId: 9, portalId: PORTAL_ID, occurredAt: Date.now(), subscriptionType: 'object.propertyChange', objectTypeId: carsTypeId, objectId: car.id, propertyName: 'model' };
  await stack.temporal.workflow.getHandle(workflowId).signal(webhookEventsSignal, [event]);
  await eventually(async () => {
    const row = await stack.db.pool.query(`select properties->>'model' as model from crm_objects where connection_id = $1 and object_type = $2 and object_id = $3`, [id, CARS, car.id]);
    return row.rows[0]?.model === 'Heard of by webhook' ? true : undefined;
  }, 20_000, 'the webhook change in the mirror');
  expect((await live()).objects[CARS].runs).toBe(runsBefore); // no sync run brought it
});

it('refuses a custom object type the portal does not have, when the connection is made and when it is changed', async () => {
  const created = await stack.api('/connections', { method: 'POST', json: { accessToken: TOKEN, objectTypes: ['contacts', `p${PORTAL_ID}_boats`] } });
  expect(created.status).toBe(400);
  expect(((await created.json()) as { error: { message: string } }).error.message).toBe(`objectTypes: portal ${PORTAL_ID} has no custom object p${PORTAL_ID}_boats`);

  const response = await stack.api('/connections', { method: 'POST', json: { accessToken: TOKEN, objectTypes: ['contacts'], syncIntervalSeconds: 3600 } });
  const { id } = (await response.json()) as { id: string };
  const patched = await stack.api(`/connections/${id}`, { method: 'PATCH', json: { objectTypes: ['contacts', `p${PORTAL_ID}_boats`] } });
  expect(patched.status).toBe(400);
  const added = await stack.api(`/connections/${id}`, { method: 'PATCH', json: { objectTypes: ['contacts', CARS] } });
  expect(added.status).toBe(200);
  expect(((await added.json()) as { config: unknown }).config).toMatchObject({ objectTypes: ['contacts', CARS], customObjectTypeIds: { [carsTypeId]: CARS } });
});
