// Metadata APIs (HUBSPOT.md §3): properties and groups, custom object schemas, owners,
// pipelines, and account details.
import { Router, type Request } from 'express';
import { batchError, HubSpotError, notFound, validation } from './crm-errors.js';
import { batchBody, batchInputs, boolParam, caller, intParam, iso } from './crm-format.js';
import { PROPERTY_TYPES, propertyDef, publicProperty, type PropertyType } from './properties.js';
import type { ObjectTable, Portal, Store } from './store.js';

type P<T extends string> = Request<Record<T, string>>;

export function createMetaRouter(store: Store): Router {
  const r = Router();
  const typeOf = (req: P<'objectType'>, res: Parameters<typeof caller>[1]) => {
    const { portal } = caller(store, res);
    return { portal, table: store.table(portal, req.params.objectType) };
  };

  // ---- properties and groups
  r.get('/crm/v3/properties/:objectType', (req: P<'objectType'>, res) => {
    const { table } = typeOf(req, res);
    const archived = boolParam((req.query as Record<string, unknown>).archived);
    res.json({ results: [...table.def.properties.values()].filter((p) => p.archived === archived).map(publicProperty) });
  });

  r.post('/crm/v3/properties/:objectType', (req: P<'objectType'>, res) => {
    const { table } = typeOf(req, res);
    res.status(201).json(publicProperty(createProperty(store, table, req.body)));
  });

  r.post('/crm/v3/properties/:objectType/batch/read', (req: P<'objectType'>, res) => {
    const { table } = typeOf(req, res);
    const startedAt = store.clock.now();
    const names = batchInputs(req, 100).map((i) => String(i.name ?? ''));
    const found = names.map((n) => table.def.properties.get(n)).filter((p) => p !== undefined);
    const missing = names.filter((n) => !table.def.properties.has(n));
    const errors = missing.length ? [batchError('OBJECT_NOT_FOUND', `Properties do not exist: ${missing.join(', ')}`, { names: missing })] : [];
    res.status(errors.length ? 207 : 200).json(batchBody(found.map(publicProperty), startedAt, errors));
  });

  r.post('/crm/v3/properties/:objectType/batch/create', (req: P<'objectType'>, res) => {
    const { table } = typeOf(req, res);
    const startedAt = store.clock.now();
    const created = batchInputs(req, 100).map((input) => publicProperty(createProperty(store, table, input)));
    res.status(201).json(batchBody(created, startedAt));
  });

  r.post('/crm/v3/properties/:objectType/batch/archive', (req: P<'objectType'>, res) => {
    const { table } = typeOf(req, res);
    const names = batchInputs(req, 100).map((i) => String(i.name ?? ''));
    // Like object batch archive: names that do not exist (or are archived already) are skipped.
    archiveProperties(store, table, names.filter((n) => table.def.properties.get(n)?.archived === false));
    res.status(204).end();
  });

  r.get('/crm/v3/properties/:objectType/groups', (req: P<'objectType'>, res) => {
    const { table } = typeOf(req, res);
    res.json({ results: [...table.def.groups.values()] });
  });

  r.post('/crm/v3/properties/:objectType/groups', (req: P<'objectType'>, res) => {
    const { table } = typeOf(req, res);
    const { name, label, displayOrder } = (req.body ?? {}) as Record<string, unknown>;
    if (typeof name !== 'string' || typeof label !== 'string') throw validation('name and label are required');
    if (table.def.groups.has(name)) throw new HubSpotError(409, 'CONFLICT', `A property group named ${name} already exists`);
    const group = { name, label, displayOrder: typeof displayOrder === 'number' ? displayOrder : -1, archived: false };
    table.def.groups.set(name, group);
    res.status(201).json(group);
  });

  r.get('/crm/v3/properties/:objectType/groups/:groupName', (req: P<'objectType' | 'groupName'>, res) => {
    const { table } = typeOf(req, res);
    const group = table.def.groups.get(req.params.groupName);
    if (!group) throw notFound(`Property group ${req.params.groupName} does not exist`);
    res.json(group);
  });

  r.get('/crm/v3/properties/:objectType/:propertyName', (req: P<'objectType' | 'propertyName'>, res) => {
    const { table } = typeOf(req, res);
    const p = table.def.properties.get(req.params.propertyName);
    if (!p || p.archived !== boolParam((req.query as Record<string, unknown>).archived)) throw notFound(`Property ${req.params.propertyName} does not exist`);
    res.json(publicProperty(p));
  });

  r.delete('/crm/v3/properties/:objectType/:propertyName', (req: P<'objectType' | 'propertyName'>, res) => {
    const { table } = typeOf(req, res);
    if (table.def.properties.get(req.params.propertyName)?.archived !== false) throw notFound(`Property ${req.params.propertyName} does not exist`);
    archiveProperties(store, table, [req.params.propertyName]);
    res.status(204).end();
  });

  // ---- custom object schemas
  const schemas = ['/crm-object-schemas/v3/schemas', '/crm/v3/schemas'];
  r.get(schemas, (_req, res) => {
    const { portal } = caller(store, res);
    res.json({ results: [...portal.tables.values()].filter((t) => t.def.custom).map((t) => publicSchema(portal, t)) });
  });

  r.post(schemas, (req, res) => {
    const { portal } = caller(store, res);
    const egg = (req.body ?? {}) as Record<string, unknown>;
    const labels = egg.labels as { singular?: unknown; plural?: unknown } | undefined;
    if (typeof egg.name !== 'string' || !/^[a-z][a-z0-9_]*$/i.test(egg.name)) throw validation('name is required and must be alphanumeric');
    if (typeof labels?.singular !== 'string' || typeof labels.plural !== 'string') throw validation('labels.singular and labels.plural are required');
    const properties = Array.isArray(egg.properties) ? (egg.properties as Record<string, unknown>[]) : [];
    for (const p of properties) checkPropertyInput(p, false);
    const table = store.createCustomType(portal, {
      name: egg.name,
      labels: { singular: labels.singular, plural: labels.plural },
      ...(typeof egg.primaryDisplayProperty === 'string' ? { primaryDisplayProperty: egg.primaryDisplayProperty } : {}),
      requiredProperties: Array.isArray(egg.requiredProperties) ? egg.requiredProperties.map(String) : [],
      associatedObjects: Array.isArray(egg.associatedObjects) ? egg.associatedObjects.map(String) : [],
      properties: properties.map((p) => ({
        name: String(p.name),
        label: String(p.label),
        type: p.type as PropertyType,
        fieldType: String(p.fieldType),
        hasUniqueValue: p.hasUniqueValue === true,
        ...(Array.isArray(p.options) ? { options: p.options as { label: string; value: string }[] } : {}),
      })),
    });
    res.status(201).json(publicSchema(portal, table));
  });

  r.get(schemas.map((s) => `${s}/:objectType`), (req: P<'objectType'>, res) => {
    const { portal, table } = typeOf(req, res);
    if (!table.def.custom) throw notFound(`Object schema ${req.params.objectType} is not a custom object`);
    res.json(publicSchema(portal, table));
  });

  // ---- owners
  r.get(['/crm/v3/owners', '/crm/v3/owners/'], (req, res) => {
    const { portal } = caller(store, res);
    const q = req.query as Record<string, unknown>;
    const limit = intParam(q.limit, 'limit', 100, 100) || 100;
    const after = q.after === undefined ? 0 : Number(q.after);
    const email = typeof q.email === 'string' ? q.email.toLowerCase() : undefined;
    const owners = portal.owners.filter((o) => o.archived === boolParam(q.archived) && (!email || o.email === email));
    const page = owners.slice(after, after + limit);
    res.json({
      results: page.map(publicOwner),
      ...(after + limit < owners.length ? { paging: { next: { after: String(after + limit), link: '' } } } : {}),
    });
  });

  r.get('/crm/v3/owners/:ownerId', (req: P<'ownerId'>, res) => {
    const { portal } = caller(store, res);
    const byUserId = (req.query as Record<string, unknown>).idProperty === 'userId';
    const owner = portal.owners.find((o) => (byUserId ? String(o.userId) : o.id) === req.params.ownerId);
    if (!owner) throw notFound(`Owner ${req.params.ownerId} does not exist`);
    res.json(publicOwner(owner));
  });

  // ---- pipelines
  const pipelinesOf = (req: P<'objectType'>, res: Parameters<typeof caller>[1]) => {
    const { portal, table } = typeOf(req, res);
    return portal.pipelines.get(table.def.objectTypeId) ?? [];
  };
  const pipelineOf = (req: P<'objectType' | 'pipelineId'>, res: Parameters<typeof caller>[1]) => {
    const p = pipelinesOf(req, res).find((x) => x.id === req.params.pipelineId);
    if (!p) throw notFound(`Pipeline ${req.params.pipelineId} does not exist`);
    return p;
  };
  r.get('/crm/v3/pipelines/:objectType', (req: P<'objectType'>, res) => {
    res.json({ results: pipelinesOf(req, res).map(publicPipeline) });
  });
  r.get('/crm/v3/pipelines/:objectType/:pipelineId', (req: P<'objectType' | 'pipelineId'>, res) => {
    res.json(publicPipeline(pipelineOf(req, res)));
  });
  r.get('/crm/v3/pipelines/:objectType/:pipelineId/stages', (req: P<'objectType' | 'pipelineId'>, res) => {
    const p = pipelineOf(req, res);
    res.json({ results: publicPipeline(p).stages });
  });
  r.get('/crm/v3/pipelines/:objectType/:pipelineId/stages/:stageId', (req: P<'objectType' | 'pipelineId' | 'stageId'>, res) => {
    const stage = publicPipeline(pipelineOf(req, res)).stages.find((s) => s.id === req.params.stageId);
    if (!stage) throw notFound(`Stage ${req.params.stageId} does not exist`);
    res.json(stage);
  });

  // ---- account
  r.get('/account-info/v3/details', (_req, res) => {
    const { portal } = caller(store, res);
    const s = portal.settings;
    const offset = utcOffsetMs(s.timeZone, store.clock.now());
    res.json({
      portalId: s.portalId,
      accountType: s.accountType,
      timeZone: s.timeZone,
      companyCurrency: s.companyCurrency,
      additionalCurrencies: s.additionalCurrencies,
      utcOffset: formatOffset(offset),
      utcOffsetMilliseconds: offset,
      uiDomain: s.uiDomain,
      dataHostingLocation: s.dataHostingLocation,
    });
  });

  return r;
}

