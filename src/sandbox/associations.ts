// Associations v4 (HUBSPOT.md §4): per-record reads with paging, labelled and default creates,
// deletes, batch read/create/archive/default, and association labels.
import { Router, type Request, type Response } from 'express';
import { batchError, notFound, validation } from './crm-errors.js';
import { activeEdges, batchBody, batchInputs, caller, intParam } from './crm-format.js';
import type { Edge } from './store-associations.js';
import type { ObjectTable, Portal, Store } from './store.js';

const READ_LIMIT = 500;
const BATCH_READ_MAX = 1000;
const BATCH_WRITE_MAX = 2000;

export function createAssociationsRouter(store: Store): Router {
  const r = Router();
  const obj = '/crm/v4/objects/:objectType/:objectId/associations';

  /** Resolves both sides and checks that the records exist and are not archived. */
  const pair = (res: Response, fromType: string, fromId: unknown, toType: string, toId: unknown) => {
    const { portal, ctx } = caller(store, res);
    const from = store.table(portal, fromType);
    const to = store.table(portal, toType);
    const a = store.get(portal, from, String(fromId ?? ''));
    const b = store.get(portal, to, String(toId ?? ''));
    if (!a) throw notFound(`${from.def.singular} ${String(fromId)} was not found`);
    if (!b) throw notFound(`${to.def.singular} ${String(toId)} was not found`);
    return { portal, ctx, from, to, fromId: a.id, toId: b.id };
  };

  const spec = (portal: Portal, typeId: number) => {
    const t = portal.assoc.types.get(typeId);
    return { category: t?.category ?? 'HUBSPOT_DEFINED', typeId, label: t?.label ?? null };
  };
  const toResult = (portal: Portal, e: Edge) => ({ toObjectId: e.toId, associationTypes: [...e.typeIds].sort((a, b) => a - b).map((t) => spec(portal, t)) });
  const labelsPair = (portal: Portal, from: ObjectTable, fromId: number, to: ObjectTable, toId: number) => {
    const e = portal.assoc.list(from.def.objectTypeId, fromId, to.def.objectTypeId).find((x) => x.toId === toId);
    return {
      fromObjectTypeId: from.def.objectTypeId,
      fromObjectId: fromId,
      toObjectTypeId: to.def.objectTypeId,
      toObjectId: toId,
      labels: [...(e?.typeIds ?? [])].map((t) => portal.assoc.types.get(t)?.label).filter((l): l is string => !!l),
    };
  };
  /** Validates `[{associationCategory, associationTypeId}]` against the pair's types. */
  const typeIds = (portal: Portal, from: ObjectTable, to: ObjectTable, raw: unknown): number[] => {
    if (!Array.isArray(raw) || raw.length === 0) throw validation('At least one association type is required');
    return raw.map((s: { associationCategory?: unknown; associationTypeId?: unknown }) => {
      const t = portal.assoc.types.get(Number(s.associationTypeId));
      if (!t || t.fromTypeId !== from.def.objectTypeId || t.toTypeId !== to.def.objectTypeId || (s.associationCategory !== undefined && s.associationCategory !== t.category)) {
        throw validation(`${String(s.associationCategory)} ${String(s.associationTypeId)} is not a valid association type between ${from.def.name} and ${to.def.name}`);
      }
      return t.typeId;
    });
  };
  /** One page of a record's associations to one type; `after` is the last target id seen. */
  const readPage = (store_: Store, portal: Portal, from: ObjectTable, fromId: number, to: ObjectTable, after: number, limit: number) => {
    const edges = activeEdges(store_, portal, from, fromId, to).filter((e) => e.toId > after);
    const page = edges.slice(0, limit);
    return { results: page.map((e) => toResult(portal, e)), next: edges.length > limit ? String(page[page.length - 1]!.toId) : undefined };
  };

  r.get(`${obj}/:toObjectType`, (req: Request<{ objectType: string; objectId: string; toObjectType: string }>, res) => {
    const { portal } = caller(store, res);
    const from = store.table(portal, req.params.objectType);
    const to = store.table(portal, req.params.toObjectType);
    const rec = store.get(portal, from, req.params.objectId);
    if (!rec) throw notFound();
    const q = req.query as Record<string, unknown>;
    const after = q.after === undefined ? 0 : Number(q.after);
    if (!Number.isFinite(after)) throw validation(`Invalid after: ${String(q.after)}`);
    const page = readPage(store, portal, from, rec.id, to, after, intParam(q.limit, 'limit', READ_LIMIT, READ_LIMIT) || READ_LIMIT);
    res.json({ results: page.results, ...(page.next ? { paging: { next: { after: page.next, link: '' } } } : {}) });
  });

  r.put(`${obj}/default/:toObjectType/:toObjectId`, (req: Request<{ objectType: string; objectId: string; toObjectType: string; toObjectId: string }>, res) => {
    const p = pair(res, req.params.objectType, req.params.objectId, req.params.toObjectType, req.params.toObjectId);
    const t = p.portal.assoc.defaultType(p.from.def.objectTypeId, p.to.def.objectTypeId);
    const startedAt = store.clock.now();
    store.associate(p.portal, p.from, p.fromId, p.to, p.toId, [t.typeId], p.ctx);
    res.status(200).json(batchBody([defaultResult(p.fromId, p.toId, t.category, t.typeId)], startedAt));
  });

  r.put(`${obj}/:toObjectType/:toObjectId`, (req: Request<{ objectType: string; objectId: string; toObjectType: string; toObjectId: string }>, res) => {
    const p = pair(res, req.params.objectType, req.params.objectId, req.params.toObjectType, req.params.toObjectId);
    store.associate(p.portal, p.from, p.fromId, p.to, p.toId, typeIds(p.portal, p.from, p.to, req.body), p.ctx);
    res.status(201).json(labelsPair(p.portal, p.from, p.fromId, p.to, p.toId));
  });

  r.delete(`${obj}/:toObjectType/:toObjectId`, (req: Request<{ objectType: string; objectId: string; toObjectType: string; toObjectId: string }>, res) => {
    const { portal, ctx } = caller(store, res);
    const from = store.table(portal, req.params.objectType);
    const to = store.table(portal, req.params.toObjectType);
    store.disassociate(portal, from, Number(req.params.objectId), to, Number(req.params.toObjectId), undefined, ctx);
    res.status(204).end();
  });

  const batch = '/crm/v4/associations/:fromObjectType/:toObjectType';
  type BatchReq = Request<{ fromObjectType: string; toObjectType: string }>;

  r.post(`${batch}/batch/read`, (req: BatchReq, res) => {
    const { portal } = caller(store, res);
    const from = store.table(portal, req.params.fromObjectType);
    const to = store.table(portal, req.params.toObjectType);
    const startedAt = store.clock.now();
    const results: unknown[] = [];
    const errors: unknown[] = [];
    for (const input of batchInputs(req, BATCH_READ_MAX)) {
      const id = String(input.id ?? '');
      const rec = store.get(portal, from, id);
      const page = rec ? readPage(store, portal, from, rec.id, to, input.after === undefined ? 0 : Number(input.after), READ_LIMIT) : undefined;
      if (!page || page.results.length === 0) {
        errors.push(batchError('NO_ASSOCIATIONS_FOUND', `No ${to.def.name} is associated with ${from.def.singular} ${id}.`, { fromObjectId: [id] }));
        continue;
      }
      results.push({ from: { id }, to: page.results, ...(page.next ? { paging: { next: { after: page.next } } } : {}) });
    }
    res.status(errors.length ? 207 : 200).json(batchBody(results, startedAt, errors));
  });

  r.post(`${batch}/batch/create`, (req: BatchReq, res) => {
    const startedAt = store.clock.now();
    const work = batchInputs(req, BATCH_WRITE_MAX).map((input) => {
      const p = pair(res, req.params.fromObjectType, (input.from as { id?: unknown })?.id, req.params.toObjectType, (input.to as { id?: unknown })?.id);
      return { p, types: typeIds(p.portal, p.from, p.to, input.types) };
    });
    const results = work.map(({ p, types }) => {
      store.associate(p.portal, p.from, p.fromId, p.to, p.toId, types, p.ctx);
      return labelsPair(p.portal, p.from, p.fromId, p.to, p.toId);
    });
    res.status(201).json(batchBody(results, startedAt));
  });

  r.post(`${batch}/batch/associate/default`, (req: BatchReq, res) => {
    const startedAt = store.clock.now();
    const work = batchInputs(req, BATCH_WRITE_MAX).map((input) =>
      pair(res, req.params.fromObjectType, (input.from as { id?: unknown })?.id, req.params.toObjectType, (input.to as { id?: unknown })?.id),
    );
    const results = work.map((p) => {
      const t = p.portal.assoc.defaultType(p.from.def.objectTypeId, p.to.def.objectTypeId);
      store.associate(p.portal, p.from, p.fromId, p.to, p.toId, [t.typeId], p.ctx);
      return defaultResult(p.fromId, p.toId, t.category, t.typeId);
    });
    res.status(200).json(batchBody(results, startedAt));
  });

  r.post(`${batch}/batch/archive`, (req: BatchReq, res) => {
    const { portal, ctx } = caller(store, res);
    const from = store.table(portal, req.params.fromObjectType);
    const to = store.table(portal, req.params.toObjectType);
    for (const input of batchInputs(req, BATCH_WRITE_MAX)) {
      const fromId = Number((input.from as { id?: unknown })?.id);
      const targets = Array.isArray(input.to) ? (input.to as { id?: unknown }[]) : [];
      for (const t of targets) store.disassociate(portal, from, fromId, to, Number(t.id), undefined, ctx);
    }
    res.status(204).end();
  });

  r.post(`${batch}/batch/labels/archive`, (req: BatchReq, res) => {
    const { portal, ctx } = caller(store, res);
    const from = store.table(portal, req.params.fromObjectType);
    const to = store.table(portal, req.params.toObjectType);
    for (const input of batchInputs(req, BATCH_WRITE_MAX)) {
      const ids = typeIds(portal, from, to, input.types);
      store.disassociate(portal, from, Number((input.from as { id?: unknown })?.id), to, Number((input.to as { id?: unknown })?.id), ids, ctx);
    }
    res.status(204).end();
  });

  r.get(`${batch}/labels`, (req: BatchReq, res) => {
    const { portal } = caller(store, res);
    const from = store.table(portal, req.params.fromObjectType);
    const to = store.table(portal, req.params.toObjectType);
    res.json({ results: portal.assoc.typesBetween(from.def.objectTypeId, to.def.objectTypeId).map((t) => spec(portal, t.typeId)) });
  });

  r.post(`${batch}/labels`, (req: BatchReq, res) => {
    const { portal } = caller(store, res);
    const from = store.table(portal, req.params.fromObjectType);
    const to = store.table(portal, req.params.toObjectType);
    const { label, inverseLabel } = (req.body ?? {}) as { label?: unknown; inverseLabel?: unknown };
    if (typeof label !== 'string' || label === '') throw validation('label is required');
    const t = portal.assoc.defineLabel(from.def.objectTypeId, to.def.objectTypeId, label, typeof inverseLabel === 'string' && inverseLabel !== '' ? inverseLabel : undefined);
    res.json({ results: [spec(portal, t.typeId), spec(portal, t.inverseTypeId)] });
  });

  return r;
}

function defaultResult(fromId: number, toId: number, category: string, typeId: number) {
  return { from: { id: String(fromId) }, to: { id: String(toId) }, associationSpec: { associationCategory: category, associationTypeId: typeId } };
}
