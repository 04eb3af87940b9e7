// One list of HubSpot failure types and one classification (HUBSPOT.md §5–6, issue 5): every
// HubSpot call in an activity ends in `throw toApplicationFailure(error)`, so Temporal's retry
// policies, not the HTTP client, decide when to try again. Messages and details carry HubSpot's
// message and correlation id only: never the original error (an ApiException's message embeds
// the whole response) and never anything that looks like a credential (promise 1).
import { ApplicationFailure } from '@temporalio/common';
import { RateBudgetTimeoutError, type RatePolicy } from './rate-budget.js';

export const HUBSPOT_ERROR_TYPES = {
  RateLimited: 'HubSpotRateLimited',
  DailyLimit: 'HubSpotDailyLimit',
  Locked: 'HubSpotLocked',
  Migrating: 'HubSpotMigrating',
  ServerError: 'HubSpotServerError',
  Network: 'HubSpotNetworkError',
  MalformedResponse: 'HubSpotMalformedResponse',
  TokenExpired: 'HubSpotTokenExpired',
  InvalidToken: 'HubSpotInvalidToken',
  MissingScopes: 'HubSpotMissingScopes',
  Validation: 'HubSpotValidation',
  NotFound: 'HubSpotNotFound',
  Conflict: 'HubSpotConflict',
  /** Our own shared budget had no permit in time (no request was sent): retry when it will. */
  BudgetExhausted: 'HubSpotBudgetExhausted',
  /** Any other 4xx: retrying the same request cannot succeed. */
  ClientError: 'HubSpotClientError',
  /** Not recognisably a HubSpot answer (a bug, a thrown string): retried with the policy's backoff. */
  Unexpected: 'HubSpotUnexpected',
} as const;

export type HubSpotErrorType = (typeof HUBSPOT_ERROR_TYPES)[keyof typeof HUBSPOT_ERROR_TYPES];

const T = HUBSPOT_ERROR_TYPES;

/**
 * For retry policies' `nonRetryableErrorTypes`. A daily 429 is here because the workflow, not the
 * activity, waits for the reset (it pauses the connection until `resetAt`).
 */
export const NON_RETRYABLE_HUBSPOT_ERRORS: string[] = [
  T.DailyLimit,
  T.InvalidToken,
  T.MissingScopes,
  T.Validation,
  T.NotFound,
  T.Conflict,
  T.ClientError,
];

/** `details[0]` of every failure built here: plain JSON, safe for histories and status. */
export interface HubSpotFailureDetails {
  status?: number;
  category?: string;
  correlationId?: string;
  policyName?: string;
  /** DailyLimit: when the portal's daily quota resets (ISO 8601). */
  resetAt?: string;
  /** Conflict: the id HubSpot says already exists ("Contact already exists. Existing ID: N"). */
  existingId?: string;
  /** Network: the system error code (ECONNRESET, ETIMEDOUT, ...). */
  code?: string;
}

export interface HubSpotErrorInfo {
  type: HubSpotErrorType;
  retryable: boolean;
  /** Overrides the retry policy's backoff when HubSpot said how long to wait. */
  retryDelayMs?: number;
  message: string;
  details: HubSpotFailureDetails;
  /** A 429 from HubSpot: hand to RateBudget.recordRejection so every worker backs off, not just this one. */
  rejection?: { policy: RatePolicy; until: Date };
}

export interface ClassifyContext {
  /** Epoch ms; defaults to Date.now(). */
  now?: number;
  /** The portal's IANA time zone, for the daily reset; UTC when unknown. */
  timeZone?: string;
}

const DEFAULT_WINDOW_MS = { TEN_SECONDLY_ROLLING: 10_000, SECONDLY: 1_000 } as const;
/** HubSpot asks for at least 2 s after a 423. */
const LOCKED_MIN_DELAY_MS = 2_000;

const NETWORK_CODES = new Set([
  'ECONNRESET', 'ECONNREFUSED', 'ECONNABORTED', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN',
  'EHOSTUNREACH', 'ENETUNREACH', 'ENETDOWN', 'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CLOSED',
]);

