import type { ErrorRequestHandler, RequestHandler } from 'express';
import type { Logger } from 'pino';
import type { z } from 'zod';

/** An error with its HTTP answer: `{ error: { code, message } }`. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export const notFound = (what: string): HttpError => new HttpError(404, 'not_found', what);

/** Validates with zod; a 400 names every bad field (`objectTypes.1: ...`). */
export function parseInput<T extends z.ZodType>(schema: T, input: unknown, code = 'invalid_request'): z.infer<T> {
  const parsed = schema.safeParse(input);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((issue) =>
    issue.path.length ? `${issue.path.join('.')}: ${issue.message}` : issue.message,
  );
  throw new HttpError(400, code, problems.join('; '));
}

export const unknownRoute: RequestHandler = (req, _res, next) => {
  next(new HttpError(404, 'not_found', `no route ${req.method} ${req.path}`));
};

/** Body-parser errors carry a `type`; map them to clear 4xx answers. Anything else is a 500 that names no detail. */
export function errorHandler(log: Logger): ErrorRequestHandler {
  return (error, req, res, _next) => {
    let http: HttpError;
    if (error instanceof HttpError) http = error;
    else if (error?.type === 'entity.parse.failed') http = new HttpError(400, 'invalid_json', 'the request body is not valid JSON');
    else if (error?.type === 'entity.too.large') http = new HttpError(413, 'payload_too_large', `the request body is larger than ${error.limit} bytes`);
    else if (error?.type === 'charset.unsupported' || error?.type === 'encoding.unsupported') http = new HttpError(415, 'unsupported_encoding', String(error.message));
    else {
      log.error({ err: error, method: req.method, path: req.path }, 'request failed');
      http = new HttpError(500, 'internal', 'internal error');
    }
    res.status(http.status).json({ error: { code: http.code, message: http.message } });
  };
}
