// Activities called directly (a mock activity context, no Temporal server) with what a worker
// gives them: a real PostgreSQL, the simulator over HTTP, and private-app connections stored as
// POST /connections stores them.
import { randomBytes, randomUUID } from 'node:crypto';
import type { HubSpotDeps } from '../../src/activities/hubspot-session.js';
import { createTokenCipher } from '../../src/crypto/token-cipher.js';
import { insertConnection, sealedTokens } from '../../src/db/connections.js';
import { createRateBudget } from '../../src/hubspot/rate-budget.js';
import { createLogger } from '../../src/logger.js';
import type { Portal } from '../../src/sandbox/store.js';
import { createSandbox, type Sandbox } from '../../src/sandbox/server.js';
import { connectionWorkflowId } from '../../src/workflows/definitions.js';
import { createTestDatabase, type TestDatabase } from './database.js';

export interface ActivityHarness {
  sandbox: Sandbox;
  db: TestDatabase;
  deps: HubSpotDeps;
  /** A new portal in the simulator with a private-app connection to it. */
  connect(portalId: number, objectTypes: string[]): Promise<{ portal: Portal; connectionId: string }>;
  close(): Promise<void>;
}

export async function startActivityHarness(): Promise<ActivityHarness> {
  const sandbox = createSandbox({ rateLimits: { enabled: false } });
  const server = await sandbox.listen(0);
  const db = await createTestDatabase();
  const deps: HubSpotDeps = {
    pool: db.pool,
    cipher: createTokenCipher([randomBytes(32).toString('base64')]),
    hubspot: { apiBaseUrl: server.url, clientId: undefined, clientSecret: undefined, tokenVersion: 'v3' },
    log: createLogger('silent'),
    budget: createRateBudget(db.pool),
  };
  return {
    sandbox,
    db,
    deps,
    async connect(portalId, objectTypes) {
      const portal = sandbox.store.createPortal({ portalId });
      const token = `pat-na1-activities-${portalId}`;
      sandbox.tokens.addStaticToken(token, portalId);
      const id = randomUUID();
      const connection = { id, portalId, authType: 'private_app' as const, workflowId: connectionWorkflowId(id), objectTypes, syncIntervalSeconds: 60 };
      await insertConnection(db.pool, connection, sealedTokens(deps.cipher.seal(token), null, null));
      return { portal, connectionId: id };
    },
    async close() {
      await db.drop();
      await server.close();
    },
  };
}
