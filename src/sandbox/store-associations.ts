// Association types and edges of one portal (HUBSPOT.md §4). Every edge is stored in both
// directions, each with its own type id (contact→company 1 is company→contact 2).

export type AssociationCategory = 'HUBSPOT_DEFINED' | 'USER_DEFINED' | 'INTEGRATOR_DEFINED' | 'WORK';

export interface AssociationType {
  typeId: number;
  category: AssociationCategory;
  fromTypeId: string;
  toTypeId: string;
  /** `Primary` for primary types, the user's label for labelled ones, null when unlabeled. */
  label: string | null;
  /** v3 name, e.g. `contact_to_company` / `contact_to_company_unlabeled`. */
  name: string;
  inverseTypeId: number;
  primary: boolean;
  /** The type a default (unlabeled) association uses between this pair. */
  isDefault: boolean;
}

const SINGULAR: Record<string, string> = { '0-1': 'contact', '0-2': 'company', '0-3': 'deal', '0-5': 'ticket' };

// [from, to, typeId, inverseTypeId, primary]
const HUBSPOT_DEFINED: [string, string, number, number, boolean][] = [
  ['0-1', '0-2', 1, 2, true],
  ['0-1', '0-2', 279, 280, false],
  ['0-3', '0-2', 5, 6, true],
  ['0-3', '0-2', 341, 342, false],
  ['0-5', '0-2', 26, 25, true],
  ['0-5', '0-2', 339, 340, false],
  ['0-3', '0-1', 3, 4, false],
  ['0-1', '0-5', 15, 16, false],
  ['0-3', '0-5', 27, 28, false],
];

export interface Edge {
  toId: number;
  typeIds: Set<number>;
}

/** One type id added to or removed from a directed edge; its inverse changed with it. */
export interface EdgeChange {
  fromType: string;
  fromId: number;
  toType: string;
  toId: number;
  typeId: number;
  removed: boolean;
}

const key = (typeId: string, id: number) => `${typeId}:${id}`;

export class AssociationStore {
  readonly types = new Map<number, AssociationType>();
  /** `${fromTypeId}:${fromId}` → toTypeId → toId → type ids. */
  private readonly edges = new Map<string, Map<string, Map<number, Set<number>>>>();
  private nextTypeId = 1000;

  constructor() {
    for (const [from, to, id, inv, primary] of HUBSPOT_DEFINED) {
      this.defineType(from, to, 'HUBSPOT_DEFINED', id, inv, primary ? 'Primary' : null, primary);
    }
  }

  /** Registers a type and its inverse; unlabeled non-primary types become the pair's default. */
  defineType(from: string, to: string, category: AssociationCategory, typeId: number, inverseTypeId: number, label: string | null, primary = false): void {
    const name = (a: string, b: string) => `${SINGULAR[a] ?? a}_to_${SINGULAR[b] ?? b}${label === null && !primary && this.hasPrimary(a, b) ? '_unlabeled' : ''}`;
    const isDefault = label === null && !primary;
    this.types.set(typeId, { typeId, category, fromTypeId: from, toTypeId: to, label, name: name(from, to), inverseTypeId, primary, isDefault });
    this.types.set(inverseTypeId, { typeId: inverseTypeId, category, fromTypeId: to, toTypeId: from, label, name: name(to, from), inverseTypeId: typeId, primary, isDefault });
  }

  /** A user-defined label between two types; the other direction has `inverseLabel` when given, else the same label. */
  defineLabel(from: string, to: string, label: string, inverseLabel?: string): AssociationType {
    const id = this.nextTypeId++;
    const inv = from === to && inverseLabel === undefined ? id : this.nextTypeId++;
    this.defineType(from, to, 'USER_DEFINED', id, inv, label);
    if (inverseLabel !== undefined) this.types.set(inv, { ...this.types.get(inv)!, label: inverseLabel });
    return this.types.get(id)!;
  }

  /** The unlabeled type between two object types, created on first use for custom objects. */
  defaultType(from: string, to: string): AssociationType {
    for (const t of this.types.values()) if (t.fromTypeId === from && t.toTypeId === to && t.isDefault) return t;
    const id = this.nextTypeId++;
    this.defineType(from, to, 'HUBSPOT_DEFINED', id, from === to ? id : this.nextTypeId++, null);
    return this.types.get(id)!;
  }

  typesBetween(from: string, to: string): AssociationType[] {
    return [...this.types.values()].filter((t) => t.fromTypeId === from && t.toTypeId === to);
  }

