import { ApplicationFailure } from '@temporalio/common';
import { pino, type Logger } from 'pino';

/**
 * Structured JSON logs. Redaction is a safety net: code should never hand a secret to the logger,
 * but if an object carrying one slips through, its value is replaced before the line is written.
 * Fields are matched by name at the top level and two levels down (`{ tokens: { refresh_token } }`,
 * `{ config: { hubspot: { clientSecret } } }`), in the spellings HubSpot, OAuth and our config use.
 */
export const REDACTED_KEYS = [
  // HubSpot and OAuth tokens, and how they travel.
  'accessToken',
  'refreshToken',
  'access_token',
  'refresh_token',
  'token',
  'tokens',
  'authorization',
  'Authorization',
  'cookie',
  'apiToken',
  'password',
  // The OAuth app's secret, which also signs webhooks.
  'secret',
  'clientSecret',
  'client_secret',
  // The developer account's key: `hapikey` on HubSpot's webhooks and timeline APIs.
  'apiKey',
  'api_key',
  'hapikey',
  'developerApiKey',
  // Encryption keys of tokens and payloads, alone or as a rotation list.
  'key',
  'keys',
  'cipherKey',
  'encryptionKey',
  'tokenEncryptionKeys',
  'payloadEncryptionKeys',
  // The environment's names for all of the above, should a config object be logged.
  'API_TOKEN',
  'HUBSPOT_CLIENT_SECRET',
  'HUBSPOT_DEVELOPER_API_KEY',
  'TOKEN_ENCRYPTION_KEY',
  'PAYLOAD_ENCRYPTION_KEY',
];

/** Secrets that travel in URLs and headers, should an error message quote one. */
const SECRET_IN_TEXT = /((?:access_token|refresh_token|client_secret|hapikey)=)[^&\s"']+|(Bearer\s+)[^\s"',]+/gi;

export function scrubSecrets(text: string): string {
  return text.replace(SECRET_IN_TEXT, (_match, param: string | undefined, bearer: string | undefined) => `${param ?? bearer}[redacted]`);
}

/**
 * pino's error serializer, with any URL-borne secret blanked in the message and stack. A Temporal
 * ApplicationFailure keeps its own type (HubSpotRateLimited, ...) rather than its class name.
 */
function errorWithoutSecrets(error: unknown): unknown {
  const serialized = pino.stdSerializers.err(error as Error) as unknown;
  if (!serialized || typeof serialized !== 'object') return typeof serialized === 'string' ? scrubSecrets(serialized) : serialized;
  const record = serialized as Record<string, unknown>;
  for (const field of ['message', 'stack'] as const) {
    if (typeof record[field] === 'string') record[field] = scrubSecrets(record[field]);
  }
  if (error instanceof ApplicationFailure && error.type) record.type = error.type;
  return record;
}

export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  const paths = REDACTED_KEYS.flatMap((key) => [key, `*.${key}`, `*.*.${key}`]);
  return pino(
    { level, base: { service: 'hubsync' }, redact: { paths, censor: '[redacted]' }, serializers: { err: errorWithoutSecrets, error: errorWithoutSecrets } },
    destination,
  );
}

export type { Logger };