/** What a failed HubSpot call means for retries; the pure half of `toApplicationFailure`. */
export function classifyHubSpotError(error: unknown, context: ClassifyContext = {}): HubSpotErrorInfo {
  if (error instanceof RateBudgetTimeoutError) {
    if (error.policy === 'DAILY') {
      // The wait was measured on the database's clock and arrives a round trip late; the reset
      // it counts down to falls on a whole second (midnight, or a time HubSpot gave in seconds),
      // so rounding to the second gives it back exactly.
      const resetAt = new Date(Math.round(((context.now ?? Date.now()) + error.retryAfterMs) / 1_000) * 1_000).toISOString();
      return { type: T.DailyLimit, retryable: false, message: error.message, details: { policyName: 'DAILY', resetAt } };
    }
    return { type: T.BudgetExhausted, retryable: true, retryDelayMs: error.retryAfterMs, message: error.message, details: { policyName: error.policy } };
  }
  const http = asHttpError(error);
  if (http) return classifyHttp(http.status, parseBody(http.body), lowerCaseKeys(http.headers), context);

  const network = networkCode(error);
  if (network) {
    return {
      type: T.Network,
      retryable: true,
      message: `HubSpot request failed before an answer: ${network}`,
      details: { code: network },
    };
  }
  if (error instanceof SyntaxError || (error as { type?: unknown } | null)?.type === 'invalid-json') {
    return { type: T.MalformedResponse, retryable: true, message: 'HubSpot answered with malformed JSON', details: {} };
  }
  const text = error instanceof Error ? error.message : String(error);
  return { type: T.Unexpected, retryable: true, message: redact(text).slice(0, 500), details: {} };
}

/** The ApplicationFailure an activity throws for a failed HubSpot call. An ApplicationFailure passes through. */
export function toApplicationFailure(error: unknown, context?: ClassifyContext): ApplicationFailure {
  if (error instanceof ApplicationFailure) return error;
  return applicationFailureFor(classifyHubSpotError(error, context));
}

/** For callers that classified first (to record a rejection) and now throw. */
export function applicationFailureFor(info: HubSpotErrorInfo): ApplicationFailure {
  return ApplicationFailure.create({
    type: info.type,
    message: info.message,
    nonRetryable: !info.retryable,
    details: [info.details],
    ...(info.retryDelayMs === undefined ? {} : { nextRetryDelay: info.retryDelayMs }),
  });
}

/** For calls made with `client.apiRequest`, which resolves with non-2xx responses instead of throwing. */
export async function responseFailure(response: Response, context?: ClassifyContext): Promise<ApplicationFailure> {
  const text = await response.text().catch(() => '');
  return toApplicationFailure(
    { code: response.status, body: text, headers: Object.fromEntries(response.headers) },
    context,
  );
}

function classifyHttp(
  status: number,
  body: Record<string, unknown>,
  headers: Record<string, string>,
  context: ClassifyContext,
): HubSpotErrorInfo {
  const category = str(body.category);
  const correlationId = str(body.correlationId) ?? headers['x-hubspot-correlation-id'];
  const policyName = str(body.policyName);
  const details: HubSpotFailureDetails = strip({ status, category, correlationId, policyName });
  const hubspotMessage = redact(str(body.message) ?? '').slice(0, 500);
  const message = `HubSpot ${status}${category ? ` ${category}` : ''}: ${hubspotMessage || 'no message'}${
    correlationId ? ` (correlation id ${correlationId})` : ''
  }`;
  const retryAfterMs = parseRetryAfter(headers['retry-after'], context.now ?? Date.now());
  const info = (type: HubSpotErrorType, retryable: boolean, retryDelayMs?: number): HubSpotErrorInfo =>
    strip({ type, retryable, retryDelayMs, message, details });

  if (status === 429) {
    // HubSpot's 429 body names the policy; `category` is absent (HUBSPOT.md, sharp edge 6).
    const now = context.now ?? Date.now();
    if (policyName === 'DAILY') {
      const resetAt = new Date(nextMidnight(now, context.timeZone ?? 'UTC'));
      details.resetAt = resetAt.toISOString();
      return { ...info(T.DailyLimit, false), rejection: { policy: 'DAILY', until: resetAt } };
    }
    const policy = policyName === 'SECONDLY' ? 'SECONDLY' : 'TEN_SECONDLY_ROLLING';
    const intervalMs = positiveInt(headers['x-hubspot-ratelimit-interval-milliseconds']);
    const delayMs = retryAfterMs ?? intervalMs ?? DEFAULT_WINDOW_MS[policy];
    return { ...info(T.RateLimited, true, delayMs), rejection: { policy, until: new Date(now + delayMs) } };
  }
  if (status === 423) return info(T.Locked, true, Math.max(LOCKED_MIN_DELAY_MS, retryAfterMs ?? 0));
  if (status === 477) return info(T.Migrating, true, retryAfterMs);
  if (status >= 500) return info(T.ServerError, true, retryAfterMs);
  if (status === 401) {
    const expired = category === 'EXPIRED_AUTHENTICATION' || /expired/i.test(hubspotMessage);
    return expired ? info(T.TokenExpired, true) : info(T.InvalidToken, false);
  }
  if (status === 403) return info(T.MissingScopes, false);
  if (status === 400) return info(T.Validation, false);
  if (status === 404) return info(T.NotFound, false);
  if (status === 409) {
    const existingId = /Existing ID:\s*(\d+)/i.exec(hubspotMessage)?.[1];
    if (existingId) details.existingId = existingId;
    return info(T.Conflict, false);
  }
  return info(T.ClientError, false);
}

