// CRM objects v3: list, get, create, update, archive, batch, search, merge, GDPR delete.
import { Router, type Request } from 'express';
import { batchError, HubSpotError, notFound, validation } from './crm-errors.js';
import { batchBody, batchInputs, boolParam, caller, formatRecord, intParam, listParam, paging, type FormatOptions } from './crm-format.js';
import { search } from './search.js';
import type { CrmRecord, ObjectTable, Portal, Store, WriteContext } from './store.js';
import { validateWrite } from './properties.js';

const BATCH_MAX = 100;

export function createCrmRouter(store: Store): Router {
  const r = Router();
  const base = '/crm/v3/objects/:objectType';
  const resolve = (req: Request<{ objectType: string }>, res: Parameters<typeof caller>[1]) => {
    const { portal, ctx } = caller(store, res);
    return { portal, ctx, table: store.table(portal, req.params.objectType) };
  };
  const formatOpts = (q: Record<string, unknown>): FormatOptions => ({
    properties: listParam(q.properties),
    propertiesWithHistory: listParam(q.propertiesWithHistory),
    associations: listParam(q.associations),
  });

  r.get(base, (req, res) => {
    const { portal, table } = resolve(req, res);
    const q = req.query as Record<string, unknown>;
    const limit = intParam(q.limit, 'limit', 10, 100);
    const after = q.after === undefined || q.after === '' ? 0 : Number(q.after);
    if (!Number.isInteger(after)) throw validation(`Invalid after: ${String(q.after)}`);
    const page = store.listPage(table, after, limit, boolParam(q.archived));
    const opts = formatOpts(q);
    res.json({ results: page.records.map((rec) => formatRecord(portal, store, table, rec, opts)), ...paging(req, page.next?.toString()) });
  });

  r.post(base, (req, res) => {
    const { portal, ctx, table } = resolve(req, res);
    const body = (req.body ?? {}) as { properties?: unknown; associations?: unknown };
    const links = parseCreateAssociations(store, portal, table, body.associations);
    const rec = store.create(portal, table, body.properties, ctx);
    linkAll(store, portal, table, rec, links, ctx);
    res.status(201).json(formatRecord(portal, store, table, rec, { properties: Object.keys(rec.props) }));
  });

  r.post(`${base}/search`, (req, res) => {
    const { portal, table } = resolve(req, res);
    const result = search(portal, table, req.body, store.clock.now());
    res.json({
      total: result.total,
      results: result.results.map((v) => formatRecord(portal, store, table, v, { properties: result.properties })),
      ...(result.next !== undefined ? { paging: { next: { after: String(result.next) } } } : {}),
    });
  });

  r.post(`${base}/merge`, (req, res) => {
    const { portal, ctx, table } = resolve(req, res);
    const { primaryObjectId, objectIdToMerge } = (req.body ?? {}) as Record<string, unknown>;
    if (primaryObjectId === undefined || objectIdToMerge === undefined) throw validation('primaryObjectId and objectIdToMerge are required');
    const primary = store.get(portal, table, String(primaryObjectId));
    const other = store.get(portal, table, String(objectIdToMerge));
    if (!primary || !other) throw notFound(`Object not found. objectId are usually numeric.`);
    if (primary.id === other.id) throw validation('Cannot merge an object with itself');
    const winner = store.merge(portal, table, primary, other, ctx);
    res.json(formatRecord(portal, store, table, winner));
  });

  r.post(`${base}/gdpr-delete`, (req, res) => {
    const { portal, ctx, table } = resolve(req, res);
    if (table.def.objectTypeId !== '0-1') throw validation('GDPR delete is only available for contacts');
    const { objectId, idProperty } = (req.body ?? {}) as Record<string, unknown>;
    const rec = store.find(portal, table, String(objectId ?? ''), idProperty ? String(idProperty) : undefined) ?? store.get(portal, table, String(objectId ?? ''), true);
    if (!rec) throw notFound();
    store.purge(portal, table, rec, ctx);
    res.status(204).end();
  });

  r.post(`${base}/batch/read`, (req, res) => {
    const { portal, table } = resolve(req, res);
    const startedAt = store.clock.now();
    const inputs = batchInputs(req, BATCH_MAX);
    const body = req.body as Record<string, unknown>;
    const idProperty = typeof body.idProperty === 'string' ? body.idProperty : undefined;
    const archived = boolParam((req.query as Record<string, unknown>).archived);
    const opts: FormatOptions = { properties: listParam(body.properties), propertiesWithHistory: listParam(body.propertiesWithHistory) };
    const results: unknown[] = [];
    const missing: string[] = [];
    const seen = new Set<number>();
    for (const input of inputs) {
      const id = String(input.id ?? '');
      const rec = store.find(portal, table, id, idProperty, archived);
      if (!rec) missing.push(id);
      else if (!seen.has(rec.id)) {
        seen.add(rec.id);
        results.push(formatRecord(portal, store, table, rec, opts));
      }
    }
    const errors = missing.length
      ? [batchError('OBJECT_NOT_FOUND', `Could not get some ${table.def.singular.toUpperCase()} objects, they may be deleted or not exist. Check that ids are valid.`, { ids: missing })]
      : [];
    res.status(errors.length ? 207 : 200).json(batchBody(results, startedAt, errors));
  });

  r.post(`${base}/batch/create`, (req, res) => {
    const { portal, ctx, table } = resolve(req, res);
    const startedAt = store.clock.now();
    const inputs = batchInputs(req, BATCH_MAX);
    const traceIds = inputs.map((i) => (typeof i.objectWriteTraceId === 'string' ? i.objectWriteTraceId : undefined));
    const partial = traceIds.every((t) => t !== undefined) && new Set(traceIds).size === inputs.length;
    // Check every input before writing anything: without trace ids one bad input fails the whole batch.
    const problems = checkCreates(store, portal, table, inputs);
    if (!partial) {
      const first = problems.find((p) => p !== undefined);
      if (first) throw first;
    }
    const results: unknown[] = [];
    const errors: unknown[] = [];
    inputs.forEach((input, i) => {
      const problem = problems[i];
      if (problem) {
        errors.push({ ...batchError(problem.category, problem.message, { objectWriteTraceId: [traceIds[i]!] }), status: 'error' });
        return;
      }
      const links = parseCreateAssociations(store, portal, table, input.associations);
      const rec = store.create(portal, table, input.properties, ctx);
      linkAll(store, portal, table, rec, links, ctx);
      results.push({ ...formatRecord(portal, store, table, rec, { properties: Object.keys(rec.props) }), ...(traceIds[i] ? { objectWriteTraceId: traceIds[i] } : {}) });
    });
    res.status(errors.length ? 207 : 201).json(batchBody(results, startedAt, errors));
  });

  r.post(`${base}/batch/update`, (req, res) => {
    const { portal, ctx, table } = resolve(req, res);
    const startedAt = store.clock.now();
    const inputs = batchInputs(req, BATCH_MAX);
    for (const input of inputs) validateWrite(table.def, input.properties);
    const results: unknown[] = [];
    const missing: string[] = [];
    for (const input of inputs) {
      const id = String(input.id ?? '');
      const rec = store.find(portal, table, id, typeof input.idProperty === 'string' ? input.idProperty : undefined);
      if (!rec) {
        missing.push(id);
        continue;
      }
      store.update(portal, table, rec, input.properties, ctx);
      results.push(formatRecord(portal, store, table, rec, { properties: Object.keys((input.properties as object) ?? {}) }));
    }
    const errors = missing.length ? [batchError('OBJECT_NOT_FOUND', `Could not update some ${table.def.singular.toUpperCase()} objects, they may be deleted or not exist.`, { ids: missing })] : [];
    res.status(errors.length ? 207 : 200).json(batchBody(results, startedAt, errors));
  });

  r.post(`${base}/batch/upsert`, (req, res) => {
    const { portal, ctx, table } = resolve(req, res);
    const startedAt = store.clock.now();
    const inputs = batchInputs(req, BATCH_MAX);
    for (const input of inputs) {
      validateWrite(table.def, input.properties);
      if (typeof input.id !== 'string' || input.id === '') throw validation('Each upsert input needs an id');
    }
    const results = inputs.map((input) => {
      const idProperty = typeof input.idProperty === 'string' ? input.idProperty : undefined;
      const id = input.id as string;
      const existing = store.find(portal, table, id, idProperty);
      const props = { ...((input.properties as Record<string, unknown>) ?? {}) };
      if (existing) {
        store.update(portal, table, existing, props, ctx);
        return { ...formatRecord(portal, store, table, existing, { properties: Object.keys(existing.props) }), new: false };
      }
      if (!idProperty || idProperty === 'hs_object_id') throw notFound(`Object ${id} does not exist; upsert by id can only update`);
      props[idProperty] = id;
      const rec = store.create(portal, table, props, ctx);
      return { ...formatRecord(portal, store, table, rec, { properties: Object.keys(rec.props) }), new: true };
    });
    res.status(200).json(batchBody(results, startedAt));
  });

  r.post(`${base}/batch/archive`, (req, res) => {
    const { portal, ctx, table } = resolve(req, res);
    for (const input of batchInputs(req, BATCH_MAX)) {
      const rec = store.get(portal, table, String(input.id ?? ''));
      if (rec) store.archive(portal, table, rec, ctx);
    }
    res.status(204).end();
  });

  r.get(`${base}/:objectId`, (req, res) => {
    const { portal, table } = resolve(req, res);
    const q = req.query as Record<string, unknown>;
    const rec = store.find(portal, table, req.params.objectId, typeof q.idProperty === 'string' ? q.idProperty : undefined, boolParam(q.archived));
    if (!rec) throw notFound();
    res.json(formatRecord(portal, store, table, rec, formatOpts(q)));
  });

  r.patch(`${base}/:objectId`, (req, res) => {
    const { portal, ctx, table } = resolve(req, res);
    const q = req.query as Record<string, unknown>;
    const rec = store.find(portal, table, req.params.objectId, typeof q.idProperty === 'string' ? q.idProperty : undefined);
    if (!rec) throw notFound();
    const props = (req.body as { properties?: unknown } | undefined)?.properties;
    store.update(portal, table, rec, props, ctx);
    res.json(formatRecord(portal, store, table, rec, { properties: Object.keys((props as object) ?? {}) }));
  });

  r.delete(`${base}/:objectId`, (req, res) => {
    const { portal, ctx, table } = resolve(req, res);
    const rec = store.get(portal, table, req.params.objectId);
    // HubSpot answers 204 for ids that are already gone.
    if (rec) store.archive(portal, table, rec, ctx);
    res.status(204).end();
  });

  return r;
}

