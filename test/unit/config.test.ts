import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';

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
    });
    expect(config.databaseUrl).toBeUndefined();
    expect(config.hubspot.apiBaseUrl).toBe('https://api.hubapi.com');
    expect(config.hubspot.authorizeUrl).toBe('https://app.hubspot.com/oauth/authorize');
    expect(config.api).toEqual({ port: 3000, token: undefined });
    expect(config.sandbox.enabled).toBe(true);
  });

  it('turns the sandbox off once HubSpot credentials are configured, unless SANDBOX says otherwise', () => {
    const credentials = { HUBSPOT_CLIENT_ID: 'id', HUBSPOT_CLIENT_SECRET: 'secret' };
    expect(loadConfig(credentials).sandbox.enabled).toBe(false);
    expect(loadConfig({ ...credentials, SANDBOX: '1' }).sandbox.enabled).toBe(true);
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
