// HubSpot webhook signatures (HUBSPOT.md §8). The simulator signs with these functions and
// hubsync's webhook route verifies with them, so both sides agree by construction; the unit
// test pins them to HubSpot's published vectors and to an independent HMAC.
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

export const MAX_SIGNATURE_AGE_MS = 5 * 60 * 1000;

export type SignatureFailure =
  | 'missing_signature'
  | 'missing_timestamp'
  | 'invalid_timestamp'
  | 'stale_timestamp'
  | 'future_timestamp'
  | 'bad_signature';

export type SignatureCheck = { ok: true } | { ok: false; reason: SignatureFailure };

type Body = string | Buffer;

/** v1: hex(sha256(clientSecret + rawBody)). */
export function signV1(secret: string, rawBody: Body): string {
  return createHash('sha256').update(secret).update(rawBody).digest('hex');
}

/** v2: hex(sha256(clientSecret + METHOD + fullUri + rawBody)); the URI exactly as HubSpot called it. */
export function signV2(secret: string, method: string, uri: string, rawBody: Body): string {
  return createHash('sha256').update(secret + method.toUpperCase() + uri).update(rawBody).digest('hex');
}

/** v3: base64(hmacSha256(clientSecret, METHOD + decodedUri + rawBody + timestampMs)). */
export function signV3(secret: string, method: string, uri: string, rawBody: Body, timestampMs: number | string): string {
  return createHmac('sha256', secret)
    .update(method.toUpperCase() + decodeSignedUri(uri))
    .update(rawBody)
    .update(String(timestampMs))
    .digest('base64');
}

// HubSpot's v3 instructions decode exactly these escapes before hashing; anything else
// (e.g. %20, %26) stays encoded. One pass, so `%253A` does not become `:`.
const DECODED_ESCAPES: Record<string, string> = {
  '%3A': ':', '%2F': '/', '%3F': '?', '%40': '@', '%21': '!', '%24': '$',
  '%27': "'", '%28': '(', '%29': ')', '%2A': '*', '%2C': ',', '%3B': ';',
};

export function decodeSignedUri(uri: string): string {
  return uri.replace(/%(3A|2F|3F|40|21|24|27|28|29|2A|2C|3B)/gi, (m) => DECODED_ESCAPES[m.toUpperCase()] ?? m);
}

export interface VerifyV3Input {
  secret: string;
  method: string;
  /** The public URL HubSpot called (protocol, host, path and query), not the internal one. */
  uri: string;
  rawBody: Body;
  /** `X-HubSpot-Signature-v3` header. */
  signature: string | undefined;
  /** `X-HubSpot-Request-Timestamp` header, milliseconds. */
  timestamp: string | number | undefined;
  now: number;
  maxAgeMs?: number;
}

export function verifyV3(input: VerifyV3Input): SignatureCheck {
  const { signature, timestamp, now, maxAgeMs = MAX_SIGNATURE_AGE_MS } = input;
  if (!signature) return { ok: false, reason: 'missing_signature' };
  if (timestamp === undefined || timestamp === '') return { ok: false, reason: 'missing_timestamp' };
  const ts = Number(timestamp);
  if (!Number.isSafeInteger(ts)) return { ok: false, reason: 'invalid_timestamp' };
  if (now - ts > maxAgeMs) return { ok: false, reason: 'stale_timestamp' };
  // HubSpot only bounds the age; a bound on the future too stops a signature minted
  // with a far-future timestamp from being replayable for ever. Allow the same skew.
  if (ts - now > maxAgeMs) return { ok: false, reason: 'future_timestamp' };
  const expected = signV3(input.secret, input.method, input.uri, input.rawBody, timestamp);
  return sameString(expected, signature) ? { ok: true } : { ok: false, reason: 'bad_signature' };
}

export function verifyV1(input: { secret: string; rawBody: Body; signature: string | undefined }): SignatureCheck {
  if (!input.signature) return { ok: false, reason: 'missing_signature' };
  const expected = signV1(input.secret, input.rawBody);
  return sameString(expected, input.signature.toLowerCase()) ? { ok: true } : { ok: false, reason: 'bad_signature' };
}

export function verifyV2(input: {
  secret: string;
  method: string;
  uri: string;
  rawBody: Body;
  signature: string | undefined;
}): SignatureCheck {
  if (!input.signature) return { ok: false, reason: 'missing_signature' };
  const expected = signV2(input.secret, input.method, input.uri, input.rawBody);
  return sameString(expected, input.signature.toLowerCase()) ? { ok: true } : { ok: false, reason: 'bad_signature' };
}

/** Constant-time comparison; comparing digests of both sides keeps the length secret too. */
function sameString(expected: string, actual: string): boolean {
  const a = createHash('sha256').update(expected).digest();
  const b = createHash('sha256').update(actual).digest();
  return timingSafeEqual(a, b);
}
