import { createHubSpotClient } from './client.js';

export interface TokenDetails {
  portalId: number;
}

/** HubSpot refused the token; `reason` is HubSpot's own message, safe to show (it never echoes the token). */
export class TokenRejectedError extends Error {
  override name = 'TokenRejectedError';
  constructor(
    readonly status: number,
    readonly reason: string,
  ) {
    super(`HubSpot rejected the access token (${status}): ${reason}`);
  }
}

/**
 * Checks a private-app token or service key against HubSpot and learns its portal id from the
 * account details, the one endpoint every such token may read.
 */
export async function checkAccessToken(baseUrl: string, accessToken: string): Promise<TokenDetails> {
  const client = createHubSpotClient(baseUrl, accessToken);
  const response = await client.apiRequest({ method: 'GET', path: '/account-info/v3/details' });
  const body = (await response.json().catch(() => ({}))) as { portalId?: unknown; message?: unknown };
  if (response.status === 401 || response.status === 403) {
    throw new TokenRejectedError(response.status, typeof body.message === 'string' ? body.message : 'unauthorized');
  }
  if (!response.ok || typeof body.portalId !== 'number') {
    throw new Error(`HubSpot account details answered ${response.status}`);
  }
  return { portalId: body.portalId };
}
