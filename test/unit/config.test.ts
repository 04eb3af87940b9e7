import { spawn, spawnSync } from 'node:child_process';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ConfigError, loadConfig, loadVariable } from '../../src/config.js';
import { findOrBuildTemporalCli } from '../../src/embedded/temporal-cli.js';
import { freePort } from '../../src/embedded/free-port.js';
import { createLogger } from '../../src/logger.js';

describe('configuration', () => {
  it('has the defaults of DESIGN.md', () => {
    const config = loadConfig({});
    expect(config.temporal).toEqual({
      address: undefined,
      namespace: 'default',
      taskQueue: 'hubspot-sync',
      uiPort: 8233,
      uiOrigin: 'http://localhost:8233',
      workerMetricsPort: undefined,
      cliPath: undefined,
    });
    expect(config.databaseUrl).toBeUndefined();
    expect(config.hubspot.apiBaseUrl).toBe('https://api.hubapi.com');
    expect(config.hubspot.authorizeUrl).toBe('https://app.hubspot.com/oauth/authorize');
    expect(config.api).toEqual({ port: 3000, token: undefined });
    expect(config.sandbox).toEqual({ enabled: true, port: 4010, host: '127.0.0.1' });
  });

  it('turns the sandbox off once HubSpot credentials are configured, unless SANDBOX says otherwise', () => {
    const credentials = { HUBSPOT_CLIENT_ID: 'id', HUBSPOT_CLIENT_SECRET: 'secret' };
    expect(loadConfig(credentials).sandbox.enabled).toBe(false);
    expect(loadConfig({ ...credentials, SANDBOX: '1' }).sandbox.enabled).toBe(true);
  });

  it('sets up the engagement push on connect unless ENGAGEMENT_SETUP_ON_CONNECT says not to', () => {
    expect(loadConfig({}).engagementSetupOnConnect).toBe(true);
    expect(loadConfig({ ENGAGEMENT_SETUP_ON_CONNECT: '0' }).engagementSetupOnConnect).toBe(false);
    expect(() => loadConfig({ ENGAGEMENT_SETUP_ON_CONNECT: 'later' })).toThrow(/ENGAGEMENT_SETUP_ON_CONNECT/);
  });

  it('leaves HUBSPOT_RATE_SAFETY_MARGIN of each rate limit unused, 3 % unless set', () => {
    expect(loadConfig({}).rateBudget).toEqual({ safetyMargin: 0.03 });
    expect(loadConfig({ HUBSPOT_RATE_SAFETY_MARGIN: '0.1' }).rateBudget).toEqual({ safetyMargin: 0.1 });
    for (const bad of ['-0.1', '0.9', 'some']) {
      expect(() => loadConfig({ HUBSPOT_RATE_SAFETY_MARGIN: bad })).toThrow(/HUBSPOT_RATE_SAFETY_MARGIN/);
    }
  });

  it('accepts rotated encryption keys, current first', () => {
    const current = Buffer.alloc(32, 1).toString('base64');
    const old = Buffer.alloc(32, 2).toString('base64');
    expect(loadConfig({ TOKEN_ENCRYPTION_KEY: `${current}, ${old}` }).tokenEncryptionKeys).toEqual([current, old]);
  });

  it('keeps payload keys apart from token keys only when PAYLOAD_ENCRYPTION_KEY is set', () => {
    const token = Buffer.alloc(32, 1).toString('base64');
    const payload = Buffer.alloc(32, 3).toString('base64');
    expect(loadConfig({ TOKEN_ENCRYPTION_KEY: token }).payloadEncryptionKeys).toBeUndefined();
    expect(loadConfig({ TOKEN_ENCRYPTION_KEY: token, PAYLOAD_ENCRYPTION_KEY: payload }).payloadEncryptionKeys).toEqual([payload]);
    expect(() => loadConfig({ PAYLOAD_ENCRYPTION_KEY: 'c2hvcnQ=' })).toThrow(/PAYLOAD_ENCRYPTION_KEY: expected 32 bytes/);
  });

  it('allows the Web UI origin that follows its port, or the one configured', () => {
    expect(loadConfig({ TEMPORAL_UI_PORT: '9000' }).temporal.uiOrigin).toBe('http://localhost:9000');
    expect(loadConfig({ TEMPORAL_UI_ORIGIN: 'https://temporal.example.com/' }).temporal.uiOrigin).toBe('https://temporal.example.com');
  });

  it('names every bad variable in one message', () => {
    const attempt = () =>
      loadConfig({
        TEMPORAL_ADDRESS: 'no port here',
        DATABASE_URL: 'mysql://x',
        API_PORT: '70000',
        TOKEN_ENCRYPTION_KEY: 'c2hvcnQ=',
        API_TOKEN: 'short',
        SANDBOX: 'maybe',
      });
    expect(attempt).toThrow(ConfigError);
    const message = (() => {
      try {
        attempt();
      } catch (error) {
        return (error as Error).message;
      }
      return '';
    })();
    for (const name of ['TEMPORAL_ADDRESS', 'DATABASE_URL', 'API_PORT', 'TOKEN_ENCRYPTION_KEY', 'API_TOKEN', 'SANDBOX']) {
      expect(message).toContain(name);
    }
    expect(message).toContain('32 bytes');
  });

  it('stops an entry point with exit code 1 and that message, before starting anything', () => {
    const result = spawnSync(process.execPath, ['--import', 'tsx', 'src/worker/main.ts'], {
      env: { ...process.env, API_PORT: 'eighty', DATABASE_URL: 'not-a-url' },
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('invalid configuration');
    expect(result.stderr).toContain('API_PORT');
    expect(result.stderr).toContain('DATABASE_URL');
  });
});

describe('SANDBOX_HOST and TEMPORAL_CLI_PATH, in the one schema', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it('takes an address or host name for the simulator to listen on', () => {
    for (const host of ['0.0.0.0', '::', '10.1.2.3', 'sandbox.internal', 'localhost']) {
      expect(loadConfig({ SANDBOX_HOST: host }).sandbox.host).toBe(host);
    }
    expect(loadConfig({ TEMPORAL_CLI_PATH: '/opt/temporal/bin/temporal' }).temporal.cliPath).toBe('/opt/temporal/bin/temporal');
  });

  it('names a bad SANDBOX_HOST in the same message as every other bad variable', () => {
    const message = (() => {
      try {
        loadConfig({ SANDBOX_HOST: 'not a host', API_PORT: 'x' });
      } catch (error) {
        return (error as Error).message;
      }
      return '';
    })();
    expect(message).toContain('SANDBOX_HOST: expected an IP address or a host name');
    expect(message).toContain('API_PORT');
  });

  it('reads one variable through the schema, whatever the others hold', () => {
    expect(loadVariable('SANDBOX_HOST', { API_PORT: 'not-a-port' })).toBe('127.0.0.1');
    expect(loadVariable('SANDBOX_HOST', { SANDBOX_HOST: '0.0.0.0' })).toBe('0.0.0.0');
    expect(loadVariable('TEMPORAL_CLI_PATH', { TEMPORAL_CLI_PATH: '' })).toBeUndefined();
    expect(() => loadVariable('SANDBOX_HOST', { SANDBOX_HOST: 'not a host' })).toThrow(/SANDBOX_HOST: expected an IP address/);
  });

  it('the Temporal CLI finder uses TEMPORAL_CLI_PATH as configured, and names it when it is no binary', async () => {
    const log = createLogger('silent');
    vi.stubEnv('TEMPORAL_CLI_PATH', process.execPath);
    expect(await findOrBuildTemporalCli(log)).toBe(process.execPath);
    vi.stubEnv('TEMPORAL_CLI_PATH', '/nonexistent/temporal');
    await expect(findOrBuildTemporalCli(log)).rejects.toThrow('TEMPORAL_CLI_PATH=/nonexistent/temporal is not an executable file');
    // A configuration already loaded passes its own value.
    expect(await findOrBuildTemporalCli(log, loadConfig({ TEMPORAL_CLI_PATH: process.execPath }).temporal.cliPath)).toBe(process.execPath);
  });

  it('npm run sandbox listens where SANDBOX_HOST says, and refuses a bad one with exit code 1', async () => {
    const bad = spawnSync(process.execPath, ['--import', 'tsx', 'src/sandbox/main.ts'], { env: { ...process.env, SANDBOX_HOST: 'not a host', SANDBOX_PORT: '0' }, encoding: 'utf8', timeout: 30_000 });
    expect(bad.status).toBe(1);
    expect(bad.stderr).toContain('SANDBOX_HOST: expected an IP address or a host name');

    const port = await freePort();
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/sandbox/main.ts'], { env: { ...process.env, SANDBOX_HOST: 'localhost', SANDBOX_PORT: String(port) }, stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      const listening = await new Promise<string>((resolve, reject) => {
        let out = '';
        child.stdout!.on('data', (chunk: Buffer) => {
          out += chunk.toString();
          const line = /listening on (\S+)/.exec(out)?.[1];
          if (line) resolve(line);
        });
        child.once('exit', (code) => reject(new Error(`sandbox exited ${code}: ${out}`)));
      });
      expect(listening).toMatch(new RegExp(`^http://(localhost|127\\.0\\.0\\.1|\\[::1\\]):${port}$`));
      const answered = await fetch(`${listening}/__sandbox/portals`).catch(() => undefined);
      expect(answered).toBeDefined();
    } finally {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
  });
});

