import type { Request } from 'express';
import type { WebhookConfig } from '../config.js';
import { MAX_SIGNATURE_AGE_MS, verifyV1, verifyV2, verifyV3, type SignatureCheck, type SignatureFailure } from '../hubspot/webhook-signature.js';
import { HttpError } from './errors.js';

/**
 * Who sent a webhook: HubSpot, if the request carries a valid signature made with the app's
 * client secret (HUBSPOT.md §8). v3 is preferred; v1/v2 carry no timestamp (a captured request
 * replays for ever), so they count only where HUBSPOT_WEBHOOK_SIGNATURE_VERSIONS lists them.
 */

const MAX_AGE_MINUTES = MAX_SIGNATURE_AGE_MS / 60_000;

const PROBLEMS: Record<SignatureFailure, string> = {
  missing_signature: 'missing signature header',
  missing_timestamp: 'missing X-HubSpot-Request-Timestamp header',
  invalid_timestamp: 'X-HubSpot-Request-Timestamp is not a time in milliseconds',
  stale_timestamp: `X-HubSpot-Request-Timestamp is more than ${MAX_AGE_MINUTES} minutes old`,
  future_timestamp: `X-HubSpot-Request-Timestamp is more than ${MAX_AGE_MINUTES} minutes in the future`,
  bad_signature: 'signature does not match (wrong client secret, or PUBLIC_BASE_URL is not the URL HubSpot calls)',
};

export function requireHubSpotSignature(
  req: Request,
  rawBody: Buffer,
  settings: { secret: string; webhooks: WebhookConfig; now: number },
): void {
  const { secret, webhooks, now } = settings;
  const allowed = webhooks.signatureVersions;
  // As HubSpot called it: the public base (the proxy's) and the path and query as received.
  const uri = webhooks.publicBaseUrl + req.originalUrl;
  const v3 = req.get('x-hubspot-signature-v3');
  const legacy = req.get('x-hubspot-signature');
  const legacyVersion = req.get('x-hubspot-signature-version')?.toLowerCase();

  let check: SignatureCheck;
  let header: string;
  if (allowed.includes('v3') && v3 !== undefined) {
    header = 'X-HubSpot-Signature-v3';
    check = verifyV3({ secret, method: req.method, uri, rawBody, signature: v3, timestamp: req.get('x-hubspot-request-timestamp'), now });
  } else if (legacyVersion === 'v2' && allowed.includes('v2')) {
    header = 'X-HubSpot-Signature (v2)';
    check = verifyV2({ secret, method: req.method, uri, rawBody, signature: legacy });
  } else if (legacyVersion === 'v1' && allowed.includes('v1')) {
    header = 'X-HubSpot-Signature (v1)';
    check = verifyV1({ secret, rawBody, signature: legacy });
  } else {
    const accepted = allowed.map((version) => (version === 'v3' ? 'X-HubSpot-Signature-v3' : `X-HubSpot-Signature ${version}`));
    throw new HttpError(401, 'missing_signature', `missing signature: expected ${accepted.join(' or ')}`);
  }
  if (!check.ok) throw new HttpError(401, check.reason, `${header}: ${PROBLEMS[check.reason]}`);
}
