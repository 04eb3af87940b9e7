// The simulator's state: portals, their records, indexes and associations. Every mutation goes
// through here so that timestamps, indexes, history and CrmChange events stay consistent.
import type { CrmChange, SandboxClock } from './types.js';
import { HubSpotError, notFound, validation } from './crm-errors.js';
import { SortedList } from './store-sorted.js';
import { AssociationStore, type EdgeChange } from './store-associations.js';
import { customType, DERIVED, propertyDef, standardTypes, validateWrite, type ObjectTypeDef, type PropertyType } from './properties.js';
import { defaultOwners, defaultPipelines, type Owner, type Pipeline, type PortalSettings } from './store-portal.js';

export interface HistoryEntry {
  value: string;
  timestamp: number;
  sourceType: string;
  sourceId?: string;
}

/** What search sees of a record while its latest write is not yet searchable. */
export interface SearchView {
  id: number;
  createdAt: number;
  updatedAt: number;
  props: Record<string, string>;
}

export interface CrmRecord {
  id: number;
  createdAt: number;
  updatedAt: number;
  archived: boolean;
  archivedAt?: number;
  /** Stored properties only; ids and timestamps are derived (see `propertyValue`). */
  props: Record<string, string>;
  createdSource: string;
  /** Earlier values, newest first, created on a property's first change (saves memory at 1M records). */
  history?: Map<string, HistoryEntry[]>;
  /** Set while a search delay hides the latest write: search answers from `shadow` (null: invisible) until then. */
  searchableAt?: number;
  shadow?: SearchView | null;
}

/** Who made a change: `API` (sourceId = app id) or `CRM_UI` (a user, through the control API). */
export interface WriteContext {
  source: 'API' | 'CRM_UI' | 'INTEGRATION' | 'IMPORT';
  sourceId?: string;
}

const byId = (a: CrmRecord, b: CrmRecord) => a.id - b.id;
const byModified = (a: CrmRecord, b: CrmRecord) => a.updatedAt - b.updatedAt || a.id - b.id;
const byCreated = (a: CrmRecord, b: CrmRecord) => a.createdAt - b.createdAt || a.id - b.id;

/** One object type's records of one portal, with the indexes that keep pages O(page). */
export class ObjectTable {
  readonly records = new Map<number, CrmRecord>();
  readonly active = new SortedList<CrmRecord>(byId);
  readonly archived = new SortedList<CrmRecord>(byId);
  /** Active records by (modified time, id): incremental-sync searches. */
  readonly byModified = new SortedList<CrmRecord>(byModified);
  /** Active records by (creation time, id): search's default order. */
  readonly byCreated = new SortedList<CrmRecord>(byCreated);
  /** Unique-valued property → lower-cased value → id, for active records. */
  readonly unique = new Map<string, Map<string, number>>();

  constructor(readonly def: ObjectTypeDef) {
    for (const p of def.properties.values()) if (p.hasUniqueValue) this.unique.set(p.name, new Map());
  }

  /** Callers unindex before changing a sort key (timestamps, archived, unique values) and index after. */
  index(rec: CrmRecord): void {
    if (rec.archived) {
      this.archived.insert(rec);
      return;
    }
    this.active.insert(rec);
    this.byModified.insert(rec);
    this.byCreated.insert(rec);
    for (const [name, values] of this.unique) {
      const v = rec.props[name];
      if (v) values.set(v.toLowerCase(), rec.id);
    }
  }

  unindex(rec: CrmRecord): void {
    if (rec.archived) {
      this.archived.remove(rec);
      return;
    }
    this.active.remove(rec);
    this.byModified.remove(rec);
    this.byCreated.remove(rec);
    for (const [name, values] of this.unique) {
      const v = rec.props[name]?.toLowerCase();
      if (v && values.get(v) === rec.id) values.delete(v);
    }
  }

  /** The active record holding a unique value, if any. */
  findUnique(name: string, value: string): CrmRecord | undefined {
    const id = this.unique.get(name)?.get(value.toLowerCase());
    const rec = id === undefined ? undefined : this.records.get(id);
    return rec && !rec.archived ? rec : undefined;
  }
}

