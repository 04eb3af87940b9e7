// CRM search (HUBSPOT.md §2): validation and limits, filter semantics, and a planner that
// answers range queries on modified/created time or id from the sorted indexes in O(page).
import { validation } from './crm-errors.js';
import { propertyValue, type CrmRecord, type ObjectTable, type Portal, type SearchView } from './store.js';
import type { SortedList } from './store-sorted.js';

export const SEARCH_LIMITS = { groups: 5, filtersPerGroup: 6, filtersTotal: 18, maxLimit: 200, maxResults: 10_000 } as const;

const OPERATORS = ['EQ', 'NEQ', 'LT', 'LTE', 'GT', 'GTE', 'BETWEEN', 'IN', 'NOT_IN', 'HAS_PROPERTY', 'NOT_HAS_PROPERTY', 'CONTAINS_TOKEN', 'NOT_CONTAINS_TOKEN'] as const;
type Operator = (typeof OPERATORS)[number];

interface Filter {
  propertyName: string;
  operator: Operator;
  value?: string;
  highValue?: string;
  values?: string[];
}

interface Sort {
  propertyName: string;
  descending: boolean;
}

export interface SearchResult {
  total: number;
  results: SearchView[];
  /** Offset of the next page, when there is one. */
  next?: number;
  properties?: string[];
}

/** Runs a search request body against one type; throws HubSpot's 400s for invalid requests. */
export function search(portal: Portal, table: ObjectTable, body: unknown, now: number): SearchResult {
  const req = parseRequest(table, body);
  const plan = portal.searchDelayMs > 0 || req.query ? undefined : planIndex(table, req.groups, req.sort);
  const page = plan ? runIndexed(plan, req.after, req.limit) : runScan(portal, table, req, now);
  return { ...page, ...(req.properties ? { properties: req.properties } : {}) };
}

interface Request {
  groups: Filter[][];
  sort?: Sort;
  query?: string;
  limit: number;
  after: number;
  properties?: string[];
}

function parseRequest(table: ObjectTable, body: unknown): Request {
  const b = (body ?? {}) as Record<string, unknown>;
  const rawGroups = b.filterGroups ?? [];
  if (!Array.isArray(rawGroups)) throw validation('filterGroups must be an array');
  if (rawGroups.length > SEARCH_LIMITS.groups) throw validation(`Too many filter groups: at most ${SEARCH_LIMITS.groups} are allowed, got ${rawGroups.length}`);
  let total = 0;
  const groups = rawGroups.map((g: unknown) => {
    const filters = (g as { filters?: unknown })?.filters ?? [];
    if (!Array.isArray(filters)) throw validation('filters must be an array');
    if (filters.length > SEARCH_LIMITS.filtersPerGroup) throw validation(`Too many filters in a group: at most ${SEARCH_LIMITS.filtersPerGroup} are allowed, got ${filters.length}`);
    total += filters.length;
    return filters.map((f: unknown) => parseFilter(table, f));
  });
  if (total > SEARCH_LIMITS.filtersTotal) throw validation(`Too many filters: at most ${SEARCH_LIMITS.filtersTotal} are allowed in total, got ${total}`);

  const rawSorts = b.sorts ?? [];
  if (!Array.isArray(rawSorts)) throw validation('sorts must be an array');
  if (rawSorts.length > 1) throw validation('Only one sort is allowed per search request');
  const sort = rawSorts[0] === undefined ? undefined : parseSort(table, rawSorts[0]);

  const limit = b.limit === undefined ? 10 : Number(b.limit);
  if (!Number.isInteger(limit) || limit < 0 || limit > SEARCH_LIMITS.maxLimit) throw validation(`limit must be between 0 and ${SEARCH_LIMITS.maxLimit}`);
  const after = b.after === undefined || b.after === null || b.after === '' ? 0 : Number(b.after);
  if (!Number.isInteger(after) || after < 0) throw validation(`Invalid after: ${String(b.after)}`);
  if (after >= SEARCH_LIMITS.maxResults) throw validation(`Cannot page beyond ${SEARCH_LIMITS.maxResults} results: the search API returns at most ${SEARCH_LIMITS.maxResults} results per query`);
  const properties = Array.isArray(b.properties) && b.properties.length > 0 ? b.properties.map(String) : undefined;
  const query = typeof b.query === 'string' && b.query.trim() !== '' ? b.query.trim().toLowerCase() : undefined;
  return { groups, limit, after, ...(sort ? { sort } : {}), ...(query ? { query } : {}), ...(properties ? { properties } : {}) };
}

