import { pino, type Logger } from 'pino';

/**
 * Structured JSON logs. Redaction is a safety net: code should never hand a secret to the logger,
 * but if an object carrying one slips through, its value is replaced before the line is written.
 */
export const REDACTED_KEYS = [
  'accessToken',
  'refreshToken',
  'access_token',
  'refresh_token',
  'clientSecret',
  'client_secret',
  'authorization',
  'Authorization',
  'token',
  'apiToken',
  'password',
];

export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  const paths = REDACTED_KEYS.flatMap((key) => [key, `*.${key}`, `*.*.${key}`]);
  return pino({ level, base: { service: 'hubsync' }, redact: { paths, censor: '[redacted]' } }, destination);
}

export type { Logger };
