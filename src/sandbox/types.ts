// Contracts shared by the simulator's parts (store, auth, rate limits, webhooks, faults).

/** The simulator's notion of "now". Tests move it forward to expire tokens or reset daily limits. */
export interface SandboxClock {
  now(): number;
}

/** A controllable clock: real time shifted by an offset and optionally sped up. */
export class AdjustableClock implements SandboxClock {
  private offsetMs = 0;
  private scale = 1;
  private anchorReal = Date.now();
  private anchorVirtual = Date.now();

  now(): number {
    return Math.floor(this.anchorVirtual + (Date.now() - this.anchorReal) * this.scale) + this.offsetMs;
  }

  advance(ms: number): void {
    this.offsetMs += ms;
  }

  /** 1 = real time, 60 = a minute of simulated time per real second. */
  get timeScale(): number {
    return this.scale;
  }

  setScale(scale: number): void {
    this.anchorVirtual = this.now() - this.offsetMs;
    this.anchorReal = Date.now();
    this.scale = scale;
  }
}

/** What changed in a portal's CRM, emitted by the store; the webhook dispatcher turns it into HubSpot events. */
export interface CrmChange {
  portalId: number;
  /** HubSpot's plural name (`contacts`) or a custom object's fully qualified name. */
  objectType: string;
  /** `0-1` contacts, `0-2` companies, `0-3` deals, `0-5` tickets, `2-NNN` custom. */
  objectTypeId: string;
  objectId: string;
  change:
    | 'creation'
    | 'deletion'
    | 'propertyChange'
    | 'merge'
    | 'restore'
    | 'associationChange'
    | 'privacyDeletion';
  occurredAt: number;
  /** `CRM_UI` for control-API edits (a user), `API` / `INTEGRATION` for calls through the public API. */
  changeSource: string;
  /** For API writes: the app id (`appId` of the token) or `userId:N` for UI edits. */
  sourceId?: string;
  propertyName?: string;
  propertyValue?: string;
  primaryObjectId?: string;
  mergedObjectIds?: string[];
  newObjectId?: string;
  numberOfPropertiesMoved?: number;
  associationType?: string;
  fromObjectId?: string;
  toObjectId?: string;
  associationRemoved?: boolean;
  isPrimaryAssociation?: boolean;
  /** The same association change seen from the other record (`to` side of the call). */
  inverse?: boolean;
}