function parseFilter(table: ObjectTable, raw: unknown): Filter {
  const f = (raw ?? {}) as Record<string, unknown>;
  const propertyName = String(f.propertyName ?? '');
  if (!table.def.properties.has(propertyName)) throw validation(`Unknown property in filter: ${propertyName}`);
  const operator = String(f.operator ?? 'EQ') as Operator;
  if (!OPERATORS.includes(operator)) throw validation(`Unknown filter operator: ${operator}`);
  const filter: Filter = { propertyName, operator };
  if (f.value !== undefined && f.value !== null) filter.value = String(f.value);
  if (f.highValue !== undefined && f.highValue !== null) filter.highValue = String(f.highValue);
  if (Array.isArray(f.values)) filter.values = f.values.map(String);
  const needsValue = !['HAS_PROPERTY', 'NOT_HAS_PROPERTY', 'IN', 'NOT_IN'].includes(operator);
  if (needsValue && filter.value === undefined) throw validation(`Filter on ${propertyName} with operator ${operator} needs a value`);
  if ((operator === 'IN' || operator === 'NOT_IN') && !filter.values) throw validation(`Filter on ${propertyName} with operator ${operator} needs values`);
  if (operator === 'BETWEEN' && filter.highValue === undefined) throw validation(`BETWEEN on ${propertyName} needs a highValue`);
  return filter;
}

function parseSort(table: ObjectTable, raw: unknown): Sort {
  // HubSpot accepts `{propertyName, direction}` and the shorthand "name" / "-name".
  const [name, descending] =
    typeof raw === 'string'
      ? [raw.replace(/^-/, ''), raw.startsWith('-')]
      : [String((raw as { propertyName?: unknown }).propertyName ?? ''), (raw as { direction?: unknown }).direction === 'DESCENDING'];
  if (!table.def.properties.has(name)) throw validation(`Unknown sort property: ${name}`);
  return { propertyName: name, descending };
}

// ---- values and filter semantics

type Value = number | string;

function kind(table: ObjectTable, name: string): 'time' | 'number' | 'string' {
  const type = table.def.properties.get(name)?.type;
  if (type === 'datetime' || type === 'date') return 'time';
  if (type === 'number') return 'number';
  return 'string';
}

/** Filter values for time properties may be epoch milliseconds or ISO strings. */
function parseValue(k: 'time' | 'number' | 'string', raw: string, strict: boolean): Value | undefined {
  if (k === 'string') return raw.toLowerCase();
  const n = k === 'time' && !/^-?\d+(\.\d+)?$/.test(raw) ? Date.parse(raw) : Number(raw);
  if (Number.isNaN(n)) {
    if (strict) throw validation(`${raw} is not a valid ${k === 'time' ? 'date' : 'number'}`);
    return undefined;
  }
  return n;
}

function tokens(s: string): string[] {
  return s.toLowerCase().split(/[^\p{L}\p{N}@._+-]+/u).filter(Boolean);
}