function checkPropertyInput(body: Record<string, unknown>, needsGroup: boolean): void {
  const missing = ['name', 'label', 'type', 'fieldType', ...(needsGroup ? ['groupName'] : [])].filter((k) => typeof body[k] !== 'string' || body[k] === '');
  if (missing.length > 0) throw validation(`Missing required fields: ${missing.join(', ')}`);
  if (!PROPERTY_TYPES.includes(body.type as PropertyType)) throw validation(`Invalid property type ${String(body.type)}; expected one of ${PROPERTY_TYPES.join(', ')}`);
}

function createProperty(store: Store, table: ObjectTable, raw: unknown) {
  const body = (raw ?? {}) as Record<string, unknown>;
  checkPropertyInput(body, true);
  const name = body.name as string;
  if (table.def.properties.has(name)) throw new HubSpotError(409, 'CONFLICT', `Property named '${name}' already exists.`);
  if (!table.def.groups.has(body.groupName as string)) throw validation(`Property group ${String(body.groupName)} does not exist`);
  const p = propertyDef(name, body.type as PropertyType, body.fieldType as string, store.clock.now(), {
    label: body.label as string,
    groupName: body.groupName as string,
    description: typeof body.description === 'string' ? body.description : '',
    hasUniqueValue: body.hasUniqueValue === true,
    hidden: body.hidden === true,
    formField: body.formField === true,
    displayOrder: typeof body.displayOrder === 'number' ? body.displayOrder : -1,
    options: Array.isArray(body.options)
      ? (body.options as Record<string, unknown>[]).map((o, i) => ({ label: String(o.label), value: String(o.value), displayOrder: Number(o.displayOrder ?? i), hidden: o.hidden === true }))
      : [],
  });
  table.def.properties.set(name, p);
  if (p.hasUniqueValue) table.unique.set(name, new Map());
  return p;
}

