// The OAuth install as a browser does it: /oauth/install → the simulator's authorize page →
// /oauth/callback, following redirects and the cookie by hand.
import { expect } from 'vitest';
import type { Stack } from './stack.js';

const COOKIE = 'hubsync_oauth_nonce';

export interface Install {
  /** Where the simulator's consent page sends the browser back to. */
  callbackUrl: string;
  /** The `name=value` pair to send back. */
  cookie: string;
  setCookie: string;
  authorizeUrl: URL;
}

/** /oauth/install, then the simulator's authorize page; stops before the callback. */
export async function install(stack: Stack, query: string): Promise<Install> {
  const started = await fetch(`${stack.apiUrl}/oauth/install${query}`, { redirect: 'manual' });
  expect(started.status).toBe(302);
  const setCookie = started.headers.getSetCookie().find((c) => c.startsWith(`${COOKIE}=`));
  expect(setCookie).toBeDefined();
  const authorizeUrl = new URL(started.headers.get('location')!);
  const consent = await fetch(authorizeUrl, { redirect: 'manual' });
  expect(consent.status).toBe(302);
  return { callbackUrl: consent.headers.get('location')!, cookie: setCookie!.split(';')[0]!, setCookie: setCookie!, authorizeUrl };
}

export function callback(url: string, cookie?: string): Promise<Response> {
  return fetch(url, { redirect: 'manual', headers: cookie ? { cookie } : {} });
}


/** A whole install for a portal; returns the callback's answer. */
export async function installConnection(stack: Stack, portalId: number, extraQuery = ''): Promise<Response> {
  const { callbackUrl, cookie } = await install(stack, `?portalId=${portalId}${extraQuery}`);
  return callback(callbackUrl, cookie);
}
