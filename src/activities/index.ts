import type { Pool } from 'pg';
import type { Logger } from 'pino';
import type { TokenCipher } from '../crypto/token-cipher.js';
import { setConnectionStatus } from '../db/connections.js';
import type { Config } from '../config.js';
import type { OAuthSettings } from '../hubspot/oauth.js';
import type { RateBudget } from '../hubspot/rate-budget.js';
import type { ConnectionStatus } from '../workflows/definitions.js';
import { createEngagementActivities } from './engagement-push.js';
import { createMetadataActivities } from './metadata.js';
import { createSyncActivities } from './sync.js';
import { createTokenActivities } from './tokens.js';

export interface ActivityDeps {
  pool: Pool;
  log: Logger;
  /** Opens and seals the tokens stored in PostgreSQL. */
  cipher: TokenCipher;
  /** HubSpot's base URL and the OAuth app's credentials, for token refresh and revocation. */
  hubspot: OAuthSettings & Partial<Pick<Config['hubspot'], 'appId'>>;
  /** The app's developer API key (timeline event templates belong to the app). */
  developerApiKey?: string | undefined;
  /** Every portal's HubSpot request budget, shared by all workers through PostgreSQL. */
  budget: RateBudget;
}

/**
 * Every side effect the workflows need, built from their dependencies so tests can hand in their
 * own. The workflows proxy `ReturnType<typeof createActivities>`.
 */
export function createActivities(deps: ActivityDeps) {
  const { pool } = deps;
  return {
    ...createTokenActivities(deps),
    ...createSyncActivities(deps),
    ...createMetadataActivities(deps),
    ...createEngagementActivities(deps),
    /** Idempotent: writing the same status twice leaves the same row. */
    async recordConnectionStatus(connectionId: string, status: ConnectionStatus): Promise<void> {
      await setConnectionStatus(pool, connectionId, status);
    },
  };
}