function matchToken(value: string, needle: string): boolean {
  const n = needle.toLowerCase();
  const candidates = [value.toLowerCase(), ...tokens(value), ...value.toLowerCase().split(/[@.]/)];
  if (!n.includes('*')) return candidates.includes(n);
  const re = new RegExp(`^${n.split('*').map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);
  return candidates.some((c) => re.test(c));
}

type Compiled = (view: SearchView) => boolean;

function compile(table: ObjectTable, f: Filter): Compiled {
  const k = kind(table, f.propertyName);
  const get = (v: SearchView) => {
    const raw = propertyValue(v, f.propertyName);
    return raw === undefined || raw === '' ? undefined : raw;
  };
  const typed = (v: SearchView) => {
    const raw = get(v);
    return raw === undefined ? undefined : parseValue(k, raw, false);
  };
  const value = f.value === undefined ? undefined : parseValue(k, f.value, !['CONTAINS_TOKEN', 'NOT_CONTAINS_TOKEN'].includes(f.operator));
  const high = f.highValue === undefined ? undefined : parseValue(k, f.highValue, true);
  const set = new Set((f.values ?? []).map((x) => parseValue(k, x, false)));
  const cmp = (v: SearchView, test: (x: Value) => boolean) => {
    const x = typed(v);
    return x !== undefined && test(x);
  };
  switch (f.operator) {
    case 'EQ':
      return (v) => cmp(v, (x) => x === value);
    case 'NEQ':
      return (v) => typed(v) !== value;
    case 'LT':
      return (v) => cmp(v, (x) => x < value!);
    case 'LTE':
      return (v) => cmp(v, (x) => x <= value!);
    case 'GT':
      return (v) => cmp(v, (x) => x > value!);
    case 'GTE':
      return (v) => cmp(v, (x) => x >= value!);
    case 'BETWEEN':
      return (v) => cmp(v, (x) => x >= value! && x <= high!);
    case 'IN':
      return (v) => cmp(v, (x) => set.has(x));
    case 'NOT_IN':
      return (v) => !cmp(v, (x) => set.has(x));
    case 'HAS_PROPERTY':
      return (v) => get(v) !== undefined;
    case 'NOT_HAS_PROPERTY':
      return (v) => get(v) === undefined;
    case 'CONTAINS_TOKEN':
      return (v) => matchToken(get(v) ?? '', f.value!);
    case 'NOT_CONTAINS_TOKEN':
      return (v) => !matchToken(get(v) ?? '', f.value!);
  }
}

/** Filters within a group are ANDed, groups are ORed; no groups match everything. */
function compileGroups(table: ObjectTable, groups: Filter[][]): Compiled {
  const compiled = groups.filter((g) => g.length > 0).map((g) => g.map((f) => compile(table, f)));
  if (compiled.length === 0) return () => true;
  return (v) => compiled.some((g) => g.every((m) => m(v)));
}

// ---- indexed plan: a contiguous range of (time, id) or (id) keys, plus residual filters

interface Plan {
  list: SortedList<CrmRecord>;
  /** Disjoint [start, end) position ranges in ascending order; one range when there is a residual. */
  ranges: [number, number][];
  descending: boolean;
  residual?: Compiled;
}

const TIME_INDEX: Record<string, 'modified' | 'created'> = {
  lastmodifieddate: 'modified',
  hs_lastmodifieddate: 'modified',
  createdate: 'created',
  hs_createdate: 'created',
};

/**
 * Several groups are served when each is a pure range of the same index: the OR of ranges is
 * their union, e.g. `(t > T) OR (t = T AND id > I)`, an incremental sync's (time, id) cursor.
 */
function planIndex(table: ObjectTable, groups: Filter[][], sort: Sort | undefined): Plan | undefined {
  const nonEmpty = groups.filter((g) => g.length > 0);
  if (nonEmpty.length <= 1) return planGroup(table, nonEmpty[0] ?? [], sort);
  const plans = nonEmpty.map((g) => planGroup(table, g, sort));
  const first = plans[0];
  if (!first || plans.some((p) => !p || p.residual || p.list !== first.list)) return undefined;
  const sorted = plans.flatMap((p) => p!.ranges).sort((a, b) => a[0] - b[0]);
  const ranges: [number, number][] = [];
  for (const [start, end] of sorted) {
    const last = ranges.at(-1);
    if (last && start <= last[1]) last[1] = Math.max(last[1], end);
    else ranges.push([start, end]);
  }
  return { list: first.list, ranges, descending: first.descending };
}

function planGroup(table: ObjectTable, filters: Filter[], sort: Sort | undefined): Plan | undefined {
  const sortProp = sort?.propertyName ?? 'createdate';
  const descending = sort?.descending ?? false;
  // With a time pinned by EQ, (time, id) order is id order: the time index serves an id sort too.
  const pinned = filters.find((f) => f.operator === 'EQ' && TIME_INDEX[f.propertyName]);
  const byTime = TIME_INDEX[sortProp] ?? (sortProp === 'hs_object_id' && pinned ? TIME_INDEX[pinned.propertyName] : undefined);
  if (!byTime && sortProp !== 'hs_object_id') return undefined;

  // Bounds on the leading key (time or id) and, when time is pinned to one instant, on the id.
  let lo = -Infinity;
  let hi = Infinity;
  let idLo = -Infinity;
  let idHi = Infinity;
  const residual: Filter[] = [];
  const idFilters: Filter[] = [];
  const narrow = (f: Filter, setLo: (v: number) => void, setHi: (v: number) => void) => {
    const v = parseValue('time', f.value ?? '', true) as number;
    switch (f.operator) {
      case 'EQ': setLo(v); setHi(v); return true;
      case 'GTE': setLo(v); return true;
      case 'GT': setLo(Math.floor(v) + 1); return true;
      case 'LTE': setHi(v); return true;
      case 'LT': setHi(Math.ceil(v) - 1); return true;
      case 'BETWEEN': setLo(v); setHi(parseValue('time', f.highValue!, true) as number); return true;
      default: return false;
    }
  };
  for (const f of filters) {
    const leading = byTime ? TIME_INDEX[f.propertyName] === byTime : f.propertyName === 'hs_object_id';
    if (leading && narrow(f, (v) => (lo = Math.max(lo, v)), (v) => (hi = Math.min(hi, v)))) continue;
    if (byTime && f.propertyName === 'hs_object_id') idFilters.push(f);
    else residual.push(f);
  }
  for (const f of idFilters) {
    if (lo === hi && narrow(f, (v) => (idLo = Math.max(idLo, v)), (v) => (idHi = Math.min(idHi, v)))) continue;
    residual.push(f);
  }

  const list = byTime === 'modified' ? table.byModified : byTime === 'created' ? table.byCreated : table.active;
  const key = byTime === 'modified' ? (r: CrmRecord) => r.updatedAt : byTime === 'created' ? (r: CrmRecord) => r.createdAt : (r: CrmRecord) => r.id;
  const idKey = byTime ? (r: CrmRecord) => r.id : () => 0;
  const start = list.rank((r) => key(r) - lo || idKey(r) - (byTime ? idLo : 0) || 0);
  // Position just after the upper bound: entries equal to it sort "before" the probe.
  const end = list.rank((r) => (key(r) < hi || (key(r) === hi && idKey(r) <= (byTime ? idHi : 0)) ? -1 : 1));
  const ranges: [number, number][] = end > start ? [[start, end]] : [];
  return { list, ranges, descending, ...(residual.length > 0 ? { residual: compileGroups(table, [residual]) } : {}) };
}

function runIndexed(plan: Plan, after: number, limit: number): Omit<SearchResult, 'properties'> {
  const cap = SEARCH_LIMITS.maxResults;
  const ranges = plan.descending ? [...plan.ranges].reverse() : plan.ranges;
  const walk = function* (skip: number): Generator<CrmRecord> {
    for (const [start, end] of ranges) {
      const size = end - start;
      if (skip >= size) {
        skip -= size;
        continue;
      }
      let left = size - skip;
      for (const rec of plan.list.from(plan.descending ? end - 1 - skip : start + skip, plan.descending)) {
        if (left-- === 0) break;
        yield rec;
      }
      skip = 0;
    }
  };
  const results: SearchView[] = [];
  if (!plan.residual) {
    const total = plan.ranges.reduce((n, [start, end]) => n + end - start, 0);
    const n = Math.max(0, Math.min(limit, total - after, cap - after));
    for (const rec of walk(after)) {
      if (results.length === n) break;
      results.push(rec);
    }
    return page(total, results, after);
  }
  let total = 0;
  for (const rec of walk(0)) {
    if (!plan.residual(rec)) continue;
    if (total >= after && results.length < limit && total < cap) results.push(rec);
    total++;
  }
  return page(total, results, after);
}

function page(total: number, results: SearchView[], after: number): Omit<SearchResult, 'properties'> {
  const next = after + results.length;
  return { total, results, ...(results.length > 0 && next < total ? { next } : {}) };
}

// ---- scan plan: anything else, and every search while a search delay is configured

function runScan(portal: Portal, table: ObjectTable, req: Request, now: number): Omit<SearchResult, 'properties'> {
  const match = compileGroups(table, req.groups);
  const q = req.query;
  const matchQuery = (v: SearchView) =>
    !q || table.def.queryProperties.some((p) => (v.props[p] ?? '').toLowerCase().split(/\s+/).some((t) => t.startsWith(q)) || (v.props[p] ?? '').toLowerCase().startsWith(q));
  const views: SearchView[] = [];
  const source = portal.searchDelayMs > 0 ? table.records.values() : table.active;
  for (const rec of source) {
    const v = searchable(rec, now);
    if (v && match(v) && matchQuery(v)) views.push(v);
  }
  const sortProp = req.sort?.propertyName ?? 'createdate';
  const k = kind(table, sortProp);
  const dir = req.sort?.descending ? -1 : 1;
  const val = (v: SearchView) => {
    const raw = propertyValue(v, sortProp);
    return raw === undefined || raw === '' ? undefined : parseValue(k, raw, false);
  };
  views.sort((a, b) => {
    const x = val(a);
    const y = val(b);
    if (x === undefined || y === undefined) return x === y ? a.id - b.id : x === undefined ? 1 : -1;
    return (x < y ? -dir : x > y ? dir : 0) || a.id - b.id;
  });
  const end = Math.min(req.after + req.limit, SEARCH_LIMITS.maxResults);
  return page(views.length, views.slice(req.after, end), req.after);
}

/** The version of a record search can see now: the pre-write shadow while a delay is pending. */
function searchable(rec: CrmRecord, now: number): SearchView | undefined {
  if (rec.searchableAt !== undefined && rec.searchableAt > now) return rec.shadow ?? undefined;
  return rec.archived ? undefined : rec;
}
