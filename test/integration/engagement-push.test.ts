// Email engagement pushed back to HubSpot on the real stack (issue 7), at the scale: 10,000
// events for 2,000 contacts, every event submitted twice, 10 % injected 5xx, and the worker process
// killed (SIGKILL) in the middle of a page — and HubSpot's state in the simulator is exact:
// properties, one timeline event per engagement id, each hot lead enrolled once.
import type { NextFunction, Request as ExpressRequest, Response as ExpressResponse } from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ownWriteEchoes } from '../../src/db/write-ledger.js';
import { pushWorkflowId } from '../../src/workflows/engagement-definitions.js';
import { activityExecutions } from '../support/activity-history.js';
import { eventually, startStack, type Stack } from '../support/stack.js';
import { startWorkerProcess, type WorkerProcess } from '../support/worker-process.js';

const PORTAL_ID = 700701;
const TOKEN = 'pat-na1-engagement-push-token';
const WORKFLOW_ID = '98765';
const CONTACTS = 2_000;
const EVENTS = 10_000;
const HOT_EVERY = 10;
/** Ordinary contacts get 4 events, this many of them 5: with the hot leads' 10 each, EVENTS in all. */
const ORDINARY_WITH_FIVE = EVENTS - (CONTACTS / HOT_EVERY) * 10 - (CONTACTS - CONTACTS / HOT_EVERY) * 4;

type EventType = 'sent' | 'opened' | 'clicked' | 'replied' | 'bounced' | 'unsubscribed';
interface TestEvent {
  id: string;
  type: EventType;
  email: string;
  occurredAt: string;
  campaignId: string;
  campaignName: string;
  subject: string;
  url?: string;
}

let stack: Stack;
let connectionId: string;
let worker: WorkerProcess | undefined;

/** While set, timeline batches are held in the simulator (not answered) until released. */
let holdTimeline = false;
const held: Array<() => void> = [];
function holdTimelineBatches(req: ExpressRequest, _res: ExpressResponse, next: NextFunction): void {
  if (holdTimeline && req.method === 'POST' && req.path === '/integrators/timeline/v3/events/batch/create') held.push(next);
  else next();
}

/** A deterministic pseudo-random sequence, so a failure reproduces. */
function random(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s * 1_103_515_245 + 12_345) % 2 ** 31;
    return s / 2 ** 31;
  };
}

/** Ordinary contacts get four or five mixed events (never 75 points); every tenth gets ten replies (100). */
function generateEvents(): TestEvent[] {
  const next = random(42);
  const ordinary: EventType[] = ['sent', 'opened', 'opened', 'clicked', 'replied', 'bounced', 'unsubscribed'];
  const events: TestEvent[] = [];
  let ordinarySeen = 0;
  for (let c = 0; c < CONTACTS; c++) {
    const hot = c % HOT_EVERY === 0;
    const count = hot ? 10 : ordinarySeen++ < ORDINARY_WITH_FIVE ? 5 : 4;
    for (let k = 0; k < count; k++) {
      const type = hot ? 'replied' : ordinary[Math.floor(next() * ordinary.length)]!;
      const campaign = Math.floor(next() * 7);
      events.push({
        id: `evt-${c}-${k}`,
        type,
        email: `Person${c}@Example.com`,
        occurredAt: new Date(Date.UTC(2026, 0, 1) + Math.floor(next() * 1e9)).toISOString(),
        campaignId: `cmp-${campaign}`,
        campaignName: `Campaign ${campaign}`,
        subject: `Subject ${campaign}`,
        ...(type === 'clicked' ? { url: `https://example.com/c/${campaign}` } : {}),
      });
    }
  }
  // Arrival order is not per-contact order.
  for (let i = events.length - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [events[i], events[j]] = [events[j]!, events[i]!];
  }
  return events;
}

/** What HubSpot must show, computed independently of the push code. */
function expectedProperties(events: TestEvent[]): Map<string, Record<string, string>> {
  const byEmail = new Map<string, TestEvent[]>();
  for (const e of events) byEmail.set(e.email.toLowerCase(), [...(byEmail.get(e.email.toLowerCase()) ?? []), e]);
  const out = new Map<string, Record<string, string>>();
  for (const [email, list] of byEmail) {
    const n = (t: EventType) => list.filter((e) => e.type === t).length;
    const latest = (t?: EventType) =>
      list.filter((e) => !t || e.type === t).sort((a, b) => Date.parse(b.occurredAt) - Date.parse(a.occurredAt))[0];
    const unsubscribed = n('unsubscribed') > 0;
    const score = unsubscribed ? 0 : Math.max(0, 2 * n('opened') + 5 * n('clicked') + 10 * n('replied') - 5 * n('bounced'));
    out.set(email, {
      hubsync_lead_score: String(score),
      hubsync_total_opens: String(n('opened')),
      hubsync_total_clicks: String(n('clicked')),
      hubsync_last_email_opened: latest('opened')?.occurredAt ?? '',
      hubsync_last_email_clicked: latest('clicked')?.occurredAt ?? '',
      hubsync_unsubscribed: String(unsubscribed),
      hubsync_last_campaign: latest()!.campaignName,
    });
  }
  return out;
}

