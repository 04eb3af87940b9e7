// Starts a simulator on a random port with one portal and a private-app token, and an official
// @hubspot/api-client 14 pointed at it: the way hubsync itself will talk to HubSpot.
import { Client } from '@hubspot/api-client';
import { SandboxClient } from '../../src/sandbox/client.js';
import { createSandbox, type Sandbox, type SandboxOptions } from '../../src/sandbox/server.js';

export interface Fixture {
  sandbox: Sandbox;
  url: string;
  control: SandboxClient;
  portalId: number;
  token: string;
  hubspot: Client;
  close(): Promise<void>;
}

export async function startFixture(options: SandboxOptions = {}, portalId = 555001): Promise<Fixture> {
  const sandbox = createSandbox({ rateLimits: { enabled: false }, ...options });
  const server = await sandbox.listen(0);
  const control = new SandboxClient(server.url);
  await control.createPortal({ portalId });
  const { token } = await control.createToken(portalId, { appId: 4242 });
  const hubspot = new Client({ accessToken: token, basePath: server.url, numberOfApiCallRetries: 0 });
  return { sandbox, url: server.url, control, portalId, token, hubspot, close: server.close };
}

/** Runs a call expected to fail and returns the ApiException's status and body. */
export async function failure(call: Promise<unknown>): Promise<{ code: number; body: Record<string, unknown>; headers: Record<string, string> }> {
  try {
    await call;
  } catch (err) {
    const e = err as { code?: number; body?: unknown; headers?: Record<string, string> };
    if (typeof e.code !== 'number') throw err;
    const body = typeof e.body === 'string' ? (JSON.parse(e.body) as Record<string, unknown>) : ((e.body ?? {}) as Record<string, unknown>);
    return { code: e.code, body, headers: e.headers ?? {} };
  }
  throw new Error('expected the call to fail');
}
