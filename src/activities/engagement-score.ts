// Per-contact aggregates and lead scoring: pure functions, so the push activity can recompute the
// same absolute property values on every retry (promise 3) and tests can check them exactly.

export const ENGAGEMENT_TYPES = ['sent', 'opened', 'clicked', 'replied', 'bounced', 'unsubscribed'] as const;
export type EngagementType = (typeof ENGAGEMENT_TYPES)[number];

export interface EngagementEvent {
  id: string;
  type: EngagementType;
  /** Lower-cased at intake: HubSpot matches contacts by email case-insensitively. */
  email: string;
  /** ISO 8601. */
  occurredAt: string;
  campaignId: string;
  campaignName: string;
  subject: string;
  url?: string | undefined;
}

/** Score delta per event type; an unsubscribe is not a delta (it zeroes and flags the contact). */
export type ScoringRules = Record<Exclude<EngagementType, 'unsubscribed'>, number>;

export const DEFAULT_SCORING_RULES: ScoringRules = { sent: 0, opened: 2, clicked: 5, replied: 10, bounced: -5 };
export const DEFAULT_SCORE_THRESHOLD = 75;

export interface ContactAggregate {
  email: string;
  /** Plain sum of deltas: commutative, so the order pages arrive in cannot change it. */
  rawScore: number;
  totalOpens: number;
  totalClicks: number;
  lastOpenedAt: string | null;
  lastClickedAt: string | null;
  lastCampaign: string | null;
  lastEventAt: string | null;
  unsubscribed: boolean;
}

export function emptyAggregate(email: string): ContactAggregate {
  return { email, rawScore: 0, totalOpens: 0, totalClicks: 0, lastOpenedAt: null, lastClickedAt: null, lastCampaign: null, lastEventAt: null, unsubscribed: false };
}

/** The score HubSpot sees: 0 for good once unsubscribed, never negative. */
export function leadScore(a: ContactAggregate): number {
  return a.unsubscribed ? 0 : Math.max(0, a.rawScore);
}

const later = (a: string | null, b: string): string => (a !== null && Date.parse(a) >= Date.parse(b) ? a : b);

export function applyEvent(a: ContactAggregate, e: EngagementEvent, rules: ScoringRules): ContactAggregate {
  const next = { ...a };
  if (e.type === 'unsubscribed') next.unsubscribed = true;
  else next.rawScore += rules[e.type];
  if (e.type === 'opened') {
    next.totalOpens += 1;
    next.lastOpenedAt = later(a.lastOpenedAt, e.occurredAt);
  }
  if (e.type === 'clicked') {
    next.totalClicks += 1;
    next.lastClickedAt = later(a.lastClickedAt, e.occurredAt);
  }
  // The newest event names the last campaign, whatever order events arrive in.
  if (a.lastEventAt === null || Date.parse(e.occurredAt) >= Date.parse(a.lastEventAt)) {
    next.lastEventAt = e.occurredAt;
    next.lastCampaign = e.campaignName;
  }
  return next;
}

export interface Aggregation {
  contacts: Map<string, ContactAggregate>;
  /** Contacts whose score reached the threshold from below while these events applied, in order. */
  crossed: Set<string>;
}

/** Applies events in arrival order on top of the stored aggregates. */
export function aggregate(stored: Map<string, ContactAggregate>, events: EngagementEvent[], rules: ScoringRules, threshold: number): Aggregation {
  const contacts = new Map(stored);
  const crossed = new Set<string>();
  for (const e of events) {
    const before = contacts.get(e.email) ?? emptyAggregate(e.email);
    const after = applyEvent(before, e, rules);
    if (leadScore(before) < threshold && leadScore(after) >= threshold) crossed.add(e.email);
    contacts.set(e.email, after);
  }
  return { contacts, crossed };
}

/** The custom contact properties hubsync maintains (created by the set-up), by their unprefixed names. */
export const PUSHED_PROPERTIES = ['lead_score', 'total_opens', 'total_clicks', 'last_email_opened', 'last_email_clicked', 'unsubscribed', 'last_campaign'] as const;

/** Absolute values, never increments: sending them twice leaves HubSpot the same. */
export function contactProperties(prefix: string, a: ContactAggregate): Record<string, string> {
  const values: Record<(typeof PUSHED_PROPERTIES)[number], string> = {
    lead_score: String(leadScore(a)),
    total_opens: String(a.totalOpens),
    total_clicks: String(a.totalClicks),
    last_email_opened: a.lastOpenedAt ?? '',
    last_email_clicked: a.lastClickedAt ?? '',
    unsubscribed: String(a.unsubscribed),
    last_campaign: a.lastCampaign ?? '',
  };
  return Object.fromEntries(Object.entries(values).map(([name, value]) => [`${prefix}${name}`, value]));
}
