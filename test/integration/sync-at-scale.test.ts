// A large backfill on a Temporal server that suggests continue-as-new after a few hundred events,
// so the connection and its sync children continue-as-new many times mid-sync and must carry their
// cursors. Users keep changing records during and after the backfill, including a bulk edit that
// gives 12,000 contacts one modification time.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTemporalDevServer, type DevServer } from '../../src/embedded/temporal-server.js';
import { createLogger } from '../../src/logger.js';
import { mirrorDifferences } from '../support/mirror.js';
import { eventually, startStack, liveStatus, type Stack } from '../support/stack.js';

const PORTAL_ID = 700401;
const TOKEN = 'pat-na1-scale-token';
const TYPES = ['contacts', 'companies', 'deals', 'tickets'];
const SYNC_INTERVAL_SECONDS = 10;

let server: DevServer;
let stack: Stack;
let connectionId: string;
let workflowId: string;

const live = () => liveStatus(stack, connectionId);

async function converge(timeoutMs: number): Promise<string[]> {
  let last: string[] = [];
  await eventually(async () => {
    last = await mirrorDifferences(stack.db.pool, connectionId, await stack.control.groundTruth(PORTAL_ID), TYPES);
    return last.length === 0 ? true : undefined;
  }, timeoutMs).catch(() => undefined);
  return last.slice(0, 20);
}

beforeAll(async () => {
  server = await startTemporalDevServer({
    uiPort: false,
    namespace: 'default',
    log: createLogger('silent'),
    extraArgs: ['--dynamic-config-value', 'limit.historyCount.suggestContinueAsNew=300'],
  });
  stack = await startStack({ temporalAddress: server.address });
  await stack.control.createPortal({ portalId: PORTAL_ID });
  await stack.control.seed(PORTAL_ID, { seed: 11, contacts: 20_000, companies: 2_000, deals: 3_000, tickets: 1_000 });
  await stack.control.createToken(PORTAL_ID, { token: TOKEN });
}, 300_000);

afterAll(async () => {
  await stack?.close();
  await server?.stop();
});

describe('20,000 contacts and their companies, deals and tickets', () => {
  it('backfill, with changes made meanwhile, ends with a mirror equal to HubSpot field by field', async () => {
    const response = await stack.api('/connections', { method: 'POST', json: { accessToken: TOKEN, syncIntervalSeconds: SYNC_INTERVAL_SECONDS, tier: 'api-addon' } });
    ({ id: connectionId, workflowId } = (await response.json()) as { id: string; workflowId: string });

    // While the backfill runs: edits to records the backfill has passed and not reached yet.
    await eventually(async () => ((await live())?.objects?.contacts?.backfill?.done >= 3_000 ? true : undefined), 120_000, 'backfill under way');
    const truth = await stack.control.groundTruth(PORTAL_ID);
    const contacts = truth.objects.contacts!;
    for (const record of [contacts[10]!, contacts[15_000]!]) {
      await stack.control.updateObject(PORTAL_ID, 'contacts', record.id, { jobtitle: `changed during backfill ${record.id}` });
    }
    await stack.control.createObject(PORTAL_ID, 'deals', { dealname: 'Made during backfill', amount: '1234' });

    await eventually(async () => {
      const objects = (await live())?.objects ?? {};
      return TYPES.every((t) => objects[t]?.backfill?.status === 'done') ? true : undefined;
    }, 240_000, 'backfill done');
    expect(await converge(3 * SYNC_INTERVAL_SECONDS * 1000)).toEqual([]);
  }, 400_000);

  it('continued-as-new along the way and kept every cursor', async () => {
    const status = await live();
    expect(status.continuedAsNew).toBeGreaterThanOrEqual(1);
    expect(status.objects.contacts).toMatchObject({ backfill: { status: 'done', done: 20_000, estimatedTotal: 20_000 } });
    expect(status.objects.contacts.incrementalFromMs).toEqual(expect.any(Number));
    // The backfill child of contacts continued-as-new too (one run per history), and its last run finished the job.
    const runs: string[] = [];
    for await (const execution of stack.temporal.workflow.list({ query: `WorkflowId = "${workflowId}:sync:contacts:1"` })) {
      runs.push(execution.status.name);
    }
    expect(runs.filter((s) => s === 'COMPLETED')).toHaveLength(1);
    expect(runs.filter((s) => s === 'CONTINUED_AS_NEW').length).toBeGreaterThanOrEqual(1);
    const childHistory = await stack.temporal.workflow.getHandle(`${workflowId}:sync:contacts:1`).fetchHistory();
    expect(childHistory.events?.length).toBeLessThan(400);
  });

  it('a bulk edit giving 12,000 contacts one modification time arrives completely', async () => {
    const edit = await stack.control.bulkEdit(PORTAL_ID, 'contacts', { lifecyclestage: 'customer' }, { limit: 12_000 });
    expect(edit.count).toBe(12_000);
    // 60 search pages of 200 plus their association reads, within the portal's budget.
    const differences = await converge(180_000);
    expect(differences).toEqual([]);
    const updated = await stack.db.pool.query(
      `select count(*)::int as n from crm_objects where connection_id = $1 and object_type = 'contacts' and properties->>'lifecyclestage' = 'customer' and updated_at = $2`,
      [connectionId, edit.modifiedAt],
    );
    expect(updated.rows[0].n).toBe(12_000);
  }, 240_000);
});
