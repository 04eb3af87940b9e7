// Engagement push at the Free/Starter limit: the real worker, Temporal dev server and PostgreSQL
// against the simulator with its rate limits on and 50–100 ms of latency per request. N events for
// N/5 contacts go into the outbox in 1,000-event batches (as the intake route stores them), each
// followed by the route's signal; measures events pushed per second and HubSpot calls per event
// (every request the portal made: set-up, upserts, timeline, enrolments). Target ≤ 0.03 calls/event.
// Run: DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres node --import tsx bench/engagement-push.ts [events] [latencyMs]
import { randomUUID } from 'node:crypto';
import { type EngagementEvent, type EngagementType } from '../src/activities/engagement-score.js';
import { insertConnection, sealedTokens } from '../src/db/connections.js';
import { insertEngagements, outboxCounts } from '../src/db/engagements.js';
import { inTransaction } from '../src/db/transaction.js';
import { startBenchStack } from './support.js';
import { drainOutboxSignal, ENGAGEMENT_PUSH_WORKFLOW, pushWorkflowId } from '../src/workflows/engagement-definitions.js';

const EVENTS = Number(process.argv[2] ?? 10_000);
const LATENCY_MS = Number(process.argv[3] ?? 50);
const CONTACTS = Math.max(1, Math.floor(EVENTS / 5));
const PORTAL_ID = 940_001;
const TYPES: EngagementType[] = ['sent', 'opened', 'opened', 'clicked', 'replied', 'bounced'];

function events(): EngagementEvent[] {
  return Array.from({ length: EVENTS }, (_, i) => ({
    id: `bench-${i}`,
    type: TYPES[i % TYPES.length]!,
    email: `reader${(i * 7919) % CONTACTS}@example.com`,
    occurredAt: new Date(Date.UTC(2026, 0, 1) + i * 1000).toISOString(),
    campaignId: `c${i % 5}`,
    campaignName: `Campaign ${i % 5}`,
    subject: `Issue ${i % 5}`,
  }));
}

async function main(): Promise<void> {
  const stack = await startBenchStack({ latencyMs: LATENCY_MS, worker: 'in-process', appId: 4242 });
  const { sandbox, control, temporal, pool, cipher, taskQueue } = stack;
  try {
    await control.createPortal({ portalId: PORTAL_ID, tier: 'free' });
    const { token } = await control.createToken(PORTAL_ID);
    const connectionId = randomUUID();
    // No connection workflow: only the push calls HubSpot, so the portal's request count is the push's.
    await inTransaction(pool, (db) =>
      insertConnection(db, { id: connectionId, portalId: PORTAL_ID, authType: 'private_app', workflowId: `connection:${connectionId}`, objectTypes: ['contacts'], syncIntervalSeconds: 3600 }, sealedTokens(cipher.seal(token), null, null)),
    );
    const all = events();
    const started = Date.now();
    for (let i = 0; i < all.length; i += 1_000) {
      await insertEngagements(pool, connectionId, all.slice(i, i + 1_000));
      await temporal.workflow.signalWithStart(ENGAGEMENT_PUSH_WORKFLOW, {
        workflowId: pushWorkflowId(connectionId),
        taskQueue,
        args: [{ connectionId, portalId: PORTAL_ID, tier: 'free' }],
        signal: drainOutboxSignal,
        signalArgs: [],
      });
    }
    for (;;) {
      const counts = await outboxCounts(pool, connectionId);
      if (counts.pending === 0) break;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    const seconds = (Date.now() - started) / 1000;
    const calls = (await control.counters()).requests.byPortal[PORTAL_ID] ?? 0;
    const timeline = sandbox.timeline.listEvents(PORTAL_ID).length;
    console.log(`${EVENTS.toLocaleString('en')} events for ${CONTACTS.toLocaleString('en')} contacts, Free tier, ${LATENCY_MS}–${2 * LATENCY_MS} ms latency per request\n`);
    console.log('| events | contacts | seconds | events/s | HubSpot calls | calls per event | timeline events |');
    console.log('| --- | --- | --- | --- | --- | --- | --- |');
    console.log(`| ${EVENTS} | ${CONTACTS} | ${seconds.toFixed(1)} | ${(EVENTS / seconds).toFixed(0)} | ${calls} | ${(calls / EVENTS).toFixed(4)} | ${timeline} |`);
    await temporal.workflow.getHandle(pushWorkflowId(connectionId)).terminate('bench done');
  } finally {
    await stack.close();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
