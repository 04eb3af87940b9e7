import type { Client } from '@temporalio/client';
import type { Pool } from 'pg';
import type { Logger } from 'pino';
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import { listLiveConnections, readHubSpotUsage, readOutboxDepth, type PortalDaily, type PortalUsage } from '../db/metrics.js';
import type { BudgetSnapshot, RateBudget } from '../hubspot/rate-budget.js';
import { statusQuery, type ConnectionStatusView } from '../workflows/definitions.js';

/**
 * hubsync's own Prometheus metrics. The numbers already live in PostgreSQL (the shared rate
 * budget) and in each connection workflow's state, so they are read at scrape time instead of
 * counted in every module and every process: any API replica answers the same. The worker's
 * Temporal SDK metrics come from its own exporter (WORKER_METRICS_PORT).
 */

/** A status query waits no longer: a connection that cannot answer drops out of this scrape. */
const STATUS_DEADLINE_MS = 2_000;

interface Snapshot {
  windows: PortalUsage[];
  daily: PortalDaily[];
  connections: ConnectionStatusView[];
  /** Each connected portal's budget at its connection's tier (as GET /connections/:id shows it). */
  budgets: Array<{ portalId: string; budget: BudgetSnapshot }>;
  outbox: { connectionId: string; pending: number }[];
  nowMs: number;
}

type Labels = Record<string, string>;
type Series = (snapshot: Snapshot) => Array<[Labels, number]>;

export function createMetricsRegistry({ pool, temporal, budget, log }: { pool: Pool; temporal: Client; budget: RateBudget; log: Logger }): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'hubsync_api_' });

  async function statusOf(workflowId: string): Promise<ConnectionStatusView | undefined> {
    try {
      return await temporal.withDeadline(Date.now() + STATUS_DEADLINE_MS, () => temporal.workflow.getHandle(workflowId).query(statusQuery));
    } catch (error) {
      log.debug({ workflowId, err: error }, 'metrics: connection status unavailable');
      return undefined;
    }
  }

  async function read(): Promise<Snapshot> {
    const [usage, live, outbox] = await Promise.all([readHubSpotUsage(pool), listLiveConnections(pool), readOutboxDepth(pool)]);
    const connections = (await Promise.all(live.map(({ workflowId }) => statusOf(workflowId)))).filter((status) => status !== undefined);
    const portals = new Map(connections.map((c) => [c.portalId, c.tier]));
    const budgets = await Promise.all(
      [...portals].map(async ([portalId, tier]) => ({ portalId: String(portalId), budget: await budget.snapshot({ portalId }, { tier }) })),
    );
    return { ...usage, connections, budgets, outbox, nowMs: Date.now() };
  }

  // A scrape starts every metric's collect() at once: they share the read in flight, and the
  // next scrape reads afresh.
  let inFlight: Promise<Snapshot> | undefined;
  function snapshot(): Promise<Snapshot> {
    inFlight ??= read().finally(() => {
      inFlight = undefined;
    });
    return inFlight;
  }

  // Both reset before filling, so a deleted connection's series disappear.
  const gauge = (name: string, help: string, labelNames: string[], series: Series) =>
    new Gauge({
      name, help, labelNames, registers: [registry],
      async collect() {
        const values = series(await snapshot());
        this.reset();
        for (const [labels, value] of values) this.set(labels, value);
      },
    });
  // Totals kept elsewhere, exposed as counters so that rate() works; a smaller value is a reset.
  const counter = (name: string, help: string, labelNames: string[], series: Series) =>
    new Counter({
      name, help, labelNames, registers: [registry],
      async collect() {
        const values = series(await snapshot());
        this.reset();
        for (const [labels, value] of values) this.inc(labels, value);
      },
    });

  const perObject = (value: (object: ConnectionStatusView['objects'][string]) => number | null): Series => ({ connections }) =>
    connections.flatMap((connection) =>
      Object.entries(connection.objects).flatMap(([objectType, object]): Array<[Labels, number]> => {
        const number = value(object);
        return number === null ? [] : [[{ connection_id: connection.connectionId, object_type: objectType }, number]];
      }),
    );
  const perConnection = (value: (connection: ConnectionStatusView) => number): Series => ({ connections }) =>
    connections.map((connection) => [{ connection_id: connection.connectionId }, value(connection)]);

  counter('hubsync_records_synced_total', 'Records written into the mirror by sync, per connection and object type', ['connection_id', 'object_type'],
    perObject((object) => object.recordsSynced));
  // The mirror holds HubSpot's state as of the start of the last run that completed.
  gauge('hubsync_sync_lag_seconds', 'Seconds since the last completed sync run of this type started: how stale the mirror may be (absent while the latest run did not complete)', ['connection_id', 'object_type'],
    (snap) => perObject(({ lastRun }) => (lastRun?.outcome === 'done' ? Math.max(0, (snap.nowMs - Date.parse(lastRun.startedAt)) / 1000) : null))(snap));
  counter('hubsync_webhook_events_received_total', 'Webhook events the connection accepted (duplicates not included)', ['connection_id'], perConnection((c) => c.webhooks.received));
  counter('hubsync_webhook_events_deduplicated_total', 'Webhook events dropped as duplicates of one already accepted (HubSpot retries)', ['connection_id'], perConnection((c) => c.webhooks.duplicates));
  counter('hubsync_webhook_events_applied_total', 'Records re-read into the mirror because of webhook events', ['connection_id'], perConnection((c) => c.webhooks.applied));

  gauge('hubsync_hubspot_calls_in_window', 'HubSpot requests inside the rolling rate window now, per portal and budget (general, search)', ['portal_id', 'kind'],
    ({ windows }) => windows.map((w) => [{ portal_id: w.portalId, kind: w.kind }, w.inWindow]));
  gauge('hubsync_hubspot_calls_today', "HubSpot requests counted against the portal's daily quota today (UTC); OAuth apps have none", ['portal_id'],
    ({ daily }) => daily.map((d) => [{ portal_id: d.portalId }, d.usedToday]));
  counter('hubsync_hubspot_rate_limited_total', 'HubSpot 429 answers, per portal and the limit that said no (general, search, daily)', ['portal_id', 'kind'],
    ({ windows, daily }) => [
      ...windows.map((w): [Labels, number] => [{ portal_id: w.portalId, kind: w.kind }, w.rejections]),
      ...daily.map((d): [Labels, number] => [{ portal_id: d.portalId, kind: 'daily' }, d.rejections]),
    ]);
  const perBudget = (value: (window: { budget: number; remaining: number }) => number): Series => ({ budgets }) =>
    budgets.flatMap(({ portalId, budget: b }): Array<[Labels, number]> => [
      [{ portal_id: portalId, kind: 'general' }, value(b.general)],
      [{ portal_id: portalId, kind: 'search' }, value(b.search)],
      ...(b.daily ? [[{ portal_id: portalId, kind: 'daily' }, value(b.daily)] as [Labels, number]] : []),
    ]);
  gauge('hubsync_hubspot_budget', "Requests hubsync allows itself per window (HubSpot's limit for the tier less the safety margin), per portal and budget", ['portal_id', 'kind'], perBudget((w) => w.budget));
  gauge('hubsync_hubspot_remaining', 'Requests left in the current window, per portal and budget', ['portal_id', 'kind'], perBudget((w) => w.remaining));
  gauge('hubsync_outbox_depth', 'Engagement events waiting to be pushed to HubSpot, per connection', ['connection_id'],
    ({ outbox }) => outbox.map((o) => [{ connection_id: o.connectionId }, o.pending]));
  return registry;
}
