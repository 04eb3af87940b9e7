import { ApiException } from '@hubspot/api-client/lib/codegen/oauth/apis/exception.js';
import { ApplicationFailure } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import {
  HUBSPOT_ERROR_TYPES as T,
  NON_RETRYABLE_HUBSPOT_ERRORS,
  type HubSpotFailureDetails,
  classifyHubSpotError,
  nextMidnight,
  responseFailure,
  toApplicationFailure,
} from '../../src/hubspot/errors.js';
import { RateBudgetTimeoutError } from '../../src/hubspot/rate-budget.js';

const TOKEN = 'pat-na1-0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0';
const OAUTH_TOKEN = 'CKDf1oWxMhICAQEYs-gDIIGOBii1hQ4yGQAf3xBKmlwHjX7OIpuIFEavB2-qYAGQsF4';
const NOW = Date.parse('2026-11-24T15:30:00Z');
const CID = '3c9a3f0e-0d4b-4cb1-9b7a-8f0a0c7a1e22';

/** An ApiException as @hubspot/api-client 14 throws it: its own message embeds body and headers. */
function apiError(code: number, body: unknown, headers: Record<string, string> = {}) {
  return new ApiException(code, 'HTTP error', body, {
    'x-hubspot-correlation-id': CID,
    // Not something HubSpot sends back, but the client's message would carry it if it did.
    'x-echo-authorization': `Bearer ${TOKEN}`,
    ...headers,
  });
}

function details(failure: ApplicationFailure): HubSpotFailureDetails {
  return failure.details?.[0] as HubSpotFailureDetails;
}

/** Promise 1: nothing a history, log or status shows may carry a token. */
function expectNoSecret(failure: ApplicationFailure): void {
  const shown = JSON.stringify({ message: failure.message, details: failure.details, type: failure.type, cause: failure.cause });
  expect(shown).not.toContain(TOKEN);
  expect(shown).not.toContain(OAUTH_TOKEN);
  expect(shown).not.toMatch(/authorization/i);
  expect(failure.cause).toBeUndefined();
}

