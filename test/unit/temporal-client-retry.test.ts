// The API's Temporal client retries a signal to a workflow that is continuing-as-new (or busy)
// within milliseconds, not after the 1.7 s the SDK waits after any RESOURCE_EXHAUSTED (a 1.4–2 s
// stall of the webhook signals queued behind it), and keeps the SDK's longer back-off for rate limits.
import { defaultGrpcRetryOptions } from '@temporalio/client';
import { describe, expect, it } from 'vitest';
import { initialRetryIntervalMs } from '../../src/temporal/client.js';

// gRPC status codes.
const RESOURCE_EXHAUSTED = 8;
const UNAVAILABLE = 14;
// What the Temporal server answers a signal during continue-as-new, and under lock contention.
const closing = { code: RESOURCE_EXHAUSTED, details: 'workflow operation can not be applied because workflow is closing' };
const busy = { code: RESOURCE_EXHAUSTED, details: 'Workflow is busy.' };
const rateLimited = { code: RESOURCE_EXHAUSTED, details: 'namespace rate limit exceeded' };
const unavailable = { code: UNAVAILABLE, details: 'connection refused' };

describe('Temporal client retries', () => {
  it('retries a closing or busy workflow after tens of milliseconds, other failures as the SDK does', () => {
    const ours = defaultGrpcRetryOptions({ initialIntervalMs: initialRetryIntervalMs });
    const sdk = defaultGrpcRetryOptions();
    // The first retry's delay: base × 1.7, ±20 % jitter.
    const first = (options: typeof sdk, s: typeof busy) => options.delayFunction(1, s as never);
    for (const moment of [closing, busy]) {
      expect(first(sdk, moment)).toBeGreaterThan(1_300);
      expect(first(ours, moment)).toBeLessThan(60);
    }
    expect(first(ours, rateLimited)).toBeGreaterThan(1_300);
    expect(first(ours, unavailable)).toBeGreaterThan(130);
    expect(first(ours, unavailable)).toBeLessThan(210);
  });
});