/** Archives properties all or nothing: HubSpot-defined ones cannot be archived (400). */
function archiveProperties(store: Store, table: ObjectTable, names: string[]): void {
  const props = names.map((n) => table.def.properties.get(n)!);
  const fixed = props.filter((p) => p.hubspotDefined).map((p) => p.name);
  if (fixed.length > 0) throw validation(`HubSpot-defined properties cannot be archived: ${fixed.join(', ')}`);
  const now = store.clock.now();
  for (const p of props) {
    p.archived = true;
    p.updatedAt = now;
    // An archived property's values no longer block a new record's.
    table.unique.delete(p.name);
  }
}

function publicSchema(portal: Portal, table: ObjectTable) {
  const c = table.def.custom!;
  return {
    id: c.schemaId,
    objectTypeId: table.def.objectTypeId,
    name: c.shortName,
    fullyQualifiedName: table.def.name,
    labels: c.labels,
    primaryDisplayProperty: c.primaryDisplayProperty,
    requiredProperties: c.requiredProperties,
    searchableProperties: table.def.queryProperties,
    secondaryDisplayProperties: [],
    properties: [...table.def.properties.values()].map(publicProperty),
    associations: [...portal.assoc.types.values()]
      .filter((t) => t.fromTypeId === table.def.objectTypeId)
      .map((t) => ({ id: String(t.typeId), fromObjectTypeId: t.fromTypeId, toObjectTypeId: t.toTypeId, name: t.name, createdAt: iso(c.createdAt), updatedAt: iso(c.updatedAt) })),
    archived: false,
    createdAt: iso(c.createdAt),
    updatedAt: iso(c.updatedAt),
  };
}

