import { Router } from 'express';
import { openApiDocument } from '../openapi.js';

/** `GET /openapi.json`, without auth: it describes the routes, not their data. Built once, at start. */
export function openApiRoutes(): Router {
  const document = openApiDocument();
  const router = Router();
  router.get('/openapi.json', (_req, res) => {
    res.json(document);
  });
  return router;
}
