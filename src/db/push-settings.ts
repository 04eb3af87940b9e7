import type { Pool, PoolClient } from 'pg';
import { DEFAULT_SCORE_THRESHOLD, DEFAULT_SCORING_RULES, type ScoringRules } from '../activities/engagement-score.js';

type Db = Pool | PoolClient;

/** A connection's engagement push settings (GET/PUT /connections/:id/engagements/settings). */
export interface PushSettings {
  /** Prefix of the custom contact properties the set-up creates and the push writes. */
  propertyPrefix: string;
  scoringRules: ScoringRules;
  scoreThreshold: number;
  /** Enrol hot leads in this legacy workflow; when null, set `triggerProperty` to `triggerValue`. */
  enrolWorkflowId: string | null;
  triggerProperty: string;
  triggerValue: string;
}

export interface PushSetup {
  /** The app's timeline event template once the set-up verified it; null: the set-up must run (again). */
  timelineTemplateId: string | null;
  setupAt: string | null;
}

/** What a connection without a row uses (the column defaults of connection_push_settings say the same). */
export const DEFAULT_PUSH_SETTINGS: PushSettings = {
  propertyPrefix: 'hubsync_',
  scoringRules: DEFAULT_SCORING_RULES,
  scoreThreshold: DEFAULT_SCORE_THRESHOLD,
  enrolWorkflowId: null,
  triggerProperty: 'lifecyclestage',
  triggerValue: 'salesqualifiedlead',
};

export async function readPushSettings(db: Db, connectionId: string): Promise<PushSettings & PushSetup> {
  const { rows } = await db.query(`select * from connection_push_settings where connection_id = $1`, [connectionId]);
  const r = rows[0];
  if (!r) return { ...DEFAULT_PUSH_SETTINGS, timelineTemplateId: null, setupAt: null };
  return {
    propertyPrefix: r.property_prefix,
    scoringRules: { ...DEFAULT_SCORING_RULES, ...(r.scoring_rules ?? {}) },
    scoreThreshold: r.score_threshold,
    enrolWorkflowId: r.enrol_workflow_id,
    triggerProperty: r.trigger_property,
    triggerValue: r.trigger_value,
    timelineTemplateId: r.timeline_template_id,
    setupAt: r.setup_at === null ? null : (r.setup_at as Date).toISOString(),
  };
}

/**
 * Replaces the operator's settings. A new property prefix names properties HubSpot does not have
 * yet, so it also forgets the verified set-up: the next push runs the set-up first.
 */
export async function writePushSettings(db: Db, connectionId: string, s: PushSettings): Promise<void> {
  await db.query(
    `insert into connection_push_settings (connection_id, property_prefix, scoring_rules, score_threshold, enrol_workflow_id, trigger_property, trigger_value)
     values ($1, $2, $3, $4, $5, $6, $7)
     on conflict (connection_id) do update set property_prefix = excluded.property_prefix, scoring_rules = excluded.scoring_rules,
       score_threshold = excluded.score_threshold, enrol_workflow_id = excluded.enrol_workflow_id,
       trigger_property = excluded.trigger_property, trigger_value = excluded.trigger_value, updated_at = now(),
       timeline_template_id = case when connection_push_settings.property_prefix = excluded.property_prefix
                                   then connection_push_settings.timeline_template_id end`,
    [connectionId, s.propertyPrefix, JSON.stringify(s.scoringRules), s.scoreThreshold, s.enrolWorkflowId, s.triggerProperty, s.triggerValue],
  );
}

/** The set-up is verified now, or (templateId null) must run again before the next push. */
export async function recordPushSetup(db: Db, connectionId: string, templateId: string | null): Promise<void> {
  await db.query(
    `insert into connection_push_settings (connection_id, timeline_template_id, setup_at) values ($1, $2, case when $2::text is null then null else now() end)
     on conflict (connection_id) do update set timeline_template_id = excluded.timeline_template_id, setup_at = excluded.setup_at`,
    [connectionId, templateId],
  );
}
