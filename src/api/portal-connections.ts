import type { Pool } from 'pg';
import { liveConnectionsOfPortal, type LiveConnection } from '../db/connections.js';

/**
 * The live connections of a portal, cached for a moment: HubSpot sends up to 10 concurrent
 * batches per portal, and they need not each cost a query. A connection created or stopped within
 * the TTL is seen late; a stopped one then answers "workflow not found" to its signal, a new one
 * misses a second of events that its incremental sync reads anyway.
 */
export type PortalConnections = (portalId: number) => Promise<LiveConnection[]>;

const MAX_ENTRIES = 10_000;

export function cachedPortalConnections(pool: Pool, ttlMs: number, now: () => number = Date.now): PortalConnections {
  const cache = new Map<number, { expiresAt: number; connections: Promise<LiveConnection[]> }>();
  return (portalId) => {
    const at = now();
    const hit = cache.get(portalId);
    if (hit && hit.expiresAt > at) return hit.connections;
    // Unbounded portals would grow the map for ever; dropping it all now and then costs a query each.
    if (cache.size >= MAX_ENTRIES) cache.clear();
    // Concurrent requests share one query; a failed query is not cached.
    const connections = liveConnectionsOfPortal(pool, portalId);
    cache.set(portalId, { expiresAt: at + ttlMs, connections });
    connections.catch(() => {
      if (cache.get(portalId)?.connections === connections) cache.delete(portalId);
    });
    return connections;
  };
}
