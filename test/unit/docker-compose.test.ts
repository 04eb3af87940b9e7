// docker-compose.yml cannot run here (no Docker engine), but docker-compose can still validate it.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ROUTES } from '../../src/api/contracts.js';

const available = spawnSync('docker-compose', ['--version']).status === 0;
const secrets = { TOKEN_ENCRYPTION_KEY: Buffer.alloc(32, 7).toString('base64'), API_TOKEN: 'compose-operator-token' };

function compose(args: string[], env: Record<string, string>) {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([key]) => !(key in secrets)));
  return spawnSync('docker-compose', args, { env: { ...clean, ...env }, encoding: 'utf8' });
}

/** One service's block of `docker-compose config` (services are two spaces in, their settings deeper). */
function service(config: string, name: string): string {
  const start = config.indexOf(`\n  ${name}:\n`);
  expect(start, `service ${name}`).toBeGreaterThanOrEqual(0);
  const rest = config.slice(start + name.length + 5);
  const end = rest.search(/\n {0,2}\S/);
  return end === -1 ? rest : rest.slice(0, end);
}

/** An environment variable of a service block, unquoted. */
function setting(block: string, name: string): string | undefined {
  return new RegExp(`^ +${name}: (.*)$`, 'm').exec(block)?.[1]?.replace(/^'(.*)'$/, '$1');
}

/** The host port published for a container port. */
function publishedPort(block: string, target: number): number {
  const match = new RegExp(`- published: (\\d+)\\n +target: ${target}\\b`).exec(block);
  expect(match, `a published port for ${target}`).not.toBeNull();
  return Number(match![1]);
}

// CI installs docker-compose; elsewhere the test says why it did not run.
describe.skipIf(!available && !process.env.CI)('docker-compose.yml', () => {
  it('is valid and defines the production-style stack', () => {
    const check = compose(['config', '-q'], secrets);
    expect(check.stderr).toBe('');
    expect(check.status).toBe(0);
    const services = compose(['config', '--services'], secrets).stdout.trim().split('\n').sort();
    expect(services).toEqual(['api', 'postgres', 'temporal', 'temporal-setup', 'temporal-ui', 'worker']);
  });

  it('runs the worker and the API from the hubsync image against Temporal on PostgreSQL', () => {
    const config = compose(['config'], secrets).stdout;
    expect(config).toContain('image: temporalio/auto-setup:1.29.1');
    expect(config).toContain('DB: postgres12');
    expect(config).toContain('TEMPORAL_ADDRESS: temporal:7233');
    expect(config).toMatch(/command:\s*\n\s*- npm\s*\n\s*- run\s*\n\s*- worker/);
    expect(config).toMatch(/command:\s*\n\s*- npm\s*\n\s*- run\s*\n\s*- api/);
    expect(config).toContain('HubSpotPortalId');
  });

  it("points the Web UI at the API's codec endpoint, and lets the UI's origin call it", () => {
    // Empty is unset for compose: the defaults, whatever this shell exports.
    const config = compose(['config'], { ...secrets, TEMPORAL_UI_ORIGIN: '', HUBSYNC_CODEC_ENDPOINT: '' }).stdout;
    const ui = service(config, 'temporal-ui');
    const api = service(config, 'api');
    // Both as a browser on the compose host reaches them: the published ports.
    expect(setting(ui, 'TEMPORAL_CODEC_ENDPOINT')).toBe(`http://localhost:${publishedPort(api, 3000)}/codec`);
    const uiOrigin = `http://localhost:${publishedPort(ui, 8080)}`;
    expect(setting(api, 'TEMPORAL_UI_ORIGIN')).toBe(uiOrigin);
    expect(setting(ui, 'TEMPORAL_CORS_ORIGINS')).toBe(uiOrigin);
    // The API serves the codec where the UI looks for it.
    expect(ROUTES.map((route) => `${route.method} ${route.path}`)).toEqual(expect.arrayContaining(['post /codec/decode', 'post /codec/encode']));
  });

  it('moves the codec endpoint and the allowed origin together when the UI is served elsewhere', () => {
    const moved = { TEMPORAL_UI_ORIGIN: 'https://temporal.example.com', HUBSYNC_CODEC_ENDPOINT: 'https://hubsync.example.com/codec' };
    const config = compose(['config'], { ...secrets, ...moved }).stdout;
    expect(setting(service(config, 'temporal-ui'), 'TEMPORAL_CODEC_ENDPOINT')).toBe(moved.HUBSYNC_CODEC_ENDPOINT);
    expect(setting(service(config, 'temporal-ui'), 'TEMPORAL_CORS_ORIGINS')).toBe(moved.TEMPORAL_UI_ORIGIN);
    expect(setting(service(config, 'api'), 'TEMPORAL_UI_ORIGIN')).toBe(moved.TEMPORAL_UI_ORIGIN);
  });

  it('refuses to start without the secrets it needs', () => {
    const result = compose(['config', '-q'], {});
    expect(result.status).not.toBe(0);
    expect(result.stderr).toContain('TOKEN_ENCRYPTION_KEY');
  });
});

describe('the hubsync image', () => {
  it('installs, without dev dependencies, everything its worker and API commands run', () => {
    const dockerfile = readFileSync(new URL('../../Dockerfile', import.meta.url), 'utf8');
    expect(dockerfile).toContain('npm ci --omit=dev');
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));
    for (const script of ['worker', 'api']) {
      const loader = /--import (\S+)/.exec(pkg.scripts[script])?.[1];
      expect(loader, `npm run ${script}`).toBe('tsx');
      expect(pkg.dependencies).toHaveProperty(loader!);
    }
  });
});