export interface Portal {
  settings: PortalSettings;
  tables: Map<string, ObjectTable>;
  /** Accepted names of each type (`contacts`, `contact`, `0-1`, `p123_cars`, ...) → type id. */
  aliases: Map<string, string>;
  assoc: AssociationStore;
  /** `${typeId}:${oldId}` → id that replaced it through a merge. */
  redirects: Map<string, number>;
  owners: Owner[];
  pipelines: Map<string, Pipeline[]>;
  nextId: number;
  nextCustomType: number;
  searchDelayMs: number;
}

export interface CreatePortalOptions extends Partial<Omit<PortalSettings, 'portalId'>> {
  portalId?: number;
  searchDelayMs?: number;
}

export interface WriteOptions {
  /** Force the write's timestamp (bulk edits, seeding). */
  timestamp?: number;
  createdAt?: number;
  /** Seeding: no CrmChange events and immediately searchable. */
  silent?: boolean;
}

/** CRM behaviours HUBSPOT.md states but tests may want otherwise; settable through the control API. */
export interface CrmBehaviour {
  /** How long an archived record can be restored, on the sandbox clock (HubSpot: 90 days). */
  restoreWindowMs: number;
  /** Object type ids whose merges mint a new id (HubSpot documents it of deals only); `custom` means every custom type. */
  newIdOnMerge: string[];
  /** Whether a restore moves the record's modification time (HUBSPOT.md does not say): off, a restore is invisible to incremental search. */
  restoreMovesModifiedTime: boolean;
}

const DEFAULT_CRM_BEHAVIOUR: CrmBehaviour = { restoreWindowMs: 90 * 86_400_000, newIdOnMerge: ['0-3'], restoreMovesModifiedTime: true };

export class Store {
  readonly portals = new Map<number, Portal>();
  readonly behaviour: CrmBehaviour;
  private readonly listeners = new Set<(change: CrmChange) => void>();
  private nextPortalId = 100001;

  constructor(
    readonly clock: SandboxClock,
    private readonly defaults: { searchDelayMs?: number; behaviour?: Partial<CrmBehaviour> } = {},
  ) {
    this.behaviour = { ...DEFAULT_CRM_BEHAVIOUR, ...defaults.behaviour };
  }

