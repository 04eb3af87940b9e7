// The API of a stack rebuilt around other parts (a pool or a Temporal client that cannot answer),
// served on its own port: for what the stack's healthy dependencies cannot show.
import { createApp, type ApiDeps } from '../../src/api/app.js';
import { listen } from '../../src/api/server.js';
import { createTokenCipher } from '../../src/crypto/token-cipher.js';
import { createRateBudget } from '../../src/hubspot/rate-budget.js';
import { createLogger } from '../../src/logger.js';
import { OPERATOR_TOKEN, TEMPORAL_UI_ORIGIN, type Stack } from './stack.js';

export interface ServedApp {
  url: string;
  close(): Promise<void>;
}

export async function serveAppWith(stack: Stack, overrides: Partial<ApiDeps>): Promise<ServedApp> {
  const pool = overrides.pool ?? stack.db.pool;
  const app = createApp({
    pool,
    temporal: stack.temporal,
    taskQueue: stack.taskQueue,
    cipher: createTokenCipher([stack.cipherKey]),
    hubspot: stack.hubspot,
    webhooks: stack.webhooks,
    budget: createRateBudget(pool),
    apiToken: OPERATOR_TOKEN,
    temporalUiOrigin: TEMPORAL_UI_ORIGIN,
    sandbox: false,
    log: createLogger('silent'),
    ...overrides,
  });
  const http = await listen(app, 0, '127.0.0.1');
  const address = http.server.address();
  if (!address || typeof address !== 'object') throw new Error('the app is not listening on a TCP port');
  return { url: `http://127.0.0.1:${address.port}`, close: http.close };
}
