import { Writable } from 'node:stream';
import { expect, it } from 'vitest';
import { createLogger } from '../../src/logger.js';

it('redacts secrets that slip into a log line', () => {
  const lines: string[] = [];
  const log = createLogger('info', new Writable({ write: (chunk, _e, done) => (lines.push(String(chunk)), done()) }));
  log.info({ accessToken: 'at-1', tokens: { refresh_token: 'rt-2' }, request: { headers: { authorization: 'Bearer x-3' } } }, 'hello');
  const text = lines.join('');
  expect(text).toContain('hello');
  for (const secret of ['at-1', 'rt-2', 'x-3']) expect(text).not.toContain(secret);
  expect(text).toContain('[redacted]');
});
