import { Router } from 'express';
import { z } from 'zod';
import { withAccessToken } from '../../activities/tokens.js';
import { writePropertyNames } from '../../db/crm.js';
import {
  LOCAL_NAMES,
  MAPPED_OBJECT_TYPES,
  MAPPING_DIRECTIONS,
  readFieldMappings,
  replaceFieldMappings,
  type MappedObjectType,
} from '../../db/field-mappings.js';
import { inTransaction } from '../../db/transaction.js';
import { createHubSpotClient } from '../../hubspot/client.js';
import { propertyNames } from '../../hubspot/crm.js';
import { classifyHubSpotError } from '../../hubspot/errors.js';
import type { ApiDeps } from '../app.js';
import { findConnection } from '../find-connection.js';
import { HttpError, parseInput } from '../errors.js';

const fieldMapping = z
  .object({
    objectType: z.enum(MAPPED_OBJECT_TYPES),
    localName: z.string().regex(/^[a-z][a-z0-9_]*$/, 'expected a snake_case identifier'),
    // Whether the property exists is the portal's to say, after validation.
    hubspotProperty: z.string().min(1, 'required').max(100),
    direction: z.enum(MAPPING_DIRECTIONS),
  })
  .strict()
  .superRefine((m, ctx) => {
    const names = LOCAL_NAMES[m.objectType];
    if (!names.includes(m.localName)) {
      ctx.addIssue({ code: 'custom', path: ['localName'], message: `${m.localName} is not a column of ${m.objectType}_view (one of ${names.join(', ')})` });
    }
  });

export const fieldMappingBody = z
  .object({
    mappings: z.array(fieldMapping).superRefine((mappings, ctx) => {
      const seen = new Set<string>();
      mappings.forEach((m, i) => {
        const key = `${m.objectType}.${m.localName}`;
        if (seen.has(key)) ctx.addIssue({ code: 'custom', path: [i, 'localName'], message: `${m.localName} is mapped twice for ${m.objectType}` });
        seen.add(key);
      });
    }),
  })
  .strict();

export function fieldMappingRoutes(deps: ApiDeps): Router {
  const { pool } = deps;
  const router = Router();

  /** The portal's property names of each type, read now: a property created a moment ago counts. */
  async function portalProperties(connectionId: string, types: Set<MappedObjectType>): Promise<Map<MappedObjectType, string[]>> {
    try {
      return await withAccessToken(deps, connectionId, async (token) => {
        const client = createHubSpotClient(deps.hubspot.apiBaseUrl, token);
        const known = new Map<MappedObjectType, string[]>();
        for (const type of types) known.set(type, await propertyNames(client, type));
        return known;
      });
    } catch (error) {
      throw new HttpError(502, 'hubspot_error', `could not list the portal's properties: ${classifyHubSpotError(error).message}`);
    }
  }

  /** The mapping in force for every local name, defaults included (`customized: false`). */
  router.get('/connections/:id/field-mapping', async (req, res) => {
    const connection = await findConnection(pool, req);
    res.json({ mappings: await readFieldMappings(pool, connection.id) });
  });

  /**
   * Replaces the connection's mapping with `{ mappings: [{ objectType, localName, hubspotProperty,
   * direction }] }`; local names left out use their defaults. Every HubSpot property must exist in
   * the portal; otherwise a 400 names each unknown one and nothing is written.
   */
  router.put('/connections/:id/field-mapping', async (req, res) => {
    const connection = await findConnection(pool, req);
    const { mappings } = parseInput(fieldMappingBody, req.body);
    if (connection.status === 'stopped') {
      throw new HttpError(409, 'conflict', 'the connection is stopped: without its tokens the portal\'s properties cannot be checked');
    }
    const known = await portalProperties(connection.id, new Set(mappings.map((m) => m.objectType)));
    const unknown = mappings.flatMap((m, i) =>
      known.get(m.objectType)?.includes(m.hubspotProperty) ? [] : [`mappings.${i}.hubspotProperty: unknown HubSpot property ${m.hubspotProperty} on ${m.objectType}`],
    );
    if (unknown.length > 0) throw new HttpError(400, 'unknown_property', unknown.join('; '));
    await inTransaction(pool, async (db) => {
      await replaceFieldMappings(db, connection.id, mappings);
      // The sync caches the property list for an hour; the fresh one makes it read a newly mapped
      // property from its next page on (values of unchanged records arrive with a resync).
      for (const [type, names] of known) await writePropertyNames(db, connection.id, type, names);
    });
    res.json({ mappings: await readFieldMappings(pool, connection.id) });
  });

  return router;
}
