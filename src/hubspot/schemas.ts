import { createHubSpotClient } from './client.js';
import { STANDARD_OBJECT_TYPES } from './object-types.js';

export interface CustomObjectTypes {
  /** Configured custom types the portal does not have. */
  unknown: string[];
  /** HubSpot's type id (`2-1234`) of each custom type configured by its fully qualified name: webhook events name the id. */
  typeIds: Record<string, string>;
}

/**
 * Looks the custom object types among `objectTypes` up through the schemas API, so a typo is
 * refused when the connection is made instead of failing every sync.
 */
export async function resolveCustomObjectTypes(baseUrl: string, accessToken: string, objectTypes: readonly string[]): Promise<CustomObjectTypes> {
  const client = createHubSpotClient(baseUrl, accessToken);
  const custom = objectTypes.filter((type) => !(STANDARD_OBJECT_TYPES as readonly string[]).includes(type));
  const resolved: CustomObjectTypes = { unknown: [], typeIds: {} };
  for (const type of custom) {
    try {
      const schema = await client.crm.schemas.coreApi.getById(type);
      if (schema.objectTypeId && schema.objectTypeId !== type) resolved.typeIds[schema.objectTypeId] = type;
    } catch (error) {
      // HubSpot answers an unknown type with 404, or 400 "Unable to infer object type".
      const code = (error as { code?: number }).code;
      if (code === 404 || code === 400) resolved.unknown.push(type);
      else throw error;
    }
  }
  return resolved;
}
