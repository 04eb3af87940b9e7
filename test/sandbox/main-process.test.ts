// `npm run sandbox` as a user runs it: a separate process on SANDBOX_PORT, serving the seeded demo
// portal to the official client and installing the demo OAuth app into it without a portalId.
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { Client } from '@hubspot/api-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SandboxClient } from '../../src/sandbox/client.js';
import { SANDBOX_APP } from '../../src/sandbox/embedded.js';

let child: ChildProcess;
let url: string;
let output = '';

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close((err) => (err ? reject(err) : resolve(port)));
    });
  });
}

beforeAll(async () => {
  const port = await freePort();
  url = `http://127.0.0.1:${port}`;
  // What `npm run sandbox` runs, without npm in between so the pid is the server's.
  child = spawn(process.execPath, ['--import', 'tsx', 'src/sandbox/main.ts'], { env: { ...process.env, SANDBOX_PORT: String(port) }, stdio: ['ignore', 'pipe', 'pipe'] });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the sandbox did not start:\n${output}`)), 60_000);
    child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      // The last line it prints at start-up.
      if (output.includes(`listening on ${url}`) && output.includes('control API:')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.stderr!.on('data', (chunk: Buffer) => void (output += chunk.toString()));
    child.once('exit', (code) => reject(new Error(`the sandbox exited with ${code}:\n${output}`)));
  });
}, 70_000);

afterAll(async () => {
  if (child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
});

describe('npm run sandbox', () => {
  it('serves the seeded demo portal over HTTP to the official client with the printed token', async () => {
    const token = /private-app token: (\S+)/.exec(output)?.[1];
    expect(token).toBeDefined();
    const hubspot = new Client({ accessToken: token!, basePath: url, numberOfApiCallRetries: 0 });
    const details = (await (await hubspot.apiRequest({ method: 'GET', path: '/account-info/v3/details' })).json()) as { portalId: number };
    expect(details.portalId).toBe(100001);
    const total = async (type: 'contacts' | 'companies' | 'deals' | 'tickets') =>
      (await hubspot.crm[type].searchApi.doSearch({ filterGroups: [], sorts: [], properties: [], limit: 1, after: '0' })).total;
    expect(await Promise.all([total('contacts'), total('companies'), total('deals'), total('tickets')])).toEqual([3000, 600, 1200, 800]);
    const page = await hubspot.crm.contacts.basicApi.getPage(100, undefined, undefined, undefined, ['companies']);
    expect(page.results.filter((r) => r.associations?.companies).length).toBeGreaterThan(50);
    expect((await new SandboxClient(url).listPortals()).results.map((p) => p.portalId)).toEqual([100001]);
  });

  it('installs the demo OAuth app into the demo portal when authorize names no portal', async () => {
    const redirect = 'http://localhost:3000/oauth/callback';
    const authorize = await fetch(`${url}/oauth/authorize?client_id=${SANDBOX_APP.clientId}&redirect_uri=${encodeURIComponent(redirect)}&scope=oauth`, { redirect: 'manual' });
    expect(authorize.status).toBe(302);
    const code = new URL(authorize.headers.get('location')!).searchParams.get('code')!;
    const grant = await new Client({ basePath: url, numberOfApiCallRetries: 0 }).oauth.tokensApi.create('authorization_code', code, redirect, SANDBOX_APP.clientId, SANDBOX_APP.clientSecret);
    const info = await new Client({ basePath: url, numberOfApiCallRetries: 0 }).oauth.accessTokensApi.get(grant.accessToken);
    expect(info.hubId).toBe(100001);
  });

  it('stops cleanly on SIGTERM', async () => {
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });
});
