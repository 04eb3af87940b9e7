// A custom object type, found through the schemas API, syncs like the standard ones.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createHubSpotClient } from '../../src/hubspot/client.js';
import { mirrorDifferences } from '../support/mirror.js';
import { eventually, startStack, type Stack } from '../support/stack.js';

const PORTAL_ID = 700701;
const TOKEN = 'pat-na1-custom-objects';
const CARS = `p${PORTAL_ID}_cars`;

let stack: Stack;

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
