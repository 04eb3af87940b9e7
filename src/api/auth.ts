import { timingSafeEqual } from 'node:crypto';
import type { RequestHandler } from 'express';
import { HttpError } from './errors.js';

const LOOPBACK = new Set(['127.0.0.1', '::1', '::ffff:127.0.0.1']);

function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * Management routes need `Authorization: Bearer $API_TOKEN`. Without API_TOKEN they answer 401,
 * except to loopback clients of a sandbox (the no-credentials demo on a laptop).
 */
export function requireOperator(apiToken: string | undefined, sandbox: boolean): RequestHandler {
  return (req, _res, next) => {
    if (apiToken === undefined) {
      if (sandbox && LOOPBACK.has(req.socket.remoteAddress ?? '')) return next();
      return next(new HttpError(401, 'unauthorized', 'API_TOKEN is not configured: management routes are closed'));
    }
    const header = req.get('authorization') ?? '';
    const match = /^Bearer (.+)$/i.exec(header);
    if (!match?.[1] || !sameSecret(match[1], apiToken)) {
      return next(new HttpError(401, 'unauthorized', 'expected Authorization: Bearer <API_TOKEN>'));
    }
    next();
  };
}
