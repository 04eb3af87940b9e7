import { Writable } from 'node:stream';
import { ApplicationFailure } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logger.js';

function capture() {
  const lines: string[] = [];
  const log = createLogger('info', new Writable({ write: (chunk, _e, done) => (lines.push(String(chunk)), done()) }));
  return { log, text: () => lines.join('') };
}

describe('log redaction', () => {
  it('redacts secrets that slip into a log line', () => {
    const { log, text } = capture();
    log.info({ accessToken: 'at-1', tokens: { refresh_token: 'rt-2' }, request: { headers: { authorization: 'Bearer x-3' } } }, 'hello');
    expect(text()).toContain('hello');
    for (const secret of ['at-1', 'rt-2', 'x-3']) expect(text()).not.toContain(secret);
    expect(text()).toContain('[redacted]');
  });

  it('redacts the client secret, the developer API key and encryption keys, by any of their names', () => {
    const { log, text } = capture();
    log.info(
      {
        secret: 'sec-1',
        app: { clientSecret: 'sec-2', client_secret: 'sec-3' },
        webhooks: { developerApiKey: 'dev-4', hapikey: 'dev-5' },
        query: { apiKey: 'dev-6', api_key: 'dev-7' },
        key: 'key-8',
        cipher: { keys: ['key-9'], encryptionKey: 'key-10' },
        config: { tokenEncryptionKeys: ['key-11'], payloadEncryptionKeys: ['key-12'] },
        env: { TOKEN_ENCRYPTION_KEY: 'key-13', HUBSPOT_CLIENT_SECRET: 'sec-14', HUBSPOT_DEVELOPER_API_KEY: 'dev-15', API_TOKEN: 'op-16' },
        headers: { cookie: 'hubsync_oauth_nonce=n-17' },
        connectionId: 'kept-in-the-line',
      },
      'configured',
    );
    const line = text();
    for (let i = 1; i <= 17; i++) expect(line).not.toMatch(new RegExp(`-${i}\\b`));
    expect(line).toContain('kept-in-the-line');
  });

  it('blanks secrets that an error message quotes in a URL or header, keeping the rest', () => {
    const { log, text } = capture();
    const error = new Error('GET https://api.hubapi.com/webhooks/v3/1/settings?hapikey=dev-secret&x=1 failed; client_secret=cs-secret; Bearer at-secret');
    log.error({ err: error, connectionId: 'c-1' }, 'request failed');
    log.warn({ err: 'refresh failed for refresh_token=rt-secret' }, 'as a string');
    const out = text();
    for (const secret of ['dev-secret', 'cs-secret', 'at-secret', 'rt-secret']) expect(out).not.toContain(secret);
    expect(out).toContain('/webhooks/v3/1/settings?hapikey=[redacted]&x=1 failed');
    expect(JSON.parse(out.split('\n')[0]!).err.type).toBe('Error');
  });

  it("shows why an activity failed (the SDK logs it under `error`): the failure's type and message, secrets blanked", () => {
    const { log, text } = capture();
    const failure = ApplicationFailure.create({ type: 'HubSpotUnexpected', message: 'deadlock detected; Bearer at-secret' });
    log.warn({ error: failure, activityType: 'applyObjectBatch' }, 'Activity failed');
    const line = JSON.parse(text()) as { error: { type: string; message: string } };
    expect(line.error.type).toBe('HubSpotUnexpected');
    expect(line.error.message).toBe('deadlock detected; Bearer [redacted]');
    expect(text()).not.toContain('at-secret');
  });
});
