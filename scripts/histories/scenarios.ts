// The scripted scenarios whose histories the replay test replays. Each drives one connection on
// its own stack (simulator, database, worker on its own task queue, API) the way operators and
// HubSpot do, through real HTTP, and ends with the connection stopped so every history is complete.
// Small seeds keep the files small; what matters is which paths of the workflow code ran.
import { webhookEventsSignal, type ConnectionStatusView, type WebhookEvent } from '../../src/workflows/definitions.js';
import { installConnection } from '../../test/support/oauth-install.js';
import { eventually, type Stack, type StackOptions } from '../../test/support/stack.js';

export interface Scenario {
  name: string;
  stack: StackOptions;
  /** A dev server that suggests continue-as-new after a few events, instead of the shared one. */
  smallHistories?: boolean;
  run(stack: Stack): Promise<void>;
}

const INTERVAL_S = 10;

async function live(stack: Stack, id: string): Promise<ConnectionStatusView> {
  const response = await stack.api(`/connections/${id}`);
  return ((await response.json()) as { live: ConnectionStatusView }).live;
}

function until(stack: Stack, id: string, what: string, check: (view: ConnectionStatusView) => boolean, timeoutMs = 90_000): Promise<ConnectionStatusView> {
  return eventually(async () => {
    const view = await live(stack, id);
    return view.objects && check(view) ? view : undefined;
  }, timeoutMs, `${what} (connection ${id})`);
}

const backfilled = (view: ConnectionStatusView) => view.config.objectTypes.every((t) => view.objects[t]?.backfill.status === 'done');

async function post(stack: Stack, path: string, json?: unknown): Promise<void> {
  const response = await stack.api(path, { method: 'POST', ...(json === undefined ? {} : { json }) });
  if (!response.ok) throw new Error(`POST ${path}: ${response.status} ${await response.text()}`);
}

/** A private-app connection of a freshly seeded portal. */
async function connectPrivateApp(stack: Stack, portalId: number, seed: Record<string, number>, body: Record<string, unknown>): Promise<string> {
  await stack.control.createPortal({ portalId });
  await stack.control.seed(portalId, { seed: portalId, ...seed });
  const { token } = await stack.control.createToken(portalId, { token: `pat-na1-replay-${portalId}` });
  const response = await stack.api('/connections', { method: 'POST', json: { accessToken: token, syncIntervalSeconds: INTERVAL_S, ...body } });
  if (response.status !== 201) throw new Error(`POST /connections: ${response.status} ${await response.text()}`);
  return ((await response.json()) as { id: string }).id;
}

/** Stop, and wait until the workflow completed (after its children stopped at a page boundary). */
async function stop(stack: Stack, id: string): Promise<void> {
  await post(stack, `/connections/${id}/stop`);
  await stack.temporal.workflow.getHandle(`connection:${id}`).result();
}

/** Edits a contact in HubSpot and waits until the mirror has it: the incremental sync (or a webhook batch) ran. */
async function editAndAwait(stack: Stack, portalId: number, connectionId: string, jobtitle: string, deliver?: (contactId: string) => Promise<void>): Promise<void> {
  const contact = (await stack.control.groundTruth(portalId)).objects.contacts!.find((c) => !c.archived)!;
  await stack.control.updateObject(portalId, 'contacts', contact.id, { jobtitle });
  await deliver?.(contact.id);
  await eventually(async () => {
    const row = await stack.db.pool.query(`select properties->>'jobtitle' as jobtitle from crm_objects where connection_id = $1 and object_type = 'contacts' and object_id = $2`, [connectionId, contact.id]);
    return row.rows[0]?.jobtitle === jobtitle ? true : undefined;
  }, 60_000, `jobtitle ${jobtitle} in the mirror`);
}