  /**
   * Adds an edge (and its inverse). A primary also adds the unlabeled type, and demotes the
   * record's previous primary company. Returns what changed: demotions, then the new type ids.
   */
  add(fromType: string, fromId: number, toType: string, toId: number, typeId: number): EdgeChange[] {
    const t = this.types.get(typeId);
    if (!t) return [];
    const changes: EdgeChange[] = [];
    const ids = t.primary ? [typeId, this.defaultType(fromType, toType).typeId] : [typeId];
    for (const id of ids) {
      if (this.types.get(id)!.primary) {
        // A record has one primary company; the company side may be primary for many records.
        if (toType === '0-2') changes.push(...this.demoteOtherPrimaries(fromType, fromId, toType, toId, id));
        else changes.push(...this.demoteOtherPrimaries(toType, toId, fromType, fromId, this.types.get(id)!.inverseTypeId));
      }
      if (this.put(fromType, fromId, toType, toId, id)) changes.push({ fromType, fromId, toType, toId, typeId: id, removed: false });
      this.put(toType, toId, fromType, fromId, this.types.get(id)!.inverseTypeId);
    }
    return changes;
  }

  /** Whether the record already has this primary type to another company (a record has one primary company). */
  hasOtherPrimary(fromType: string, fromId: number, toType: string, toId: number, typeId: number): boolean {
    if (!this.types.get(typeId)?.primary || toType !== '0-2') return false;
    return this.list(fromType, fromId, toType).some((e) => e.toId !== toId && e.typeIds.has(typeId));
  }

  /** Removes the given type ids (all when omitted) in both directions; returns the removed ids. */
  remove(fromType: string, fromId: number, toType: string, toId: number, typeIds?: number[]): number[] {
    const set = this.edges.get(key(fromType, fromId))?.get(toType)?.get(toId);
    if (!set) return [];
    const removed = typeIds ? typeIds.filter((id) => set.has(id)) : [...set];
    for (const id of removed) {
      this.drop(fromType, fromId, toType, toId, id);
      this.drop(toType, toId, fromType, fromId, this.types.get(id)!.inverseTypeId);
    }
    return removed;
  }

  /** Edges from one record to one target type, sorted by target id. */
  list(fromType: string, fromId: number, toType: string): Edge[] {
    const byId = this.edges.get(key(fromType, fromId))?.get(toType);
    if (!byId) return [];
    return [...byId.entries()].map(([toId, typeIds]) => ({ toId, typeIds })).sort((a, b) => a.toId - b.toId);
  }

  /** Every target type that one record has edges to. */
  targets(fromType: string, fromId: number): string[] {
    return [...(this.edges.get(key(fromType, fromId))?.keys() ?? [])];
  }

  /** Removes every edge of a record (permanent deletion). */
  removeAll(typeId: string, id: number): void {
    for (const toType of this.targets(typeId, id)) {
      for (const e of this.list(typeId, id, toType)) this.remove(typeId, id, toType, e.toId);
    }
  }

  private hasPrimary(a: string, b: string): boolean {
    return HUBSPOT_DEFINED.some(([f, t, , , p]) => p && ((f === a && t === b) || (f === b && t === a)));
  }

  private demoteOtherPrimaries(fromType: string, fromId: number, toType: string, keepToId: number, typeId: number): EdgeChange[] {
    const demoted: EdgeChange[] = [];
    for (const e of this.list(fromType, fromId, toType)) {
      if (e.toId === keepToId || !e.typeIds.has(typeId)) continue;
      this.remove(fromType, fromId, toType, e.toId, [typeId]);
      demoted.push({ fromType, fromId, toType, toId: e.toId, typeId, removed: true });
    }
    return demoted;
  }

  private put(fromType: string, fromId: number, toType: string, toId: number, typeId: number): boolean {
    let byType = this.edges.get(key(fromType, fromId));
    if (!byType) this.edges.set(key(fromType, fromId), (byType = new Map()));
    let byId = byType.get(toType);
    if (!byId) byType.set(toType, (byId = new Map()));
    let set = byId.get(toId);
    if (!set) byId.set(toId, (set = new Set()));
    if (set.has(typeId)) return false;
    set.add(typeId);
    return true;
  }

  private drop(fromType: string, fromId: number, toType: string, toId: number, typeId: number): void {
    const byType = this.edges.get(key(fromType, fromId));
    const byId = byType?.get(toType);
    const set = byId?.get(toId);
    if (!set) return;
    set.delete(typeId);
    if (set.size === 0) byId!.delete(toId);
    if (byId!.size === 0) byType!.delete(toType);
    if (byType!.size === 0) this.edges.delete(key(fromType, fromId));
  }
}