describe('toApplicationFailure', () => {
  it('makes a ten-secondly 429 retryable after the interval HubSpot reports', () => {
    const f = toApplicationFailure(
      apiError(
        429,
        { status: 'error', message: 'You have reached your ten_secondly_rolling limit.', errorType: 'RATE_LIMIT', correlationId: CID, policyName: 'TEN_SECONDLY_ROLLING' },
        { 'x-hubspot-ratelimit-interval-milliseconds': '10000', 'x-hubspot-ratelimit-max': '100', 'x-hubspot-ratelimit-remaining': '0' },
      ),
      { now: NOW },
    );
    expect(f.type).toBe(T.RateLimited);
    expect(f.nonRetryable).toBe(false);
    expect(f.nextRetryDelay).toBe(10_000);
    expect(f.message).toContain('ten_secondly_rolling limit');
    expect(f.message).toContain(CID);
    expectNoSecret(f);
  });

  it('tells the caller which budget to block, and until when, for every 429', () => {
    const ten = classifyHubSpotError(apiError(429, { policyName: 'TEN_SECONDLY_ROLLING' }, { 'x-hubspot-ratelimit-interval-milliseconds': '10000' }), { now: NOW });
    expect(ten.rejection).toEqual({ policy: 'TEN_SECONDLY_ROLLING', until: new Date(NOW + 10_000) });
    const daily = classifyHubSpotError(apiError(429, { policyName: 'DAILY' }), { now: NOW });
    expect(daily.rejection).toEqual({ policy: 'DAILY', until: new Date('2026-11-25T00:00:00Z') });
    expect(classifyHubSpotError(apiError(500, {})).rejection).toBeUndefined();
  });

  it('prefers Retry-After over the interval, and falls back to one second for a search 429 without headers', () => {
    const withRetryAfter = toApplicationFailure(
      apiError(429, { policyName: 'TEN_SECONDLY_ROLLING', errorType: 'RATE_LIMIT', message: 'limit' }, { 'retry-after': '3', 'x-hubspot-ratelimit-interval-milliseconds': '10000' }),
    );
    expect(withRetryAfter.nextRetryDelay).toBe(3_000);
    const search = toApplicationFailure(new ApiException(429, 'x', JSON.stringify({ policyName: 'SECONDLY', errorType: 'RATE_LIMIT', message: 'secondly' }), {}));
    expect(search.type).toBe(T.RateLimited);
    expect(search.nextRetryDelay).toBe(1_000);
  });

  it('makes a DAILY 429 a non-retryable DailyLimit that says when the portal resets', () => {
    const body = { status: 'error', message: 'You have reached your daily limit.', errorType: 'RATE_LIMIT', correlationId: CID, policyName: 'DAILY' };
    const utc = toApplicationFailure(apiError(429, body), { now: NOW });
    expect(utc.type).toBe(T.DailyLimit);
    expect(utc.nonRetryable).toBe(true);
    expect(NON_RETRYABLE_HUBSPOT_ERRORS).toContain(T.DailyLimit);
    expect(details(utc)).toMatchObject({ status: 429, policyName: 'DAILY', correlationId: CID, resetAt: '2026-11-25T00:00:00.000Z' });
    // New York is UTC-5 in November: its midnight is 05:00Z the next day.
    const ny = toApplicationFailure(apiError(429, body), { now: NOW, timeZone: 'America/New_York' });
    expect(details(ny).resetAt).toBe('2026-11-25T05:00:00.000Z');
    expectNoSecret(ny);
  });

  it('waits at least two seconds after a 423, longer when Retry-After asks', () => {
    const f = toApplicationFailure(apiError(423, { message: 'The resource is locked', category: 'LOCKED' }));
    expect([f.type, f.nonRetryable, f.nextRetryDelay]).toEqual([T.Locked, false, 2_000]);
    expect(toApplicationFailure(apiError(423, {}, { 'retry-after': '5' })).nextRetryDelay).toBe(5_000);
    expectNoSecret(f);
  });

  it('honours Retry-After on a 477 migration', () => {
    const f = toApplicationFailure(apiError(477, { message: 'This account is being migrated', category: 'MIGRATION_IN_PROGRESS' }, { 'retry-after': '10' }));
    expect([f.type, f.nonRetryable, f.nextRetryDelay]).toEqual([T.Migrating, false, 10_000]);
    expectNoSecret(f);
  });

  it.each([500, 502, 503, 504, 521])('retries a %i with the policy backoff', (status) => {
    const f = toApplicationFailure(apiError(status, 'upstream timed out'));
    expect([f.type, f.nonRetryable, f.nextRetryDelay]).toEqual([T.ServerError, false, undefined]);
    expect(f.message).toContain('upstream timed out');
    expectNoSecret(f);
  });

  it.each([
    ['ECONNRESET', Object.assign(new Error(`request to https://api.hubapi.com/x?hapikey=${TOKEN} failed`), { code: 'ECONNRESET' })],
    ['ECONNREFUSED', new TypeError('fetch failed', { cause: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }) })],
    ['ETIMEDOUT', Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' })],
    ['AbortError', Object.assign(new Error('The operation was aborted'), { name: 'AbortError' })],
    ['TimeoutError', new DOMException('The operation timed out', 'TimeoutError')],
  ])('retries a network error (%s) without echoing the request', (code, error) => {
    const f = toApplicationFailure(error);
    expect([f.type, f.nonRetryable]).toEqual([T.Network, false]);
    expect(details(f).code).toBe(code);
    expect(f.message).not.toContain('hapikey');
    expectNoSecret(f);
  });

  it('retries a truncated JSON answer', () => {
    const f = toApplicationFailure(new SyntaxError('Unexpected end of JSON input'));
    expect([f.type, f.nonRetryable]).toEqual([T.MalformedResponse, false]);
  });

  it('makes an expired OAuth token retryable (after a refresh)', () => {
    const f = toApplicationFailure(
      apiError(401, { status: 'error', message: 'The OAuth token used to make this call expired 12 second(s) ago.', correlationId: CID, category: 'EXPIRED_AUTHENTICATION' }),
    );
    expect([f.type, f.nonRetryable]).toEqual([T.TokenExpired, false]);
    expect(NON_RETRYABLE_HUBSPOT_ERRORS).not.toContain(T.TokenExpired);
    expect(f.message).toContain('expired 12 second(s) ago');
    expectNoSecret(f);
  });

  it('makes an invalid token non-retryable, with HubSpot message and correlation id but no token', () => {
    const f = toApplicationFailure(
      apiError(401, { status: 'error', message: `Authentication credentials not found for Bearer ${OAUTH_TOKEN}`, correlationId: CID, category: 'INVALID_AUTHENTICATION' }),
    );
    expect([f.type, f.nonRetryable]).toEqual([T.InvalidToken, true]);
    expect(f.message).toContain('Authentication credentials not found');
    expect(f.message).toContain(CID);
    expectNoSecret(f);
  });

  it('makes missing scopes non-retryable', () => {
    const f = toApplicationFailure(apiError(403, { message: 'This app hasn\'t been granted all required scopes', category: 'MISSING_SCOPES' }));
    expect([f.type, f.nonRetryable]).toEqual([T.MissingScopes, true]);
    expect(details(f).category).toBe('MISSING_SCOPES');
    expectNoSecret(f);
  });

  it('makes a validation error non-retryable', () => {
    const f = toApplicationFailure(apiError(400, { message: 'Property values were not valid', category: 'VALIDATION_ERROR', correlationId: CID }));
    expect([f.type, f.nonRetryable]).toEqual([T.Validation, true]);
    expect(f.message).toBe(`HubSpot 400 VALIDATION_ERROR: Property values were not valid (correlation id ${CID})`);
  });

  it('makes not-found, conflict (with the existing id) and other 4xx non-retryable', () => {
    const notFound = toApplicationFailure(apiError(404, { message: 'Object not found', category: 'OBJECT_NOT_FOUND' }));
    expect([notFound.type, notFound.nonRetryable]).toEqual([T.NotFound, true]);
    const conflict = toApplicationFailure(apiError(409, { message: 'Contact already exists. Existing ID: 1234', category: 'CONFLICT' }));
    expect([conflict.type, conflict.nonRetryable, details(conflict).existingId]).toEqual([T.Conflict, true, '1234']);
    const other = toApplicationFailure(apiError(414, 'URI too long'));
    expect([other.type, other.nonRetryable]).toEqual([T.ClientError, true]);
  });

  it('lists exactly the non-retryable types in NON_RETRYABLE_HUBSPOT_ERRORS', () => {
    const samples = [400, 401, 403, 404, 409, 413, 423, 429, 477, 500].map((code) => toApplicationFailure(apiError(code, { message: 'm' })));
    for (const f of samples) expect(NON_RETRYABLE_HUBSPOT_ERRORS.includes(f.type!)).toBe(f.nonRetryable);
  });

  it('redacts a token from an unexpected error and passes ApplicationFailures through', () => {
    const f = toApplicationFailure(new Error(`boom with ${OAUTH_TOKEN} and Bearer ${TOKEN}`));
    expect([f.type, f.nonRetryable]).toEqual([T.Unexpected, false]);
    expect(f.message).toContain('boom');
    expectNoSecret(f);
    const own = ApplicationFailure.nonRetryable('mine', 'Mine');
    expect(toApplicationFailure(own)).toBe(own);
  });

  it('retries when the shared budget had no permit in time, and pauses on our own daily count', () => {
    const wait = toApplicationFailure(new RateBudgetTimeoutError('TEN_SECONDLY_ROLLING', 1_234));
    expect([wait.type, wait.nonRetryable, wait.nextRetryDelay]).toEqual([T.BudgetExhausted, false, 1_234]);
    // The wait left the database a few milliseconds ago: the reset is still midnight, exactly.
    const midnight = Date.parse('2026-11-25T00:00:00.000Z');
    const daily = toApplicationFailure(new RateBudgetTimeoutError('DAILY', midnight - NOW + 3), { now: NOW });
    expect([daily.type, daily.nonRetryable, details(daily).resetAt]).toEqual([T.DailyLimit, true, '2026-11-25T00:00:00.000Z']);
  });

  it('classifies a raw fetch Response from client.apiRequest', async () => {
    const response = new Response(JSON.stringify({ message: 'You have reached your ten_secondly_rolling limit.', policyName: 'TEN_SECONDLY_ROLLING' }), {
      status: 429,
      headers: { 'X-HubSpot-RateLimit-Interval-Milliseconds': '10000' },
    });
    const f = await responseFailure(response);
    expect([f.type, f.nextRetryDelay]).toEqual([T.RateLimited, 10_000]);
  });
});

describe('nextMidnight', () => {
  it('finds local midnight across a DST change and falls back to UTC for an unknown zone', () => {
    // Europe/Berlin leaves summer time on 2026-10-25 at 03:00 local.
    expect(new Date(nextMidnight(Date.parse('2026-10-25T12:00:00Z'), 'Europe/Berlin')).toISOString()).toBe('2026-10-25T23:00:00.000Z');
    expect(new Date(nextMidnight(NOW, 'Not/AZone')).toISOString()).toBe('2026-11-25T00:00:00.000Z');
  });
});