async function submit(events: unknown[]): Promise<Response> {
  return stack.api(`/connections/${connectionId}/engagements`, { method: 'POST', json: { events } });
}

async function outboxRows(): Promise<number> {
  const { rows } = await stack.db.pool.query('select count(*)::int as n from engagement_outbox where connection_id = $1', [connectionId]);
  return rows[0].n;
}

beforeAll(async () => {
  stack = await startStack({ sandbox: { hubspotMiddleware: [holdTimelineBatches] } });
  await stack.control.createPortal({ portalId: PORTAL_ID });
  await stack.control.createToken(PORTAL_ID, { token: TOKEN });
  // Hourly: no sync page is in flight when the worker is killed (a sync page, with no heartbeat, would
  // wait out its 3-minute start-to-close timeout); the last test asks for a resync instead.
  const response = await stack.api('/connections', { method: 'POST', json: { accessToken: TOKEN, objectTypes: ['contacts'], syncIntervalSeconds: 3600 } });
  expect(response.status).toBe(201);
  connectionId = ((await response.json()) as { id: string }).id;
  await eventually(async () => {
    const contacts = ((await (await stack.api(`/connections/${connectionId}`)).json()) as any).live?.objects?.contacts;
    return contacts?.backfill?.status === 'done' && contacts.nextRunAt && Object.keys(contacts.running ?? {}).length === 0 ? true : undefined;
  }, 60_000, 'the backfill, the first incremental run and the archived sweep');
  // Hot leads go to a legacy HubSpot workflow (the default would set lifecyclestage instead).
  const settings = await stack.api(`/connections/${connectionId}/engagements/settings`, { method: 'PUT', json: { enrolWorkflowId: WORKFLOW_ID } });
  expect(settings.status).toBe(200);
});
afterAll(async () => {
  await worker?.stop('SIGKILL');
  await stack?.close();
});

describe('engagement intake', () => {
  const good = (id: string): TestEvent => ({
    id,
    type: 'opened',
    email: 'someone@example.com',
    occurredAt: '2026-02-01T10:00:00.000Z',
    campaignId: 'c1',
    campaignName: 'C1',
    subject: 'Hello',
  });

  it.each([
    ['a bad email', [good('a'), good('b'), { ...good('c'), email: 'not-an-email' }], 'events.2.email'],
    ['an unknown type', [good('a'), { ...good('b'), type: 'forwarded' }], 'events.1.type'],
    ['a missing id', [{ ...good('a'), id: undefined }, good('b')], 'events.0.id'],
    ['a bad occurredAt', [good('a'), { ...good('b'), occurredAt: 'yesterday' }], 'events.1.occurredAt'],
  ])('refuses a batch with %s with a 400 naming the field and index, and stores nothing', async (_what, events, field) => {
    const response = await submit(events);
    expect(response.status).toBe(400);
    const body = (await response.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('invalid_request');
    expect(body.error.message).toContain(`${field}:`);
    expect(await outboxRows()).toBe(0);
  });

  it('refuses more than 1,000 events in one request', async () => {
    const response = await submit(Array.from({ length: 1_001 }, (_, i) => good(`big-${i}`)));
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: { message: string } }).error.message).toMatch(/^events: .*1000/);
    expect(await outboxRows()).toBe(0);
  });

  it('answers 404 for an unknown connection', async () => {
    const response = await stack.api('/connections/00000000-0000-4000-8000-000000000000/engagements', { method: 'POST', json: { events: [good('x')] } });
    expect(response.status).toBe(404);
  });
});