export const scenarios: Scenario[] = [
  {
    name: 'backfill-incremental',
    stack: {},
    async run(stack) {
      const portalId = 900_101;
      const id = await connectPrivateApp(stack, portalId, { contacts: 220, companies: 25 }, { objectTypes: ['contacts', 'companies'] });
      await until(stack, id, 'backfill', backfilled);
      await editAndAwait(stack, portalId, id, 'changed after backfill');
      await stop(stack, id);
    },
  },
  {
    // Access tokens that live 370 s fall due for the connection's own refresh (5 minutes ahead)
    // 70 s after each grant — past the activity's "refreshed within a minute" shortcut — so the
    // refresh timer fires once within the recording. Then HubSpot refuses the refresh token when
    // an expired access token needs one, and a new install brings the connection back.
    name: 'oauth-refresh-reauth',
    stack: { sandboxApi: true, sandbox: { tokens: { accessTokenTtlSeconds: 370 } } },
    async run(stack) {
      const portalId = 900_201;
      await stack.control.createPortal({ portalId });
      await stack.control.seed(portalId, { seed: portalId, contacts: 60 });
      const answer = await installConnection(stack, portalId, `&objectTypes=contacts&syncIntervalSeconds=${INTERVAL_S}`);
      if (answer.status !== 201) throw new Error(`install: ${answer.status} ${await answer.text()}`);
      const { id } = (await answer.json()) as { id: string };
      await until(stack, id, 'backfill', backfilled);
      await eventually(async () => (stack.sandbox.tokens.refreshAttempts(portalId) >= 1 ? true : undefined), 120_000, 'the timer refresh');

      const row = (await stack.db.pool.query('select key_id, refresh_token from connection_tokens where connection_id = $1', [id])).rows[0];
      const refreshToken = stack.cipher.open({ keyId: row.key_id, ciphertext: row.refresh_token });
      await fetch(`${stack.sandboxUrl}/oauth/v1/refresh-tokens/${refreshToken}`, { method: 'DELETE' });
      await stack.control.advanceClock(31 * 60_000);
      await until(stack, id, 'reauth_required', (view) => view.status === 'reauth_required', 60_000);

      const again = await installConnection(stack, portalId);
      if (again.status !== 200) throw new Error(`reinstall: ${again.status} ${await again.text()}`);
      await until(stack, id, 'active again', (view) => view.status === 'active');
      await editAndAwait(stack, portalId, id, 'after reauthorization');
      await stop(stack, id);
    },
  },
  {
    // The HTTP intake has its own tests; here the events reach the workflow as the intake sends
    // them, one signal per request, duplicates included.
    name: 'webhooks',
    stack: {},
    async run(stack) {
      const portalId = 900_301;
      const id = await connectPrivateApp(stack, portalId, { contacts: 80, companies: 10 }, { objectTypes: ['contacts', 'companies'], syncIntervalSeconds: 3600 });
      await until(stack, id, 'backfill', backfilled);
      let eventId = 1;
      const event = (subscriptionType: string, objectId: string): WebhookEvent => ({ eventId: eventId++, subscriptionId: 1, portalId, occurredAt: Date.now(), subscriptionType, objectId });
      await editAndAwait(stack, portalId, id, 'from a webhook', async (contactId) => {
        const change = event('contact.propertyChange', contactId);
        const company = (await stack.control.groundTruth(portalId)).objects.companies![0]!;
        const handle = stack.temporal.workflow.getHandle(`connection:${id}`);
        await handle.signal(webhookEventsSignal, [change, event('company.propertyChange', company.id)]);
        await handle.signal(webhookEventsSignal, [change]);
      });
      await until(stack, id, 'webhook batch done', (view) => view.webhooks.running === null && view.webhooks.applied >= 2);
      await stop(stack, id);
    },
  },
  {
    name: 'pause-resume-resync',
    stack: {},
    async run(stack) {
      const portalId = 900_401;
      const id = await connectPrivateApp(stack, portalId, { contacts: 400 }, { objectTypes: ['contacts'] });
      // Paused while the backfill may still be running: the child is told to pause, then to resume.
      await post(stack, `/connections/${id}/pause`);
      await until(stack, id, 'paused', (view) => view.status === 'paused');
      await post(stack, `/connections/${id}/resume`);
      await until(stack, id, 'backfill', backfilled);
      const first = (await live(stack, id)).objects.contacts!.backfill.finishedAt;
      await post(stack, `/connections/${id}/resync`, { objectType: 'contacts' });
      await until(stack, id, 'full resync', (view) => view.objects.contacts!.backfill.status === 'done' && view.objects.contacts!.backfill.finishedAt !== first);
      await post(stack, `/connections/${id}/resync`, { since: new Date(Date.now() - 3_600_000).toISOString() });
      await editAndAwait(stack, portalId, id, 'after resync since');
      await stop(stack, id);
    },
  },
  {
    // Resyncs that meet a run of their kind under way, a child an operator terminates, a restored
    // company announced by webhook, and a stop while a webhook batch is still reading.
    name: 'resync-under-way',
    stack: {},
    async run(stack) {
      const portalId = 900_601;
      const id = await connectPrivateApp(stack, portalId, { contacts: 1500, companies: 20 }, { objectTypes: ['contacts', 'companies'], syncIntervalSeconds: 3600 });
      // Slow pages, so each run is still under way when the scenario acts on it.
      await stack.control.setFaults({ latencyMs: 300 }, portalId);
      // A full resync while the first backfill is past its first checkpoint: that run stops, a fresh one starts.
      await until(stack, id, 'a backfill past 1,000', (view) => (view.objects.contacts?.backfill.done ?? 0) >= 1_000);
      await post(stack, `/connections/${id}/resync`, { objectType: 'contacts' });
      // The fresh run, terminated by hand: the connection counts it as failed and starts again from its checkpoint.
      const fresh = await until(stack, id, 'the fresh backfill', (view) => Object.values(view.objects.contacts!.running).some((r) => r.kind === 'backfill' && !r.stopRequested));
      const [freshId] = Object.entries(fresh.objects.contacts!.running).find(([, r]) => r.kind === 'backfill' && !r.stopRequested)!;
      await post(stack, `/connections/${id}/pause`);
      await stack.temporal.workflow.getHandle(freshId).terminate('replay scenario: a lost run');
      await post(stack, `/connections/${id}/resume`);
      await stack.control.clearFaults(portalId);
      await until(stack, id, 'backfill', backfilled);
      // A resync since an hour ago, and a restore announced by webhook.
      await post(stack, `/connections/${id}/resync`, { since: new Date(Date.now() - 3_600_000).toISOString() });
      const company = (await stack.control.groundTruth(portalId)).objects.companies![0]!;
      await stack.control.archiveObject(portalId, 'companies', company.id);
      await stack.control.restoreObject(portalId, 'companies', company.id);
      const handle = stack.temporal.workflow.getHandle(`connection:${id}`);
      await handle.signal(webhookEventsSignal, [{ eventId: 1, subscriptionId: 2, portalId, occurredAt: Date.now(), subscriptionType: 'company.restore', objectId: company.id }]);
      await until(stack, id, 'the restore applied', (view) => view.webhooks.applied >= 1 && view.webhooks.running === null);
      // Stop with a webhook batch reading slowly: the stop waits for it.
      await stack.control.setFaults({ latencyMs: 1_500 }, portalId);
      await handle.signal(webhookEventsSignal, [{ eventId: 2, subscriptionId: 2, portalId, occurredAt: Date.now(), subscriptionType: 'company.propertyChange', objectId: company.id }]);
      await until(stack, id, 'a batch reading', (view) => view.webhooks.running !== null);
      await stack.control.clearFaults(portalId);
      await stop(stack, id);
    },
  },
  {
    // Engagement events pushed to HubSpot by the connection's push workflow, which ends with its connection.
    name: 'engagement-push',
    stack: {},
    async run(stack) {
      const portalId = 900_701;
      const id = await connectPrivateApp(stack, portalId, { contacts: 20 }, { objectTypes: ['contacts'], syncIntervalSeconds: 3600 });
      await until(stack, id, 'backfill', backfilled);
      const emails = (await stack.control.groundTruth(portalId)).objects.contacts!.slice(0, 3).map((c) => c.properties.email!);
      const events = ['sent', 'opened', 'clicked'].flatMap((type, i) =>
        emails.map((email, j) => ({ id: `replay-${i}-${j}`, type, email, occurredAt: new Date(Date.UTC(2026, 10, 1, 9, i, j)).toISOString(), campaignId: 'c1', campaignName: 'Replay', subject: 'Hello' })),
      );
      await post(stack, `/connections/${id}/engagements`, { events });
      await eventually(async () => {
        const status = (await (await stack.api(`/connections/${id}/engagements/status`)).json()) as { outbox: { done: number } };
        return status.outbox.done === events.length ? true : undefined;
      }, 60_000, 'the engagement push');
      // DELETE stops the connection and tells the push at once (a stop alone lets it notice within minutes).
      const deleted = await stack.api(`/connections/${id}`, { method: 'DELETE' });
      if (!deleted.ok) throw new Error(`DELETE: ${deleted.status} ${await deleted.text()}`);
      await stack.temporal.workflow.getHandle(`connection:${id}:push`).result();
    },
  },
  {
    // Both the connection (pause/resume add history) and a long backfill child continue-as-new.
    name: 'continue-as-new',
    stack: {},
    smallHistories: true,
    async run(stack) {
      const portalId = 900_501;
      const id = await connectPrivateApp(stack, portalId, { contacts: 2000 }, { objectTypes: ['contacts'] });
      await until(stack, id, 'backfill', backfilled, 120_000);
      for (let i = 0; i < 12; i++) {
        await post(stack, `/connections/${id}/pause`);
        await post(stack, `/connections/${id}/resume`);
      }
      await until(stack, id, 'a continue-as-new', (view) => view.continuedAsNew >= 1);
      await stop(stack, id);
    },
  },
];