/** @hubspot/api-client has one ApiException class per generated module, so match on shape. */
function asHttpError(error: unknown): { status: number; body: unknown; headers: unknown } | undefined {
  const e = error as { code?: unknown; body?: unknown; headers?: unknown } | null;
  if (typeof e !== 'object' || e === null) return undefined;
  if (typeof e.code !== 'number' || e.code < 100 || e.code > 599) return undefined;
  return { status: e.code, body: e.body, headers: e.headers };
}

/** A system error code anywhere on the cause chain (undici wraps them in `TypeError: fetch failed`). */
function networkCode(error: unknown): string | undefined {
  for (let e = error as { code?: unknown; name?: unknown; cause?: unknown } | null, depth = 0; e && depth < 5; depth++) {
    if (typeof e !== 'object') return undefined;
    if (typeof e.code === 'string' && NETWORK_CODES.has(e.code)) return e.code;
    if (e.name === 'AbortError' || e.name === 'TimeoutError') return e.name;
    if ((e as { type?: unknown }).type === 'request-timeout') return 'TimeoutError';
    e = e.cause as typeof e;
  }
  return undefined;
}

function parseBody(body: unknown): Record<string, unknown> {
  if (typeof body === 'string') {
    try {
      return parseBody(JSON.parse(body));
    } catch {
      return { message: body };
    }
  }
  return typeof body === 'object' && body !== null ? (body as Record<string, unknown>) : {};
}

function lowerCaseKeys(headers: unknown): Record<string, string> {
  if (typeof headers !== 'object' || headers === null) return {};
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) if (typeof v === 'string') out[k.toLowerCase()] = v;
  return out;
}

/** Retry-After is either seconds or an HTTP date. */
function parseRetryAfter(value: string | undefined, now: number): number | undefined {
  if (value === undefined) return undefined;
  if (/^\s*\d+\s*$/.test(value)) return Number(value) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

function positiveInt(value: string | undefined): number | undefined {
  const n = Number(value);
  return value !== undefined && Number.isInteger(n) && n > 0 ? n : undefined;
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

function strip<O extends object>(o: O): O {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as O;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Blanks anything credential-shaped, should a message ever echo one: bearer tokens, private-app
 * tokens (pat-…), secret query parameters, and any long opaque token (OAuth access and refresh
 * tokens) — but not UUIDs, which is what correlation ids are.
 */
export function redact(text: string): string {
  return text
    .replace(/Bearer\s+[^\s"',]+/gi, 'Bearer [redacted]')
    .replace(/\bpat-[a-z0-9]+-[0-9a-f-]{8,}/gi, '[redacted]')
    .replace(/((?:access_token|refresh_token|client_secret|hapikey|code)=)[^&\s"']+/gi, '$1[redacted]')
    .replace(/[A-Za-z0-9_-]{32,}/g, (m) => (UUID.test(m) ? m : '[redacted]'));
}

const dayFormats = new Map<string, Intl.DateTimeFormat>();

function localDay(ms: number, timeZone: string): string {
  let f = dayFormats.get(timeZone);
  if (!f) dayFormats.set(timeZone, (f = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' })));
  return f.format(ms);
}

/** The next local midnight in `timeZone`, to the minute: hour steps forward, then minute steps back (DST-safe). */
export function nextMidnight(now: number, timeZone: string): number {
  let zone = timeZone;
  try {
    localDay(now, zone);
  } catch {
    zone = 'UTC'; // an unknown zone must not turn a daily pause into a crash
  }
  const today = localDay(now, zone);
  let t = Math.floor(now / 60_000) * 60_000;
  while (localDay(t, zone) === today) t += 3_600_000;
  while (localDay(t - 60_000, zone) !== today) t -= 60_000;
  return t;
}
