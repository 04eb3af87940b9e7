// A connection must live for years: it continues-as-new when the server suggests it and keeps its
// state. A dedicated dev server suggests it after a few events so the test sees several runs.
import { randomBytes, randomUUID } from 'node:crypto';
import type { Client } from '@temporalio/client';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { inject } from 'vitest';
import { createActivities } from '../../src/activities/index.js';
import { createRateBudget } from '../../src/hubspot/rate-budget.js';
import { loadConfig } from '../../src/config.js';
import { createTokenCipher } from '../../src/crypto/token-cipher.js';
import { startTemporalDevServer, type DevServer } from '../../src/embedded/temporal-server.js';
import { createLogger } from '../../src/logger.js';
import { connectTemporalClient } from '../../src/temporal/client.js';
import { createDataConverter } from '../../src/temporal/data-converter.js';
import { connectionStatusKey, portalIdKey } from '../../src/temporal/search-attributes.js';
import { executeUpdateAcrossRuns } from '../../src/temporal/updates.js';
import { startHubsyncWorker, type RunningWorker } from '../../src/worker/worker.js';
import {
  CONNECTION_WORKFLOW_TYPE,
  connectionWorkflowId,
  pauseUpdate,
  resumeUpdate,
  statusQuery,
  webhookEventsSignal,
  type ConnectionWorkflowInput,
  type WebhookEvent,
} from '../../src/workflows/definitions.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { eventually } from '../support/stack.js';

let server: DevServer;
let client: Client;
let worker: RunningWorker;
let db: TestDatabase;
const taskQueue = `can-${randomBytes(4).toString('hex')}`;

beforeAll(async () => {
  const log = createLogger('silent');
  server = await startTemporalDevServer({
    uiPort: false,
    namespace: 'default',
    log,
    extraArgs: ['--dynamic-config-value', 'limit.historyCount.suggestContinueAsNew=30'],
  });
  db = await createTestDatabase();
  const key = randomBytes(32).toString('base64');
  const dataConverter = createDataConverter([key]);
  worker = await startHubsyncWorker({
    address: server.address,
    namespace: 'default',
    taskQueue,
    // No HubSpot calls here: the default settings and a throwaway key are enough.
    activities: createActivities({ pool: db.pool, log, cipher: createTokenCipher([key]), hubspot: loadConfig({}).hubspot, budget: createRateBudget(db.pool) }),
    workflowBundle: { code: inject('workflowBundleCode') },
    dataConverter,
  });
  client = await connectTemporalClient(server.address, 'default', dataConverter);
});

afterAll(async () => {
  worker?.worker.shutdown();
  await worker?.finished;
  await client?.connection.close();
  await db?.drop();
  await server?.stop();
});

it('continues-as-new when suggested and carries its whole state', async () => {
  const connectionId = randomUUID();
  await db.pool.query(
    `insert into connections (id, portal_id, auth_type, workflow_id, object_types, sync_interval_seconds) values ($1, 42, 'private_app', $2, '{contacts}', 60)`,
    [connectionId, connectionWorkflowId(connectionId)],
  );
  const input: ConnectionWorkflowInput = {
    connectionId,
    portalId: 42,
    authType: 'private_app',
    config: { objectTypes: ['contacts'], syncIntervalSeconds: 60 },
  };
  const handle = await client.workflow.start(CONNECTION_WORKFLOW_TYPE, {
    workflowId: connectionWorkflowId(connectionId),
    taskQueue,
    args: [input],
    typedSearchAttributes: [{ key: portalIdKey, value: '42' }],
  });
  const first = await handle.query(statusQuery);

  // Each pause/resume pair adds history; after ~30 events the server suggests continue-as-new.
  // The workflow looks at the suggestion between passes of its loop, so each change waits until
  // the pass it caused has published the status: a run then ends within one pass of the
  // suggestion however slowly this machine runs (updates sent back to back would all land in one
  // long pass).
  const changeTo = async (update: string, status: string) => {
    await executeUpdateAcrossRuns(handle, update);
    await eventually(async () => {
      const row = await db.pool.query('select status from connections where id = $1', [connectionId]);
      return row.rows[0].status === status ? true : undefined;
    }, 20_000, `row ${status}`);
  };
  for (let i = 0; i < 12; i++) {
    await changeTo(pauseUpdate.name, 'paused');
    await changeTo(resumeUpdate.name, 'active');
  }
  await changeTo(pauseUpdate.name, 'paused');

  const now = await handle.query(statusQuery);
  expect(now.continuedAsNew).toBeGreaterThanOrEqual(1);
  expect(now.runId).not.toBe(first.runId);
  expect(now).toMatchObject({
    connectionId,
    portalId: 42,
    status: 'paused',
    startedAt: first.startedAt,
    config: { objectTypes: ['contacts'], syncIntervalSeconds: 60 },
  });
  // Every run stays small.
  expect(now.historyLength).toBeLessThan(60);

  // The latest run republished its status where operators look (asynchronously: poll).
  const attributes = await eventually(async () => {
    const { typedSearchAttributes } = await client.workflow.getHandle(handle.workflowId).describe();
    return typedSearchAttributes.get(connectionStatusKey) === 'paused' ? typedSearchAttributes : undefined;
  }, 20_000, 'ConnectionStatus = paused');
  expect(attributes.get(portalIdKey)).toBe('42');
});

it('keeps every webhook event signalled around its continue-as-new, and still knows the duplicates afterwards', async () => {
  const connectionId = randomUUID();
  await db.pool.query(
    `insert into connections (id, portal_id, auth_type, workflow_id, object_types, sync_interval_seconds) values ($1, 43, 'private_app', $2, '{contacts}', 60)`,
    [connectionId, connectionWorkflowId(connectionId)],
  );
  const handle = await client.workflow.start(CONNECTION_WORKFLOW_TYPE, {
    workflowId: connectionWorkflowId(connectionId),
    taskQueue,
    args: [{ connectionId, portalId: 43, authType: 'private_app', config: { objectTypes: ['contacts'], syncIntervalSeconds: 60 } } satisfies ConnectionWorkflowInput],
    typedSearchAttributes: [{ key: portalIdKey, value: '43' }],
  });
  const first = await handle.query(statusQuery);
  const events: WebhookEvent[] = Array.from({ length: 60 }, (_, i) => ({
    eventId: i + 1,
    subscriptionId: 7,
    portalId: 43,
    occurredAt: 1_800_000_000_000 + i,
    subscriptionType: 'contact.propertyChange',
    objectId: String(1_000 + i),
  }));
  // Thirty signals of two events each, sent at once: the runs continue-as-new under them.
  await Promise.all(Array.from({ length: 30 }, (_, i) => handle.signal(webhookEventsSignal, events.slice(2 * i, 2 * i + 2))));
  const after = await eventually(async () => {
    const status = await handle.query(statusQuery);
    return status.webhooks.received === 60 && status.continuedAsNew > first.continuedAsNew ? status : undefined;
  }, 30_000, 'all 60 events, across a continue-as-new');

  // The same events again, in another run: every one is known.
  await handle.signal(webhookEventsSignal, events);
  const again = await eventually(async () => {
    const status = await handle.query(statusQuery);
    return status.webhooks.duplicates === after.webhooks.duplicates + 60 ? status : undefined;
  }, 20_000, 'the resent events counted as duplicates');
  expect(again.webhooks.received).toBe(60);
  await handle.terminate('test over');
});