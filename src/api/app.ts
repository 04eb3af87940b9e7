import express from 'express';
import type { Client } from '@temporalio/client';
import type { Pool } from 'pg';
import type { Logger } from 'pino';
import type { Config, WebhookConfig } from '../config.js';
import type { TokenCipher } from '../crypto/token-cipher.js';
import type { RateBudget } from '../hubspot/rate-budget.js';
import { requireOperator } from './auth.js';
import { errorHandler, unknownRoute } from './errors.js';
import { codecRoutes } from './routes/codec.js';
import { connectionTestRoutes } from './routes/connection-test.js';
import { connectionRoutes } from './routes/connections.js';
import { engagementRoutes } from './routes/engagements.js';
import { fieldMappingRoutes } from './routes/field-mapping.js';
import { healthRoutes } from './routes/health.js';
import { metricsRoutes } from './routes/metrics.js';
import { oauthRoutes } from './routes/oauth.js';
import { openApiRoutes } from './routes/openapi.js';
import { pushSettingsRoutes } from './routes/push-settings.js';
import { webhookSubscriptionRoutes } from './routes/webhook-subscriptions.js';
import { webhookRoutes } from './routes/webhooks.js';

export interface ApiDeps {
  pool: Pool;
  temporal: Client;
  taskQueue: string;
  cipher: TokenCipher;
  /** HubSpot's API base URL and the OAuth app's settings. */
  hubspot: Config['hubspot'];
  /** The workers' shared HubSpot budget, read for status. */
  budget: RateBudget;
  /** The public URL HubSpot calls, accepted signature versions, the developer API key. */
  webhooks: WebhookConfig;
  apiToken: string | undefined;
  /** The Temporal Web UI's origin, allowed by CORS to call /codec/*. */
  temporalUiOrigin: string;
  sandbox: boolean;
  /** A new connection starts its engagement push, which sets up the portal at once (ENGAGEMENT_SETUP_ON_CONNECT). */
  engagementSetupOnConnect?: boolean;
  log: Logger;
}

/** The HTTP API, built from its dependencies so tests can run it against real or stubbed parts. */
export function createApp(deps: ApiDeps): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.use(healthRoutes(deps), metricsRoutes(deps), openApiRoutes());
  // The Web UI's preflight carries no token: the codec routes apply CORS, then operator auth, themselves.
  app.use(codecRoutes(deps));
  // The OAuth install authenticates the browser by its state and cookie, not the operator token.
  app.use(oauthRoutes(deps));
  // HubSpot's webhooks authenticate by signature over the raw body: before the JSON parser and operator auth.
  app.use(webhookRoutes(deps));
  app.use(express.json({ limit: '1mb' }));
  app.use(requireOperator(deps.apiToken, deps.sandbox), connectionRoutes(deps), connectionTestRoutes(deps), engagementRoutes(deps), pushSettingsRoutes(deps), fieldMappingRoutes(deps), webhookSubscriptionRoutes(deps));
  app.use(unknownRoute);
  app.use(errorHandler(deps.log));
  return app;
}
