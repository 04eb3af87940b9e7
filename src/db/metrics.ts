import type { Pool } from 'pg';

/** What /metrics reads from PostgreSQL at scrape time (src/api/metrics.ts). */

export interface PortalUsage {
  portalId: string;
  /** 'general' or 'search' (src/hubspot/rate-budget.ts windowKey). */
  kind: string;
  /** Requests inside the rolling window now, phantoms from HubSpot's headers included. */
  inWindow: number;
  /** 429s HubSpot answered this budget, ever. */
  rejections: number;
}

export interface PortalDaily {
  portalId: string;
  /** Requests counted against today's (UTC) quota; OAuth calls are not counted per day. */
  usedToday: number;
  rejections: number;
}

export async function readHubSpotUsage(pool: Pool): Promise<{ windows: PortalUsage[]; daily: PortalDaily[] }> {
  const [windows, daily] = await Promise.all([
    // Keys are `<kind>:<portal>` or `<kind>:<portal>:<app>`: one series per portal and kind.
    pool.query(
      `select split_part(key, ':', 2) as portal_id, split_part(key, ':', 1) as kind,
              sum((select count(*) from unnest(permits) t
                    where t > floor(extract(epoch from clock_timestamp()) * 1000) - coalesce(observed_window_ms, window_ms, 10000)))::int as in_window,
              sum(rejections)::bigint as rejections
         from rate_windows group by 1, 2`,
    ),
    pool.query(
      `select portal_id::text, case when day = (now() at time zone 'UTC')::date then used else 0 end as used, rejections
         from rate_daily`,
    ),
  ]);
  return {
    windows: windows.rows.map((row) => ({ portalId: row.portal_id, kind: row.kind, inWindow: row.in_window, rejections: Number(row.rejections) })),
    daily: daily.rows.map((row) => ({ portalId: row.portal_id, usedToday: row.used, rejections: Number(row.rejections) })),
  };
}

/** Connections whose workflow may still answer a status query. */
export async function listLiveConnections(pool: Pool): Promise<{ id: string; workflowId: string }[]> {
  const result = await pool.query(`select id, workflow_id from connections where status <> 'stopped'`);
  return result.rows.map((row) => ({ id: row.id, workflowId: row.workflow_id }));
}

/** Engagement events waiting in the outbox, per connection. */
export async function readOutboxDepth(pool: Pool): Promise<{ connectionId: string; pending: number }[]> {
  const result = await pool.query(`select connection_id, count(*)::int as pending from engagement_outbox where status = 'pending' group by 1`);
  return result.rows.map((row) => ({ connectionId: row.connection_id, pending: row.pending }));
}
