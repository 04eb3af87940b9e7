import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  decodeSignedUri,
  signV1,
  signV2,
  signV3,
  verifyV1,
  verifyV2,
  verifyV3,
} from '../../src/hubspot/webhook-signature.js';

// Inputs and digests from HubSpot's "Validating requests" docs (v1 and v2 request signature examples).
const SECRET = 'yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy';
const V1_BODY =
  '[{"eventId":1,"subscriptionId":12345,"portalId":62515,"occurredAt":1564113600000,"subscriptionType":"contact.creation","attemptNumber":0,"objectId":123,"changeSource":"CRM","changeFlag":"NEW","appId":54321}]';
const URI = 'https://www.example.com/webhook_uri';

describe('v1 and v2 signatures', () => {
  it('match the v1 example digest HubSpot publishes', () => {
    expect(signV1(SECRET, V1_BODY)).toBe('232db2615f3d666fe21a8ec971ac7b5402d33b9a925784df3ca654d05f4817de');
    expect(verifyV1({ secret: SECRET, rawBody: Buffer.from(V1_BODY), signature: '232db2615f3d666fe21a8ec971ac7b5402d33b9a925784df3ca654d05f4817de' })).toEqual({ ok: true });
  });

  it('match the v2 example digests HubSpot publishes for a GET without body and a POST with body', () => {
    expect(signV2(SECRET, 'GET', URI, '')).toBe('eee2dddcc73c94d699f5e395f4b9d454a069a6855fbfa152e91e88823087200e');
    expect(signV2(SECRET, 'POST', URI, '{"example_field":"example_value"}')).toBe(
      '9569219f8ba981ffa6f6f16aa0f48637d35d728c7e4d93d0d52efaa512af7900',
    );
  });

  it('reject a tampered body or a missing header', () => {
    const sig = signV1(SECRET, V1_BODY);
    expect(verifyV1({ secret: SECRET, rawBody: V1_BODY.replace('123', '124'), signature: sig })).toEqual({ ok: false, reason: 'bad_signature' });
    expect(verifyV2({ secret: SECRET, method: 'GET', uri: URI + '?x=1', rawBody: '', signature: signV2(SECRET, 'GET', URI, '') })).toEqual({ ok: false, reason: 'bad_signature' });
    expect(verifyV1({ secret: SECRET, rawBody: V1_BODY, signature: undefined })).toEqual({ ok: false, reason: 'missing_signature' });
  });
});

describe('v3 signatures', () => {
  const now = 1_700_000_000_000;
  const body = '[{"eventId":7,"objectId":42}]';
  const independent = (uri: string, ts: number) =>
    createHmac('sha256', SECRET).update(`POST${uri}${body}${ts}`, 'utf8').digest('base64');

  it('equal an HMAC computed independently with node:crypto', () => {
    expect(signV3(SECRET, 'POST', URI, body, now)).toBe(independent(URI, now));
  });

  it('match the v3 vector in the official Python client tests', () => {
    expect(signV3(SECRET, 'POST', URI, "{'example_field':'example_value'}", 15000000)).toBe('HPW73RUtKmcYoEDADG0s6MmGFWUzWJKAW07r8RDgcQw=');
  });

  it('verify a fresh signature', () => {
    const signature = independent(URI, now - 1000);
    expect(verifyV3({ secret: SECRET, method: 'POST', uri: URI, rawBody: body, signature, timestamp: String(now - 1000), now })).toEqual({ ok: true });
  });

  it('reject a timestamp older than five minutes even with a valid signature', () => {
    const ts = now - 5 * 60 * 1000 - 1;
    const r = verifyV3({ secret: SECRET, method: 'POST', uri: URI, rawBody: body, signature: independent(URI, ts), timestamp: ts, now });
    expect(r).toEqual({ ok: false, reason: 'stale_timestamp' });
  });

  it('reject a timestamp more than five minutes in the future', () => {
    const ts = now + 5 * 60 * 1000 + 1;
    const r = verifyV3({ secret: SECRET, method: 'POST', uri: URI, rawBody: body, signature: independent(URI, ts), timestamp: ts, now });
    expect(r).toEqual({ ok: false, reason: 'future_timestamp' });
  });

  it('reject a tampered body, a wrong secret, a changed timestamp and missing headers', () => {
    const signature = independent(URI, now);
    const base = { secret: SECRET, method: 'POST', uri: URI, rawBody: body, signature, timestamp: now, now };
    expect(verifyV3({ ...base, rawBody: body.replace('42', '43') })).toEqual({ ok: false, reason: 'bad_signature' });
    expect(verifyV3({ ...base, secret: 'other' })).toEqual({ ok: false, reason: 'bad_signature' });
    expect(verifyV3({ ...base, timestamp: now - 1 })).toEqual({ ok: false, reason: 'bad_signature' });
    expect(verifyV3({ ...base, signature: undefined })).toEqual({ ok: false, reason: 'missing_signature' });
    expect(verifyV3({ ...base, timestamp: undefined })).toEqual({ ok: false, reason: 'missing_timestamp' });
    expect(verifyV3({ ...base, timestamp: 'yesterday' })).toEqual({ ok: false, reason: 'invalid_timestamp' });
  });

  it('decode only the listed URI escapes before hashing, in one pass', () => {
    expect(decodeSignedUri('https://x.example/a%3a%2F%3F%40%21%24%27%28%29%2A%2C%3B')).toBe("https://x.example/a:/?@!$'()*,;");
    expect(decodeSignedUri('https://x.example/a%20b%26c%3Dd')).toBe('https://x.example/a%20b%26c%3Dd');
    expect(decodeSignedUri('https://x.example/%253A')).toBe('https://x.example/%253A');
    const encoded = 'https://x.example/hook%3Fportal%3D1';
    const signature = independent('https://x.example/hook?portal%3D1', now);
    expect(verifyV3({ secret: SECRET, method: 'POST', uri: encoded, rawBody: body, signature, timestamp: now, now })).toEqual({ ok: true });
  });
});