interface Link {
  to: ObjectTable;
  toId: number;
  typeIds: number[];
}

/** `associations: [{to:{id}, types:[{associationCategory, associationTypeId}]}]` on create; the type id implies the target type. */
function parseCreateAssociations(store: Store, portal: Portal, table: ObjectTable, raw: unknown): Link[] {
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw)) throw validation('associations must be an array');
  return raw.map((a: { to?: { id?: unknown }; types?: { associationTypeId?: unknown }[] }) => {
    const typeIds = (a.types ?? []).map((t) => Number(t.associationTypeId));
    const first = portal.assoc.types.get(typeIds[0] ?? NaN);
    if (!first || first.fromTypeId !== table.def.objectTypeId) throw validation(`Invalid association type id ${String(typeIds[0])} for ${table.def.name}`);
    const to = portal.tables.get(first.toTypeId)!;
    const target = store.get(portal, to, String(a.to?.id ?? ''));
    if (!target) throw validation(`Association target ${String(a.to?.id)} of type ${to.def.name} does not exist`);
    return { to, toId: target.id, typeIds };
  });
}

function linkAll(store: Store, portal: Portal, table: ObjectTable, rec: CrmRecord, links: Link[], ctx: WriteContext): void {
  for (const l of links) store.associate(portal, table, rec.id, l.to, l.toId, l.typeIds, ctx);
}

/** Per-input problems of a batch create: invalid properties, duplicates in the portal or within the batch. */
function checkCreates(store: Store, portal: Portal, table: ObjectTable, inputs: Record<string, unknown>[]): (HubSpotError | undefined)[] {
  const seen = new Map<string, number>();
  return inputs.map((input, i) => {
    try {
      const props = validateWrite(table.def, input.properties);
      store.checkUnique(table, props);
      parseCreateAssociations(store, portal, table, input.associations);
      for (const name of table.unique.keys()) {
        const v = props[name]?.toLowerCase();
        if (!v) continue;
        if (seen.has(`${name}:${v}`)) throw new HubSpotError(409, 'CONFLICT', `Duplicate value "${props[name]}" for unique property ${name} in batch inputs ${seen.get(`${name}:${v}`)} and ${i}`);
        seen.set(`${name}:${v}`, i);
      }
      return undefined;
    } catch (err) {
      if (err instanceof HubSpotError) return err;
      throw err;
    }
  });
}
