import type { Request } from 'express';
import type { Pool } from 'pg';
import { z } from 'zod';
import { getConnection, type ConnectionRow } from '../db/connections.js';
import { notFound } from './errors.js';

/** The connection named by `:id`, or a 404 (an id that is not a UUID names no connection either). */
export async function findConnection(pool: Pool, req: Request): Promise<ConnectionRow> {
  const id = String(req.params.id);
  const connection = z.uuid().safeParse(id).success ? await getConnection(pool, id) : undefined;
  if (!connection) throw notFound(`no connection with id ${id}`);
  return connection;
}
