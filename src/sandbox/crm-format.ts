// Request parsing and response shapes shared by the CRM routes (HUBSPOT.md §1).
import type { Request, Response } from 'express';
import { validation } from './crm-errors.js';
import type { AuthContext } from './tokens.js';
import { propertyHistory, propertyValue, type CrmRecord, type ObjectTable, type Portal, type SearchView, type Store, type WriteContext } from './store.js';

/** The portal and write context of an authenticated call (`requireAuth` sets `res.locals.auth`). */
export function caller(store: Store, res: Response): { portal: Portal; ctx: WriteContext } {
  const { portalId, appId } = res.locals.auth as AuthContext;
  return { portal: store.portal(portalId), ctx: { source: 'API', sourceId: String(appId) } };
}

/** Array params arrive as repeated keys (`properties=a&properties=b`) or comma lists; accept both. */
export function listParam(value: unknown): string[] | undefined {
  if (value === undefined) return undefined;
  const parts = (Array.isArray(value) ? value : [value]).flatMap((v) => String(v).split(',')).map((s) => s.trim()).filter(Boolean);
  return parts.length > 0 ? parts : undefined;
}

export function intParam(value: unknown, name: string, dflt: number, max: number): number {
  if (value === undefined || value === '') return dflt;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw validation(`${name} must be a non-negative integer, got ${String(value)}`);
  return Math.min(n, max);
}

export const boolParam = (value: unknown) => value === 'true' || value === true;

export interface FormatOptions {
  properties?: string[] | undefined;
  propertiesWithHistory?: string[] | undefined;
  associations?: string[] | undefined;
}

/** Which properties a response carries: the requested ones, or the type's defaults, plus id and timestamps. */
export function selectProperties(table: ObjectTable, requested: string[] | undefined): string[] {
  const base = requested ?? table.def.defaultProperties;
  return [...new Set([...base, 'createdate', table.def.modifiedProperty, 'hs_object_id'])];
}

export function formatRecord(portal: Portal, store: Store, table: ObjectTable, rec: CrmRecord | SearchView, opts: FormatOptions = {}) {
  const properties: Record<string, string | null> = {};
  for (const name of selectProperties(table, opts.properties)) {
    if (!table.def.properties.has(name)) continue;
    properties[name] = propertyValue(rec, name) ?? null;
  }
  const archived = 'archived' in rec && rec.archived;
  const out: Record<string, unknown> = {
    id: String(rec.id),
    properties,
    createdAt: iso(rec.createdAt),
    updatedAt: iso(rec.updatedAt),
    archived,
  };
  if (archived && 'archivedAt' in rec && rec.archivedAt !== undefined) out.archivedAt = iso(rec.archivedAt);
  if (opts.propertiesWithHistory && 'createdSource' in rec) {
    const history: Record<string, unknown[]> = {};
    for (const name of opts.propertiesWithHistory) {
      if (!table.def.properties.has(name)) continue;
      history[name] = propertyHistory(rec, name).map((h) => ({ value: h.value, timestamp: iso(h.timestamp), sourceType: h.sourceType, ...(h.sourceId ? { sourceId: h.sourceId } : {}) }));
    }
    out.propertiesWithHistory = history;
  }
  if (opts.associations) {
    const associations: Record<string, unknown> = {};
    for (const toName of opts.associations) {
      const to = tryTable(store, portal, toName);
      if (!to) continue;
      const results = activeEdges(store, portal, table, rec.id, to).flatMap((e) =>
        [...e.typeIds].sort((a, b) => a - b).map((typeId) => ({ id: String(e.toId), type: portal.assoc.types.get(typeId)?.name ?? String(typeId) })),
      );
      if (results.length > 0) associations[toName] = { results };
    }
    if (Object.keys(associations).length > 0) out.associations = associations;
  }
  return out;
}

/** Associations whose target is not archived (archived records drop out of association reads). */
export function activeEdges(store: Store, portal: Portal, from: ObjectTable, fromId: number, to: ObjectTable) {
  return portal.assoc.list(from.def.objectTypeId, fromId, to.def.objectTypeId).filter((e) => store.get(portal, to, e.toId) !== undefined);
}

export function tryTable(store: Store, portal: Portal, name: string): ObjectTable | undefined {
  try {
    return store.table(portal, name);
  } catch {
    return undefined;
  }
}

export function batchBody(results: unknown[], startedAt: number, errors: unknown[] = []) {
  // The simulator answers instantly (on its own clock): a batch completes when it starts.
  const body: Record<string, unknown> = { status: 'COMPLETE', results, startedAt: iso(startedAt), completedAt: iso(startedAt) };
  if (errors.length > 0) {
    body.numErrors = errors.length;
    body.errors = errors;
  }
  return body;
}

export function batchInputs(req: Request, max: number): Record<string, unknown>[] {
  const inputs = (req.body as { inputs?: unknown } | undefined)?.inputs;
  if (!Array.isArray(inputs)) throw validation('Invalid input JSON: inputs must be an array');
  if (inputs.length > max) throw validation(`Batch input limit exceeded: at most ${max} inputs are allowed, got ${inputs.length}`, { context: { limit: [String(max)] } });
  return inputs.map((i) => (typeof i === 'object' && i !== null ? (i as Record<string, unknown>) : {}));
}

export const iso = (ms: number) => new Date(ms).toISOString();

/** Paging block with HubSpot's `next.after` and a `link` back to the same route. */
export function paging(req: Request, after: string | undefined) {
  if (after === undefined) return {};
  const url = new URL(req.originalUrl, 'http://sandbox.local');
  url.searchParams.set('after', after);
  return { paging: { next: { after, link: `${req.protocol}://${req.get('host') ?? 'localhost'}${url.pathname}${url.search}` } } };
}
