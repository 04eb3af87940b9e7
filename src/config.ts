import { z } from 'zod';
import { DEFAULT_SAFETY_MARGIN } from './hubspot/rate-budget.js';

/**
 * Every variable of DESIGN.md, validated once at start. A bad value stops the process with one
 * message naming every bad variable, so an operator fixes them all in one go.
 */

const optionalString = z.string().trim().min(1).optional();
const port = z.coerce.number().int().min(1).max(65535);
const flag = z.enum(['0', '1', 'true', 'false']).transform((value) => value === '1' || value === 'true');
const keyList = z
  .string()
  .refine(
    (value) => value.split(',').every((key) => Buffer.from(key.trim(), 'base64').length === 32),
    'expected 32 bytes, base64-encoded (openssl rand -base64 32); older keys may follow after commas',
  )
  .transform((value) => value.split(',').map((key) => key.trim()))
  .optional();

const envSchema = z.object({
  TEMPORAL_ADDRESS: z
    .string()
    .regex(/^[^\s:]+:\d+$/, 'expected host:port, e.g. 127.0.0.1:7233')
    .optional(),
  TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
  TEMPORAL_TASK_QUEUE: z.string().min(1).default('hubspot-sync'),
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'expected a postgres:// or postgresql:// URL')
    .optional(),
  HUBSPOT_API_BASE_URL: z.url().default('https://api.hubapi.com'),
  HUBSPOT_AUTHORIZE_URL: z.url().default('https://app.hubspot.com/oauth/authorize'),
  HUBSPOT_CLIENT_ID: optionalString,
  HUBSPOT_CLIENT_SECRET: optionalString,
  HUBSPOT_REDIRECT_URI: z.url().optional(),
  HUBSPOT_APP_ID: z.coerce.number().int().positive().optional(),
  // v1 is deprecated (shuts off 16 Feb 2027); v3 takes the same form body.
  HUBSPOT_OAUTH_TOKEN_VERSION: z.enum(['v3', 'v1']).default('v3'),
  // Share of each HubSpot rate limit hubsync leaves unused (0.03: 97 of 100 per 10 s).
  HUBSPOT_RATE_SAFETY_MARGIN: z.coerce.number().min(0, 'expected a share between 0 and 0.5, e.g. 0.03').max(0.5, 'expected a share between 0 and 0.5, e.g. 0.03').default(DEFAULT_SAFETY_MARGIN),
  HUBSPOT_SCOPES: z.string().default('crm.objects.contacts.read crm.objects.contacts.write crm.objects.companies.read crm.objects.deals.read crm.schemas.custom.read oauth'),
  // The current key first; older keys after commas still decrypt what they sealed (rotation).
  TOKEN_ENCRYPTION_KEY: keyList,
  // Temporal payloads (histories at rest); unset: the TOKEN_ENCRYPTION_KEY list. Separate keys
  // let the Temporal side rotate, or be shared with a codec server, without touching the tokens.
  PAYLOAD_ENCRYPTION_KEY: keyList,
  API_PORT: port.default(3000),
  // Where HubSpot reaches this service (behind a proxy, not the listen address): webhook
  // signatures cover this URL. Default: http://localhost:${API_PORT}.
  PUBLIC_BASE_URL: z.url().optional(),
  // Legacy apps sign with v1/v2 (no timestamp, so replayable): accepted only when listed here.
  HUBSPOT_WEBHOOK_SIGNATURE_VERSIONS: z
    .string()
    .transform((list) => list.split(',').map((version) => version.trim()))
    .pipe(z.array(z.enum(['v3', 'v2', 'v1'])).min(1))
    .default(['v3']),
  // The developer account's API key: HubSpot's webhooks API (settings, subscriptions) takes it as `hapikey`.
  HUBSPOT_DEVELOPER_API_KEY: optionalString,
  API_TOKEN: z.string().min(16, 'expected at least 16 characters').optional(),
  SANDBOX: flag.optional(),
  // A new connection starts its engagement push, which sets up the properties and timeline
  // template in the portal at once; 0 waits for the first engagement events (or settings).
  ENGAGEMENT_SETUP_ON_CONNECT: flag.default(true),
  SANDBOX_PORT: port.default(4010),
  // Where `npm run sandbox` listens: loopback unless it must be reached from outside (0.0.0.0 in a container).
  SANDBOX_HOST: z.union([z.ipv4(), z.ipv6(), z.hostname()], { error: 'expected an IP address or a host name, e.g. 127.0.0.1 or 0.0.0.0' }).default('127.0.0.1'),
  // A Temporal CLI binary for the embedded dev server, instead of looking on PATH and in the cache.
  TEMPORAL_CLI_PATH: optionalString,
  DATA_DIR: z.string().min(1).default('.data'),
  TEMPORAL_UI_PORT: port.default(8233),
  // The Web UI's origin, allowed by CORS to call /codec/*. Default: http://localhost:${TEMPORAL_UI_PORT}.
  TEMPORAL_UI_ORIGIN: z.url().optional(),
  // The worker's Temporal SDK metrics (Prometheus, /metrics on this port); unset: off.
  WORKER_METRICS_PORT: port.optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

type Env = z.infer<typeof envSchema>;

export interface Config {
  temporal: {
    address: string | undefined;
    namespace: string;
    taskQueue: string;
    uiPort: number;
    /** Allowed by CORS on /codec/*, so the Web UI can decode payloads. */
    uiOrigin: string;
    /** Port of the worker's Prometheus exporter; undefined: no exporter. */
    workerMetricsPort: number | undefined;
    /** The Temporal CLI for the embedded dev server; undefined: look on PATH, in the cache, or build one. */
    cliPath: string | undefined;
  };
  databaseUrl: string | undefined;
  hubspot: {
    apiBaseUrl: string;
    authorizeUrl: string;
    clientId: string | undefined;
    clientSecret: string | undefined;
    redirectUri: string | undefined;
    appId: number | undefined;
    scopes: string;
    /** Which OAuth token endpoints to use: /oauth/v3/token (default) or /oauth/v1/token. */
    tokenVersion: 'v3' | 'v1';
  };
  /** Passed to createRateBudget by every process that calls HubSpot. */
  rateBudget: { safetyMargin: number };
  /** base64 keys, current first; undefined means "development: generate one into the data directory". */
  tokenEncryptionKeys: string[] | undefined;
  /** base64 keys for Temporal payloads, current first; undefined means "the token keys". */
  payloadEncryptionKeys: string[] | undefined;
  api: { port: number; token: string | undefined };
  webhooks: WebhookConfig;
  /** Whether a new connection sets up the engagement push in its portal at once. */
  engagementSetupOnConnect: boolean;
  sandbox: { enabled: boolean; port: number; host: string };
  dataDir: string;
  logLevel: Env['LOG_LEVEL'];
}

export type WebhookSignatureVersion = 'v3' | 'v2' | 'v1';

export interface WebhookConfig {
  /** The public URL HubSpot calls, without a trailing slash; `/webhooks/hubspot` is appended. */
  publicBaseUrl: string;
  signatureVersions: WebhookSignatureVersion[];
  developerApiKey: string | undefined;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

// Empty strings mean "unset", as in most shells' `VAR= command`.
const presentOnly = (environment: NodeJS.ProcessEnv): Record<string, string> =>
  Object.fromEntries(Object.entries(environment).filter((entry): entry is [string, string] => entry[1] !== undefined && entry[1] !== ''));

const configError = (issues: z.core.$ZodIssue[], path: (issue: z.core.$ZodIssue) => string) =>
  new ConfigError(`invalid configuration:\n${issues.map((issue) => `  ${path(issue)}: ${issue.message}`).join('\n')}`);

export function loadConfig(environment: NodeJS.ProcessEnv = process.env): Config {
  const parsed = envSchema.safeParse(presentOnly(environment));
  if (!parsed.success) throw configError(parsed.error.issues, (issue) => issue.path.join('.'));
  const env = parsed.data;
  const hasHubSpotCredentials = env.HUBSPOT_CLIENT_ID !== undefined && env.HUBSPOT_CLIENT_SECRET !== undefined;
  return {
    temporal: {
      address: env.TEMPORAL_ADDRESS,
      namespace: env.TEMPORAL_NAMESPACE,
      taskQueue: env.TEMPORAL_TASK_QUEUE,
      uiPort: env.TEMPORAL_UI_PORT,
      uiOrigin: (env.TEMPORAL_UI_ORIGIN ?? `http://localhost:${env.TEMPORAL_UI_PORT}`).replace(/\/+$/, ''),
      workerMetricsPort: env.WORKER_METRICS_PORT,
      cliPath: env.TEMPORAL_CLI_PATH,
    },
    databaseUrl: env.DATABASE_URL,
    hubspot: {
      apiBaseUrl: env.HUBSPOT_API_BASE_URL.replace(/\/+$/, ''),
      authorizeUrl: env.HUBSPOT_AUTHORIZE_URL,
      clientId: env.HUBSPOT_CLIENT_ID,
      clientSecret: env.HUBSPOT_CLIENT_SECRET,
      redirectUri: env.HUBSPOT_REDIRECT_URI,
      appId: env.HUBSPOT_APP_ID,
      scopes: env.HUBSPOT_SCOPES,
      tokenVersion: env.HUBSPOT_OAUTH_TOKEN_VERSION,
    },
    rateBudget: { safetyMargin: env.HUBSPOT_RATE_SAFETY_MARGIN },
    tokenEncryptionKeys: env.TOKEN_ENCRYPTION_KEY,
    payloadEncryptionKeys: env.PAYLOAD_ENCRYPTION_KEY,
    api: { port: env.API_PORT, token: env.API_TOKEN },
    webhooks: {
      publicBaseUrl: (env.PUBLIC_BASE_URL ?? `http://localhost:${env.API_PORT}`).replace(/\/+$/, ''),
      signatureVersions: env.HUBSPOT_WEBHOOK_SIGNATURE_VERSIONS,
      developerApiKey: env.HUBSPOT_DEVELOPER_API_KEY,
    },
    engagementSetupOnConnect: env.ENGAGEMENT_SETUP_ON_CONNECT,
    sandbox: { enabled: env.SANDBOX ?? !hasHubSpotCredentials, port: env.SANDBOX_PORT, host: env.SANDBOX_HOST },
    dataDir: env.DATA_DIR,
    logLevel: env.LOG_LEVEL,
  };
}

/**
 * One variable, validated by the same schema, for code that runs without the whole configuration
 * in hand (the embedded Temporal server's finder, also used by the test setup). Other variables'
 * values do not matter here; a bad value of this one throws a ConfigError naming it.
 */
export function loadVariable<K extends keyof Env>(name: K, environment: NodeJS.ProcessEnv = process.env): Env[K] {
  const parsed = envSchema.shape[name].safeParse(presentOnly(environment)[name]);
  if (!parsed.success) throw configError(parsed.error.issues, () => name);
  return parsed.data as Env[K];
}

/** For entry points: a bad configuration prints one message naming every bad variable and exits 1. */
export function loadConfigOrExit(): Config {
  try {
    return loadConfig();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`hubsync: ${error.message}\n`);
    process.exit(1);
  }
}
