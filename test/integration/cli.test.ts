// The `hubsync` command line against the real stack: the operator's list/get/pause/resume/resync/
// test/stop in tables and as JSON, clear errors, and the package's bin as an operator runs it.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, OPERATOR_TOKEN, startStack, type Stack } from '../support/stack.js';

const run = promisify(execFile);
const PORTAL_ID = 701001;
const TOKEN = 'pat-na1-cli-secret-token-0007';

let stack: Stack;
let id: string;

/** Runs the CLI as an operator would; the API and token come from the environment, like a shell profile. */
async function hubsync(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, ['--import', 'tsx', 'src/cli/hubsync.ts', ...args], {
      env: { ...process.env, HUBSYNC_API_URL: stack.apiUrl, API_TOKEN: OPERATOR_TOKEN },
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

/** Runs any command in the repository, as an operator's shell would. */
async function shell(file: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(file, args, { env: { ...process.env, HUBSYNC_API_URL: stack.apiUrl, API_TOKEN: OPERATOR_TOKEN } });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

beforeAll(async () => {
  stack = await startStack();
  await stack.control.createPortal({ portalId: PORTAL_ID });
  await stack.control.seed(PORTAL_ID, { seed: 5, contacts: 15, companies: 0, deals: 0, tickets: 0 });
  await stack.control.createToken(PORTAL_ID, { token: TOKEN });
  const response = await stack.api('/connections', { method: 'POST', json: { accessToken: TOKEN, objectTypes: ['contacts'] } });
  id = ((await response.json()) as { id: string }).id;
  await eventually(async () => {
    const body = (await (await stack.api(`/connections/${id}`)).json()) as any;
    return body.live?.objects?.contacts?.backfill?.status === 'done' ? true : undefined;
  }, 60_000, 'the backfill');
}, 120_000);
afterAll(async () => stack?.close());

describe('hubsync connections', () => {
  it('list prints a table with a header and one row per connection', async () => {
    const { code, stdout } = await hubsync('connections', 'list');
    expect(code).toBe(0);
    const [header, ...rows] = stdout.trimEnd().split('\n');
    expect(header).toMatch(/^ID\s+PORTAL\s+AUTH\s+STATUS\s+OBJECTS\s+INTERVAL\s+CREATED$/);
    expect(rows).toHaveLength(1);
    expect(rows[0]!.split(/\s+/).slice(0, 6)).toEqual([id, String(PORTAL_ID), 'private_app', 'active', 'contacts', '60s']);
  });

  it('list --json prints what the API answered', async () => {
    const { stdout } = await hubsync('connections', 'list', '--json', '--status', 'active');
    expect(JSON.parse(stdout)).toEqual({ connections: [expect.objectContaining({ id, portalId: PORTAL_ID, status: 'active' })], next: null });
  });

  it('get shows the connection and its live sync state per object type', async () => {
    const { code, stdout } = await hubsync('connections', 'get', id);
    expect(code).toBe(0);
    expect(stdout).toMatch(new RegExp(`^id\\s+${id}$`, 'm'));
    expect(stdout).toMatch(/^workflow\s+connection:/m);
    expect(stdout).toMatch(/^OBJECT TYPE\s+BACKFILL\s+RECORDS SYNCED\s+LAST RUN\s+NEXT RUN$/m);
    expect(stdout).toMatch(/^contacts\s+done 15\/15\s+1[5-9]\s/m);
    expect(stdout).toMatch(/^webhooks: 0 received/m);
  });

  it('pause and resume change the connection, in text and in JSON', async () => {
    const paused = await hubsync('connections', 'pause', id);
    expect(paused).toMatchObject({ code: 0, stdout: `connection ${id}: paused\n` });
    expect((await hubsync('connections', 'list', '--status', 'paused')).stdout).toContain(id);

    const resumed = await hubsync('--json', 'connections', 'resume', id);
    expect(resumed.code).toBe(0);
    expect(JSON.parse(resumed.stdout)).toMatchObject({ connectionId: id, status: 'active' });
    const got = JSON.parse((await hubsync('connections', 'get', id, '--json')).stdout);
    expect(got).toMatchObject({ id, status: 'active', live: { status: 'active' } });
  });

  it('resync asks for a sync of one type since a time', async () => {
    const { code, stdout } = await hubsync('connections', 'resync', id, '--object-type', 'contacts', '--since', '2026-01-01T00:00:00Z');
    expect(code).toBe(0);
    expect(stdout).toBe(`connection ${id}: resync of contacts since 2026-01-01T00:00:00Z requested\n`);
  });

  it('test prints one row per check, with HubSpot’s verdict', async () => {
    const { code, stdout } = await hubsync('connections', 'test', id);
    expect(code).toBe(0);
    const [header, ...rows] = stdout.trimEnd().split('\n');
    expect(header).toMatch(/^CHECK\s+RESULT\s+DETAIL$/);
    const results = Object.fromEntries(rows.map((row) => /^(.+?)\s{2,}(ok|FAILED|skipped)\b/.exec(row)!.slice(1, 3)));
    // The stack's app has no webhook subscriptions yet: that check fails, the rest pass.
    expect(results).toEqual({ token: 'ok', scopes: 'ok', 'read contacts': 'ok', webhooks: 'FAILED' });
    expect(stdout).toMatch(/^webhooks\s+FAILED\s+.*POST \/webhooks\/subscriptions/m);
    expect(stdout).not.toContain(TOKEN);

    const json = JSON.parse((await hubsync('--json', 'connections', 'test', id)).stdout);
    expect(json).toMatchObject({ connectionId: id, ok: false });
    expect(json.checks.map((check: { name: string }) => check.name)).toEqual(['token', 'scopes', 'read contacts', 'webhooks']);
  });

  it('says clearly that an unknown connection does not exist, and exits 1', async () => {
    const unknown = '00000000-0000-4000-8000-000000000000';
    for (const command of ['get', 'pause']) {
      const { code, stdout, stderr } = await hubsync('connections', command, unknown);
      expect(code).toBe(1);
      expect(stdout).toBe('');
      expect(stderr).toBe(`hubsync: no connection with id ${unknown} (not_found)\n`);
    }
  });

  it('refuses without the operator token, saying which token it needs', async () => {
    const { code, stderr } = await hubsync('connections', 'list', '--token', 'not-the-operator-token-000');
    expect(code).toBe(1);
    expect(stderr).toMatch(/^hubsync: expected Authorization: Bearer <API_TOKEN> \(unauthorized\)/);
  });

  it('says when the API cannot be reached', async () => {
    const { code, stderr } = await hubsync('connections', 'list', '--api-url', 'http://127.0.0.1:9');
    expect(code).toBe(1);
    expect(stderr).toMatch(/^hubsync: cannot reach the hubsync API at http:\/\/127\.0\.0\.1:9/);
  });

  it('stop stops the connection for good: its workflow completes and further controls exit 1 with the reason', async () => {
    const { code, stdout } = await hubsync('connections', 'stop', id);
    expect(code).toBe(0);
    expect(stdout).toMatch(new RegExp(`^connection ${id}: (stopping|stopped)\n$`));
    expect(await stack.temporal.workflow.getHandle(`connection:${id}`).result()).toMatchObject({ status: 'stopped' });
    expect((await hubsync('connections', 'list', '--status', 'stopped')).stdout).toContain(id);

    const again = await hubsync('connections', 'resume', id);
    expect(again.code).toBe(1);
    expect(again.stdout).toBe('');
    expect(again.stderr).toMatch(/^hubsync: cannot resume: .* \(conflict\)\n$/);
  });
});

describe('the package’s bin', () => {
  it('runs through npx in the repository, as the README says', async () => {
    const { code, stdout } = await shell('npx', ['--no-install', 'hubsync', '--help']);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^Usage: hubsync \[options\] \[command\]/);
    expect(stdout).toMatch(/^\s+connections\s+list, inspect and control connections$/m);
  });

  it('runs the file package.json names, through its shebang, against the API', async () => {
    const bin = (JSON.parse(readFileSync('package.json', 'utf8')) as { bin: Record<string, string> }).bin.hubsync!;
    const { code, stdout } = await shell(`./${bin}`, ['--json', 'connections', 'list', '--status', 'stopped']);
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toMatchObject({ connections: [expect.objectContaining({ id })] });
  });
});