describe('pushing engagement to HubSpot', () => {
  const events = generateEvents();
  const expected = expectedProperties(events);

  it('leaves HubSpot exact despite duplicates, 5xx faults and a worker killed mid-page', async () => {
    expect(events).toHaveLength(EVENTS);
    expect(expected.size).toBe(CONTACTS);
    const started = Date.now();
    // Only a worker in its own process polls, so the push's first page runs where it can be killed.
    await stack.stopWorker();
    worker = await startWorkerProcess(stack);
    await stack.control.setFaults({ errorRate: 0.1, errorStatuses: [500, 502, 503] }, PORTAL_ID);
    const batches: TestEvent[][] = [];
    for (let i = 0; i < events.length; i += 1_000) batches.push(events.slice(i, i + 1_000));
    let accepted = 0;
    let duplicates = 0;
    for (const [n, batch] of batches.entries()) {
      holdTimeline = n === 0;
      for (let time = 0; time < 2; time++) {
        const response = await submit(batch);
        expect(response.status).toBe(202);
        const body = (await response.json()) as { accepted: number; duplicates: number };
        accepted += body.accepted;
        duplicates += body.duplicates;
      }
      if (n === 0) {
        // Mid-page: the page's contacts are upserted and recorded, its timeline batch is held in the simulator.
        await eventually(async () => (held.length > 0 ? true : undefined), 60_000, 'a timeline batch in flight');
        const { rows } = await stack.db.pool.query(`select count(*)::int as n from engagement_outbox where connection_id = $1 and applied and status = 'pending'`, [connectionId]);
        expect(rows[0].n).toBeGreaterThan(0);
        await worker.stop('SIGKILL');
        // The held batch goes on into the simulator after its caller died (taken or not, depending on
        // whether its body arrived): either way the retry must leave one timeline event per id.
        holdTimeline = false;
        for (const release of held.splice(0)) release();
        await stack.restartWorker();
      }
    }
    expect(accepted).toBe(events.length);
    expect(duplicates).toBe(events.length);

    await eventually(
      async () => {
        const { rows } = await stack.db.pool.query(
          `select (select count(*) from engagement_outbox where connection_id = $1 and status <> 'done')
                + (select count(*) from engagement_triggers where connection_id = $1 and via = 'pending') as n`,
          [connectionId],
        );
        return Number(rows[0].n) === 0 ? true : undefined;
      },
      300_000,
      'the outbox and the enrolments to drain',
    );
    console.log(`engagement push: ${EVENTS} events for ${CONTACTS} contacts drained in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    // The killed attempt was taken over once the server missed its heartbeat, by the new worker.
    const pages = (await activityExecutions(stack.temporal, pushWorkflowId(connectionId))).filter((e) => e.activityType === 'pushEngagementPage');
    const retaken = pages.filter((e) => e.lastFailure && /heartbeat|timeout|timed out/i.test(e.lastFailure.message));
    expect(retaken.length).toBeGreaterThanOrEqual(1);
    expect(retaken[0]!.identity).not.toContain(`${worker.pid}@`);
    await stack.control.clearFaults(PORTAL_ID);
    const faults = await stack.control.counters();
    expect(faults.faults.errors).toBeGreaterThan(0);

    // Properties: exactly the expected values on exactly the expected contacts.
    const truth = await stack.control.groundTruth(PORTAL_ID);
    const contacts = truth.objects.contacts ?? [];
    expect(contacts.length).toBe(expected.size);
    const differences: string[] = [];
    for (const contact of contacts) {
      const want = expected.get(contact.properties.email ?? '');
      if (!want) differences.push(`unexpected contact ${contact.properties.email}`);
      else for (const [name, value] of Object.entries(want)) if ((contact.properties[name] ?? '') !== value) differences.push(`${contact.properties.email} ${name}: ${contact.properties[name]} ≠ ${value}`);
    }
    expect(differences.slice(0, 10)).toEqual([]);

    // Timeline: one event per engagement id, with its tokens.
    const timeline = stack.sandbox.timeline.listEvents(PORTAL_ID);
    expect(timeline.length).toBe(events.length);
    expect(new Set(timeline.map((e) => e.id))).toEqual(new Set(events.map((e) => e.id)));
    const sample = events.find((e) => e.type === 'clicked')!;
    expect(timeline.find((e) => e.id === sample.id)?.tokens).toEqual({ campaign: sample.campaignName, subject: sample.subject, action: 'clicked', url: sample.url });

    // Hot leads: enrolled exactly once; nobody else.
    for (const email of expected.keys()) {
      const hot = Number(expected.get(email)!.hubsync_lead_score) >= 75;
      expect([email, stack.sandbox.timeline.enrolments(PORTAL_ID, WORKFLOW_ID, email)]).toEqual([email, hot ? 1 : 0]);
    }
    expect([...expected.values()].filter((p) => Number(p.hubsync_lead_score) >= 75).length).toBe(CONTACTS / HOT_EVERY);

    const status = (await (await stack.api(`/connections/${connectionId}/engagements/status`)).json()) as any;
    expect(status.outbox).toMatchObject({ pending: 0, done: events.length, parked: 0 });
    expect(status.workflow.done).toBe(events.length);
  }, 420_000);

  it('records its writes, so the echo of its own value is recognised and a HubSpot edit is not', async () => {
    const truth = await stack.control.groundTruth(PORTAL_ID);
    const contact = truth.objects.contacts![0]!;
    const own = { objectType: 'contacts', objectId: contact.id, property: 'hubsync_lead_score', value: contact.properties.hubsync_lead_score! };
    expect(await ownWriteEchoes(stack.db.pool, connectionId, [own, { ...own, value: '12345' }, { ...own, property: 'firstname' }])).toEqual([true, false, false]);
  });

  it('mirrors the contacts it created in HubSpot once the connection syncs', async () => {
    // The hourly interval would bring them within the hour: ask for the changes of the last one now.
    const since = new Date(Date.now() - 3_600_000).toISOString();
    expect((await stack.api(`/connections/${connectionId}/resync`, { method: 'POST', json: { since } })).status).toBe(200);
    const emails = [...expected.keys()];
    await eventually(
      async () => {
        const { rows } = await stack.db.pool.query(
          `select count(*)::int as n from crm_objects where connection_id = $1 and object_type = 'contacts' and properties->>'email' = any($2)`,
          [connectionId, emails],
        );
        return rows[0].n === emails.length ? true : undefined;
      },
      60_000,
      'the written-back contacts in the mirror',
    );
  }, 90_000);
});
