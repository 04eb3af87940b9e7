import { createHubSpotClient } from './client.js';
import { STANDARD_OBJECT_TYPES } from './object-types.js';

/**
 * The custom object types among `objectTypes` that the portal does not have, looked up through
 * the schemas API, so a typo is refused when the connection is made instead of failing every sync.
 */
export async function unknownCustomObjectTypes(baseUrl: string, accessToken: string, objectTypes: readonly string[]): Promise<string[]> {
  const client = createHubSpotClient(baseUrl, accessToken);
  const custom = objectTypes.filter((type) => !(STANDARD_OBJECT_TYPES as readonly string[]).includes(type));
  const unknown: string[] = [];
  for (const type of custom) {
    try {
      await client.crm.schemas.coreApi.getById(type);
    } catch (error) {
      // HubSpot answers an unknown type with 404, or 400 "Unable to infer object type".
      const code = (error as { code?: number }).code;
      if (code === 404 || code === 400) unknown.push(type);
      else throw error;
    }
  }
  return unknown;
}
