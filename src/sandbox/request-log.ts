// The simulator's log of HubSpot-path requests (control-API calls are not logged): what a client
// called, as which portal and app, how it was answered and when. Bounded, oldest out first, so a
// long benchmark cannot grow it without limit.
import type { AuthKind } from './tokens.js';

export interface LoggedRequest {
  method: string;
  path: string;
  /** Absent for calls without a bearer token (OAuth, webhooks settings, timeline templates). */
  portalId?: number;
  appId?: number;
  tokenKind?: AuthKind;
  status: number;
  /** Sandbox clock (ms) when the answer went out. */
  at: number;
}

export interface RequestLogFilter {
  portalId?: number | undefined;
  pathPrefix?: string | undefined;
  /** Sandbox time (ms): only requests answered at or after it. */
  since?: number | undefined;
  /** The most recent `limit` matches are returned. */
  limit?: number | undefined;
}

const DEFAULT_REQUEST_LOG_SIZE = 100_000;

export class RequestLog {
  private entries: LoggedRequest[] = [];

  constructor(private readonly size = DEFAULT_REQUEST_LOG_SIZE) {}

  record(entry: LoggedRequest): void {
    this.entries.push(entry);
    // Trimming in halves keeps recording O(1) amortised.
    if (this.entries.length >= this.size * 2) this.entries = this.entries.slice(-this.size);
  }

  /** Matching requests, oldest first, and how many matched before `limit` cut them. */
  query(filter: RequestLogFilter = {}): { total: number; results: LoggedRequest[] } {
    const matches = this.entries.slice(-this.size).filter(
      (e) =>
        (filter.portalId === undefined || e.portalId === filter.portalId) &&
        (filter.pathPrefix === undefined || e.path.startsWith(filter.pathPrefix)) &&
        (filter.since === undefined || e.at >= filter.since),
    );
    return { total: matches.length, results: filter.limit === undefined ? matches : matches.slice(-filter.limit) };
  }
}
