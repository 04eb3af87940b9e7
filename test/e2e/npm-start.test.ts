// `npm start` as a new user runs it: no configuration, so it starts its own Temporal dev server,
// PostgreSQL and HubSpot simulator, then the worker and the API; a connection made with the demo
// token syncs; Ctrl-C (SIGINT to the whole process group, as a terminal sends it) stops
// everything it started and leaves no process behind.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { assertPortFree, freePort } from '../../src/embedded/free-port.js';
import { eventually } from '../support/stack.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** DESIGN.md fixes the embedded server's gRPC port. */
const TEMPORAL_PORT = 7233;

let dataDir: string;
let child: ChildProcess;
let output = '';
let apiPort: number;

/** Every running process whose command line names our data directory (the Temporal server, PostgreSQL). */
function processesUsing(dir: string): string[] {
  const ps = spawnSync('ps', ['-eo', 'pid=,stat=,args='], { encoding: 'utf8' });
  return ps.stdout.split('\n').filter((line) => line.includes(dir) && !/^\s*\d+\s+Z/.test(line));
}

beforeAll(async () => {
  await assertPortFree(TEMPORAL_PORT, 'the embedded Temporal server of npm start');
  dataDir = mkdtempSync(join(tmpdir(), 'hubsync-npm-start-'));
  // As root, PostgreSQL runs as its own OS user, which must be able to enter this directory.
  chmodSync(dataDir, 0o755);
  apiPort = await freePort();
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    DATA_DIR: dataDir,
    API_PORT: String(apiPort),
    TEMPORAL_UI_PORT: String(await freePort()),
    SANDBOX_PORT: String(await freePort()),
  };
  // Its own process group, like a terminal's foreground job.
  child = spawn('npm', ['start'], { cwd: ROOT, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
}, 30_000);

/** Cleans up after a failed run; a passing one has left nothing to kill. */
function kill(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

afterAll(() => {
  if (child?.pid) kill(-child.pid);
  for (const line of processesUsing(dataDir)) kill(Number(line.trim().split(/\s+/)[0]));
  rmSync(dataDir, { recursive: true, force: true });
});

it('starts the whole stack, syncs the demo portal, and stops everything on Ctrl-C', async () => {
  await eventually(async () => {
    if (child.exitCode !== null) throw new Error(`npm start exited with ${child.exitCode}`);
    return output.includes('hubsync is running') ? true : undefined;
  }, 120_000, 'npm start to be ready').catch((error: Error) => {
    throw new Error(`${error.message}; its output:\n${output}`);
  });
  const ready = JSON.parse(output.split('\n').find((line) => line.includes('hubsync is running'))!);
  expect(ready.msg).toContain(`API http://localhost:${apiPort}`);
  expect(ready.msg).toMatch(/Temporal Web UI http:\/\/localhost:\d+/);
  const demoToken = /demo token (\S+?)\)/.exec(ready.msg)?.[1];
  expect(demoToken).toBeDefined();
  expect(processesUsing(dataDir).some((line) => line.includes('temporal.db'))).toBe(true);

  const api = `http://127.0.0.1:${apiPort}`;
  expect((await fetch(`${api}/readyz`)).status).toBe(200);
  // The sandbox demo answers loopback callers without an operator token.
  const created = await fetch(`${api}/connections`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ accessToken: demoToken }) });
  expect(created.status).toBe(201);
  const { id } = (await created.json()) as { id: string };
  const synced = await eventually(async () => {
    const body = (await (await fetch(`${api}/connections/${id}`)).json()) as { live?: { objects?: Record<string, { recordsSynced: number }> } };
    const contacts = body.live?.objects?.contacts;
    return contacts && contacts.recordsSynced > 0 ? contacts : undefined;
  }, 60_000, 'the demo contacts to sync');
  expect(synced.recordsSynced).toBeGreaterThan(0);

  const exited = new Promise((resolve) => child.once('exit', resolve));
  process.kill(-child.pid!, 'SIGINT');
  await exited;
  // hubsync ran its whole ordered shutdown, and took every process it started with it.
  await eventually(async () => (output.includes('"msg":"stopped"') ? true : undefined), 30_000, 'the shutdown to finish');
  await eventually(async () => (processesUsing(dataDir).length === 0 ? true : undefined), 15_000, 'no process left behind');
  expect(output).not.toContain('"level":50'); // no stop step failed
}, 240_000);