  /** Subscribes to every CRM change; returns the unsubscribe function. */
  onChange(listener: (change: CrmChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  createPortal(opts: CreatePortalOptions = {}): Portal {
    const portalId = opts.portalId ?? this.nextPortalId++;
    if (this.portals.has(portalId)) throw new HubSpotError(409, 'CONFLICT', `Portal ${portalId} already exists`);
    const now = this.clock.now();
    const portal: Portal = {
      settings: {
        portalId,
        tier: opts.tier ?? 'free',
        accountType: opts.accountType ?? 'STANDARD',
        timeZone: opts.timeZone ?? 'US/Eastern',
        companyCurrency: opts.companyCurrency ?? 'USD',
        additionalCurrencies: opts.additionalCurrencies ?? [],
        uiDomain: opts.uiDomain ?? 'app.hubspot.com',
        dataHostingLocation: opts.dataHostingLocation ?? 'na1',
      },
      tables: new Map(),
      aliases: new Map(),
      assoc: new AssociationStore(),
      redirects: new Map(),
      owners: defaultOwners(portalId, now),
      pipelines: defaultPipelines(now),
      nextId: 1,
      nextCustomType: 1,
      searchDelayMs: opts.searchDelayMs ?? this.defaults.searchDelayMs ?? 0,
    };
    for (const def of standardTypes(now)) this.addTable(portal, def);
    this.portals.set(portalId, portal);
    return portal;
  }

  portal(portalId: number): Portal {
    const p = this.portals.get(portalId);
    if (!p) throw notFound(`Portal ${portalId} does not exist`);
    return p;
  }

  /** Resolves an object type by plural/singular name, id (`0-1`, `2-NNN`) or fully qualified name. */
  table(portal: Portal, objectType: string): ObjectTable {
    const id = portal.aliases.get(objectType.toLowerCase());
    const table = id === undefined ? undefined : portal.tables.get(id);
    if (!table) throw validation(`Unable to infer object type from: ${objectType}`);
    return table;
  }

  /** Creates a custom object type (schemas API) and its default associations. */
  createCustomType(
    portal: Portal,
    egg: { name: string; labels: { singular: string; plural: string }; primaryDisplayProperty?: string; requiredProperties?: string[]; associatedObjects?: string[]; properties: { name: string; label: string; type: PropertyType; fieldType: string; hasUniqueValue?: boolean; options?: { label: string; value: string }[] }[] },
  ): ObjectTable {
    const now = this.clock.now();
    const seq = portal.nextCustomType++;
    const objectTypeId = `2-${portal.settings.portalId * 100 + seq}`;
    const fqn = `p${portal.settings.portalId}_${egg.name}`;
    if (portal.aliases.has(egg.name.toLowerCase())) throw new HubSpotError(409, 'CONFLICT', `Object type with name ${egg.name} already exists`);
    const base = customType(fqn, now);
    for (const p of egg.properties) {
      base.properties.set(
        p.name,
        propertyDef(p.name, p.type, p.fieldType, now, {
          label: p.label,
          hasUniqueValue: p.hasUniqueValue ?? false,
          groupName: `${fqn}_information`,
          options: (p.options ?? []).map((o, i) => ({ ...o, displayOrder: i, hidden: false })),
        }),
      );
    }
    const primary = egg.primaryDisplayProperty ?? egg.properties[0]?.name ?? 'hs_object_id';
    const def: ObjectTypeDef = {
      ...base,
      objectTypeId,
      name: fqn,
      singular: egg.labels.singular,
      defaultProperties: [primary],
      queryProperties: [primary],
      custom: {
        schemaId: String(portal.settings.portalId * 100 + seq),
        shortName: egg.name,
        labels: egg.labels,
        requiredProperties: egg.requiredProperties ?? [],
        primaryDisplayProperty: primary,
        associatedObjects: egg.associatedObjects ?? [],
        createdAt: now,
        updatedAt: now,
      },
    };
    const table = this.addTable(portal, def, [egg.name]);
    for (const other of def.custom!.associatedObjects) portal.assoc.defaultType(objectTypeId, this.table(portal, other).def.objectTypeId);
    return table;
  }

  /** A record by id, following merge redirects; `archived` selects archived records instead of active ones. */
  get(portal: Portal, table: ObjectTable, id: string | number, archived = false): CrmRecord | undefined {
    let n = typeof id === 'number' ? id : /^\d+$/.test(id) ? Number(id) : NaN;
    for (let hops = 0; hops < 100; hops++) {
      const next = portal.redirects.get(`${table.def.objectTypeId}:${n}`);
      if (next === undefined) break;
      n = next;
    }
    const rec = table.records.get(n);
    return rec && rec.archived === archived ? rec : undefined;
  }

  /** A record by id or by a unique property (`idProperty=email`). */
  find(portal: Portal, table: ObjectTable, id: string, idProperty?: string, archived = false): CrmRecord | undefined {
    if (!idProperty || idProperty === 'hs_object_id') return this.get(portal, table, id, archived);
    if (table.unique.has(idProperty) && !archived) return table.findUnique(idProperty, id);
    if (!table.def.properties.has(idProperty)) throw validation(`Property ${idProperty} does not exist`);
    const want = id.toLowerCase();
    for (const rec of archived ? table.archived : table.active) if (rec.props[idProperty]?.toLowerCase() === want) return rec;
    return undefined;
  }

  /** Refuses a write that would duplicate a unique value; HubSpot's 409 names the existing id. */
  checkUnique(table: ObjectTable, props: Record<string, string>, selfId?: number): void {
    for (const name of table.unique.keys()) {
      const v = props[name];
      if (!v) continue;
      const other = table.findUnique(name, v);
      if (other && other.id !== selfId) {
        const message =
          name === 'email' && table.def.objectTypeId === '0-1'
            ? `Contact already exists. Existing ID: ${other.id}`
            : `A ${table.def.singular} with the unique value "${v}" for property "${name}" already exists. Existing ID: ${other.id}`;
        throw new HubSpotError(409, 'CONFLICT', message);
      }
    }
  }

  create(portal: Portal, table: ObjectTable, rawProps: unknown, ctx: WriteContext, opts: WriteOptions = {}): CrmRecord {
    const props = nonEmpty(validateWrite(table.def, rawProps));
    this.checkUnique(table, props);
    const now = opts.timestamp ?? this.clock.now();
    const rec: CrmRecord = { id: portal.nextId++, createdAt: opts.createdAt ?? now, updatedAt: now, archived: false, props, createdSource: ctx.source };
    if (!opts.silent) this.hideFromSearch(portal, rec, null);
    table.records.set(rec.id, rec);
    table.index(rec);
    if (!opts.silent) {
      this.emit(portal, table, rec.id, 'creation', ctx, now);
      for (const [name, value] of Object.entries(props)) this.emit(portal, table, rec.id, 'propertyChange', ctx, now, { propertyName: name, propertyValue: value });
    }
    return rec;
  }

  /** Applies property changes; `""` clears. Unchanged values do not move the modified time. */
  update(portal: Portal, table: ObjectTable, rec: CrmRecord, rawProps: unknown, ctx: WriteContext, opts: WriteOptions = {}): CrmRecord {
    const props = validateWrite(table.def, rawProps);
    this.checkUnique(table, props, rec.id);
    const changed = Object.entries(props).filter(([name, value]) => (rec.props[name] ?? '') !== value);
    if (changed.length === 0 && opts.timestamp === undefined) return rec;
    const now = opts.timestamp ?? this.clock.now();
    this.hideFromSearch(portal, rec, snapshot(rec));
    table.unindex(rec);
    for (const [name, value] of changed) {
      recordHistory(rec, name, { value, timestamp: now, sourceType: ctx.source, ...(ctx.sourceId ? { sourceId: ctx.sourceId } : {}) });
      if (value === '') delete rec.props[name];
      else rec.props[name] = value;
    }
    rec.updatedAt = now;
    table.index(rec);
    for (const [name, value] of changed) this.emit(portal, table, rec.id, 'propertyChange', ctx, now, { propertyName: name, propertyValue: value });
    return rec;
  }

  /** One user edit touching many records at a single instant (HubSpot bulk edits; HUBSPOT.md sharp edge 2). */
  bulkUpdate(portal: Portal, table: ObjectTable, records: CrmRecord[], props: unknown, ctx: WriteContext): number {
    const timestamp = this.clock.now();
    for (const rec of records) this.update(portal, table, rec, props, ctx, { timestamp });
    return timestamp;
  }

  archive(portal: Portal, table: ObjectTable, rec: CrmRecord, ctx: WriteContext): void {
    const now = this.clock.now();
    this.hideFromSearch(portal, rec, snapshot(rec));
    table.unindex(rec);
    rec.archived = true;
    rec.archivedAt = now;
    rec.updatedAt = now;
    table.index(rec);
    this.emit(portal, table, rec.id, 'deletion', ctx, now);
  }

  restore(portal: Portal, table: ObjectTable, rec: CrmRecord, ctx: WriteContext): CrmRecord {
    const now = this.clock.now();
    if (rec.archivedAt !== undefined && now - rec.archivedAt > this.behaviour.restoreWindowMs) {
      throw validation(`${table.def.singular} ${rec.id} was archived more than ${Math.round(this.behaviour.restoreWindowMs / 86_400_000)} days ago and can no longer be restored`);
    }
    this.checkUnique(table, rec.props, rec.id);
    this.hideFromSearch(portal, rec, null);
    table.unindex(rec);
    rec.archived = false;
    delete rec.archivedAt;
    if (this.behaviour.restoreMovesModifiedTime) rec.updatedAt = now;
    table.index(rec);
    this.emit(portal, table, rec.id, 'restore', ctx, now);
    return rec;
  }

  /** Permanent deletion (GDPR): the record and its associations are gone. */
  purge(portal: Portal, table: ObjectTable, rec: CrmRecord, ctx: WriteContext): void {
    const now = this.clock.now();
    table.unindex(rec);
    table.records.delete(rec.id);
    portal.assoc.removeAll(table.def.objectTypeId, rec.id);
    this.emit(portal, table, rec.id, 'privacyDeletion', ctx, now);
    this.emit(portal, table, rec.id, 'deletion', ctx, now);
  }

  /**
   * Merges `other` into `primary`. The primary's id is kept, except for types in
   * `behaviour.newIdOnMerge` (deals by default): the winner gets a new id, and both old ids
   * redirect to it (HUBSPOT.md §1).
   */
  merge(portal: Portal, table: ObjectTable, primary: CrmRecord, other: CrmRecord, ctx: WriteContext): CrmRecord {
    if (primary.id === other.id) throw validation('Cannot merge an object with itself');
    const now = this.clock.now();
    const typeId = table.def.objectTypeId;
    const mints = this.behaviour.newIdOnMerge;
    const keepsId = !(mints.includes(typeId) || (table.def.custom !== undefined && mints.includes('custom')));
    let moved = 0;
    const props = { ...primary.props };
    for (const [name, value] of Object.entries(other.props)) {
      if (table.unique.has(name) || name === 'hs_merged_object_ids') continue;
      if (props[name] === undefined) {
        props[name] = value;
        moved++;
      }
    }
    const mergedIds = [primary.props.hs_merged_object_ids, other.props.hs_merged_object_ids, keepsId ? undefined : String(primary.id), String(other.id)]
      .filter((v): v is string => !!v)
      .join(';');
    props.hs_merged_object_ids = mergedIds;

    for (const rec of [primary, other]) {
      this.hideFromSearch(portal, rec, snapshot(rec));
      table.unindex(rec);
    }
    const winner: CrmRecord = keepsId ? primary : { id: portal.nextId++, createdAt: primary.createdAt, updatedAt: now, archived: false, props: {}, createdSource: ctx.source };
    if (!keepsId) this.hideFromSearch(portal, winner, null);
    winner.props = props;
    winner.updatedAt = now;
    const losers = keepsId ? [other] : [primary, other];
    for (const loser of losers) {
      table.records.delete(loser.id);
      portal.redirects.set(`${typeId}:${loser.id}`, winner.id);
      this.moveAssociations(portal, typeId, loser.id, winner.id, ctx, now);
    }
    table.records.set(winner.id, winner);
    table.index(winner);
    // The merged-away email stays attached to the winner (HubSpot keeps it as a secondary email).
    for (const [name, values] of table.unique) {
      const v = other.props[name];
      if (v && !values.has(v.toLowerCase())) values.set(v.toLowerCase(), winner.id);
    }
    this.emit(portal, table, primary.id, 'merge', ctx, now, {
      primaryObjectId: String(primary.id),
      mergedObjectIds: [String(other.id)],
      newObjectId: String(winner.id),
      numberOfPropertiesMoved: moved,
    });
    return winner;
  }

  /** Adds association types between two records; emits an associationChange per new type and per demoted primary. */
  associate(portal: Portal, from: ObjectTable, fromId: number, to: ObjectTable, toId: number, typeIds: number[], ctx: WriteContext, silent = false): void {
    const now = this.clock.now();
    for (const typeId of typeIds) {
      for (const change of portal.assoc.add(from.def.objectTypeId, fromId, to.def.objectTypeId, toId, typeId)) {
        if (!silent) this.emitAssociation(portal, change, ctx, now);
      }
    }
  }

  disassociate(portal: Portal, from: ObjectTable, fromId: number, to: ObjectTable, toId: number, typeIds: number[] | undefined, ctx: WriteContext): void {
    const now = this.clock.now();
    const [fromType, toType] = [from.def.objectTypeId, to.def.objectTypeId];
    for (const typeId of portal.assoc.remove(fromType, fromId, toType, toId, typeIds)) {
      this.emitAssociation(portal, { fromType, fromId, toType, toId, typeId, removed: true }, ctx, now);
    }
  }

  /** A page of records in id order; `after` is the last id of the previous page, so it survives concurrent changes. */
  listPage(table: ObjectTable, after: number, limit: number, archived: boolean): { records: CrmRecord[]; next?: number } {
    const list = archived ? table.archived : table.active;
    const records: CrmRecord[] = [];
    for (const rec of list.from(list.rank((r) => (r.id <= after ? -1 : 1)))) {
      if (records.length === limit) return { records, next: records[records.length - 1]!.id };
      records.push(rec);
    }
    return { records };
  }

  private addTable(portal: Portal, def: ObjectTypeDef, extraAliases: string[] = []): ObjectTable {
    const table = new ObjectTable(def);
    portal.tables.set(def.objectTypeId, table);
    for (const alias of [def.objectTypeId, def.name, def.singular, ...extraAliases]) portal.aliases.set(alias.toLowerCase(), def.objectTypeId);
    return table;
  }

  /**
   * A merge moves the loser's associations to the winner. What the winner gains is an
   * associationChange; the loser's edges go with the loser, which the merge event announces.
   */
  private moveAssociations(portal: Portal, typeId: string, fromId: number, toId: number, ctx: WriteContext, now: number): void {
    for (const target of portal.assoc.targets(typeId, fromId)) {
      for (const edge of portal.assoc.list(typeId, fromId, target)) {
        const typeIds = [...edge.typeIds];
        portal.assoc.remove(typeId, fromId, target, edge.toId);
        // An association between the two merged records does not survive as a self-association.
        if (target === typeId && edge.toId === toId) continue;
        for (const t of typeIds) {
          // The survivor keeps its own primary company; the absorbed record's comes along unlabeled.
          if (portal.assoc.hasOtherPrimary(typeId, toId, target, edge.toId, t)) continue;
          for (const change of portal.assoc.add(typeId, toId, target, edge.toId, t)) this.emitAssociation(portal, change, ctx, now);
        }
      }
    }
  }

  /** With a search delay, search keeps answering from the pre-write view until the delay passes. */
  private hideFromSearch(portal: Portal, rec: CrmRecord, before: SearchView | null): void {
    if (portal.searchDelayMs <= 0) return;
    const now = this.clock.now();
    if (rec.searchableAt === undefined || rec.searchableAt <= now) rec.shadow = before;
    rec.searchableAt = now + portal.searchDelayMs;
  }

  /** One change per direction: HubSpot tells subscribers of either side (the webhook dispatcher may drop the inverse). */
  private emitAssociation(portal: Portal, c: EdgeChange, ctx: WriteContext, now: number): void {
    const t = portal.assoc.types.get(c.typeId);
    const sides = [
      { table: c.fromType, id: c.fromId, other: c.toId, type: t, inverse: false },
      { table: c.toType, id: c.toId, other: c.fromId, type: t && portal.assoc.types.get(t.inverseTypeId), inverse: true },
    ];
    for (const side of sides) {
      this.emit(portal, portal.tables.get(side.table)!, side.id, 'associationChange', ctx, now, {
        associationType: side.type ? side.type.name.toUpperCase() : String(c.typeId),
        fromObjectId: String(side.id),
        toObjectId: String(side.other),
        associationRemoved: c.removed,
        isPrimaryAssociation: side.type?.primary ?? false,
        ...(side.inverse ? { inverse: true } : {}),
      });
    }
  }

  private emit(portal: Portal, table: ObjectTable, id: number, change: CrmChange['change'], ctx: WriteContext, occurredAt: number, extra: Partial<CrmChange> = {}): void {
    if (this.listeners.size === 0) return;
    const event: CrmChange = {
      portalId: portal.settings.portalId,
      objectType: table.def.name,
      objectTypeId: table.def.objectTypeId,
      objectId: String(id),
      change,
      occurredAt,
      changeSource: ctx.source,
      ...(ctx.sourceId ? { sourceId: ctx.sourceId } : {}),
      ...extra,
    };
    for (const listener of this.listeners) listener(event);
  }
}

/** A property's value as HubSpot reports it: ids and timestamps are derived from the record. */
export function propertyValue(rec: { id: number; createdAt: number; updatedAt: number; props: Record<string, string> }, name: string): string | undefined {
  if (!DERIVED.has(name)) return rec.props[name];
  if (name === 'hs_object_id') return String(rec.id);
  if (name === 'createdate' || name === 'hs_createdate') return new Date(rec.createdAt).toISOString();
  return new Date(rec.updatedAt).toISOString();
}

/** Property history, newest first; a property never changed since creation has one implicit entry. */
export function propertyHistory(rec: CrmRecord, name: string): HistoryEntry[] {
  const h = rec.history?.get(name);
  if (h) return h;
  const value = propertyValue(rec, name);
  return value === undefined ? [] : [{ value, timestamp: DERIVED.has(name) && name.includes('modified') ? rec.updatedAt : rec.createdAt, sourceType: rec.createdSource }];
}

function recordHistory(rec: CrmRecord, name: string, entry: HistoryEntry): void {
  rec.history ??= new Map();
  let h = rec.history.get(name);
  if (!h) {
    h = propertyHistory(rec, name).slice();
    rec.history.set(name, h);
  }
  h.unshift(entry);
}

function snapshot(rec: CrmRecord): SearchView | null {
  if (rec.archived) return null;
  return { id: rec.id, createdAt: rec.createdAt, updatedAt: rec.updatedAt, props: { ...rec.props } };
}

/** Copies without empty values; building (not deleting) keeps V8's compact object layout at 1M records. */
function nonEmpty(props: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k in props) if (props[k] !== '') out[k] = props[k]!;
  return out;
}
