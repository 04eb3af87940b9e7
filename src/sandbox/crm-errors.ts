// HubSpot-shaped errors: `{status:"error", message, correlationId, category, ...}` plus the
// `x-hubspot-correlation-id` header (HUBSPOT.md §6).
import { randomUUID } from 'node:crypto';
import type { ErrorRequestHandler, Response } from 'express';

export type ErrorCategory =
  | 'VALIDATION_ERROR'
  | 'OBJECT_NOT_FOUND'
  | 'CONFLICT'
  | 'INVALID_AUTHENTICATION'
  | 'MISSING_SCOPES'
  | 'RATE_LIMITS';

/** Thrown anywhere below a route; the error handler turns it into HubSpot's body. */
export class HubSpotError extends Error {
  constructor(
    readonly status: number,
    readonly category: ErrorCategory | string,
    message: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

export const validation = (message: string, extra?: Record<string, unknown>) =>
  new HubSpotError(400, 'VALIDATION_ERROR', message, extra);

export const notFound = (message = 'Object not found') => new HubSpotError(404, 'OBJECT_NOT_FOUND', message);

export function sendError(res: Response, err: HubSpotError): void {
  const correlationId = randomUUID();
  res
    .status(err.status)
    .set('x-hubspot-correlation-id', correlationId)
    .json({ status: 'error', message: err.message, correlationId, category: err.category, ...err.extra });
}

/** One entry of a batch response's `errors[]` (HUBSPOT.md §1). */
export function batchError(category: string, message: string, context: Record<string, string[]>, status = 'error') {
  return { status, category, message, context, subCategory: undefined as string | undefined };
}

export const errorHandler: ErrorRequestHandler = (err: unknown, _req, res, next) => {
  if (res.headersSent) return next(err);
  if (err instanceof HubSpotError) return sendError(res, err);
  // express.json() reports unparsable (entity.parse.failed) and oversized bodies as 4xx errors with a `type`.
  const parser = err as { type?: unknown; status?: unknown; message?: unknown };
  if (typeof parser?.type === 'string' && typeof parser.status === 'number' && parser.status >= 400 && parser.status < 500) {
    const message = parser.type === 'entity.parse.failed' ? 'Invalid input JSON: request body is not valid JSON' : String(parser.message);
    return sendError(res, new HubSpotError(parser.status, 'VALIDATION_ERROR', message));
  }
  sendError(res, new HubSpotError(500, 'INTERNAL_ERROR', 'internal error'));
};
