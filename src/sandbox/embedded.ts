import type { Config } from '../config.js';
import { createDemoPortal, createSandbox } from './server.js';

/** The demo OAuth app the sandbox registers; public test values, like the demo token. */
export const SANDBOX_APP = { appId: 1, clientId: 'sandbox-client-id', clientSecret: 'sandbox-client-secret' };

export interface EmbeddedSandbox {
  url: string;
  portalId: number;
  /** A fixed, public demo token for the seeded portal. */
  demoToken: string;
  /** The HubSpot settings that point hubsync at this simulator. */
  hubspot: Config['hubspot'];
  close(): Promise<void>;
}

/** SANDBOX=1: the HubSpot simulator with a seeded demo portal, for `npm start` without credentials. */
export async function startEmbeddedSandbox(config: Config): Promise<EmbeddedSandbox> {
  const sandbox = createSandbox();
  const demo = createDemoPortal(sandbox, { app: SANDBOX_APP });
  const server = await sandbox.listen(config.sandbox.port, '127.0.0.1');
  return {
    url: server.url,
    portalId: demo.portalId,
    demoToken: demo.token,
    hubspot: {
      ...config.hubspot,
      apiBaseUrl: server.url,
      authorizeUrl: `${server.url}/oauth/authorize`,
      clientId: SANDBOX_APP.clientId,
      clientSecret: SANDBOX_APP.clientSecret,
      appId: SANDBOX_APP.appId,
      redirectUri: config.hubspot.redirectUri ?? `http://localhost:${config.api.port}/oauth/callback`,
    },
    close: server.close,
  };
}