function publicOwner(o: Portal['owners'][number]) {
  return {
    id: o.id,
    email: o.email,
    firstName: o.firstName,
    lastName: o.lastName,
    userId: o.userId,
    userIdIncludingInactive: o.userId,
    type: 'PERSON',
    createdAt: iso(o.createdAt),
    updatedAt: iso(o.updatedAt),
    archived: o.archived,
    teams: [],
  };
}

function publicPipeline(p: Portal['pipelines'] extends Map<string, (infer T)[]> ? T : never) {
  return {
    id: p.id,
    label: p.label,
    displayOrder: p.displayOrder,
    createdAt: iso(p.createdAt),
    updatedAt: iso(p.updatedAt),
    archived: p.archived,
    stages: p.stages.map((s) => ({ ...s, createdAt: iso(p.createdAt), updatedAt: iso(p.updatedAt), archived: false, writePermissions: 'CRM_PERMISSIONS_ENFORCED' })),
  };
}

/** The zone's offset from UTC at `at`, from Intl (no tz database dependency). */
function utcOffsetMs(timeZone: string, at: number): number {
  try {
    const parts = Object.fromEntries(
      new Intl.DateTimeFormat('en-US', { timeZone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' })
        .formatToParts(new Date(at))
        .map((p) => [p.type, p.value]),
    );
    const local = Date.UTC(Number(parts.year), Number(parts.month) - 1, Number(parts.day), Number(parts.hour), Number(parts.minute), Number(parts.second));
    return local - Math.floor(at / 1000) * 1000;
  } catch {
    return 0;
  }
}

function formatOffset(ms: number): string {
  const sign = ms < 0 ? '-' : '+';
  const m = Math.abs(ms) / 60_000;
  return `${sign}${String(Math.floor(m / 60)).padStart(2, '0')}:${String(m % 60).padStart(2, '0')}`;
}
