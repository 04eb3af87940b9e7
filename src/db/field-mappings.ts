import type { Pool, PoolClient } from 'pg';

type Db = Pool | PoolClient;

export const MAPPED_OBJECT_TYPES = ['contacts', 'companies'] as const;
export type MappedObjectType = (typeof MAPPED_OBJECT_TYPES)[number];

export const MAPPING_DIRECTIONS = ['inbound', 'outbound', 'both'] as const;
export type MappingDirection = (typeof MAPPING_DIRECTIONS)[number];

/**
 * The columns of contacts_view and companies_view (migration 20261124190000), which are the local
 * names a mapping may use. Kept in step with the views by test/integration/field-mapping.test.ts.
 */
export const LOCAL_NAMES: Record<MappedObjectType, readonly string[]> = {
  contacts: ['email', 'first_name', 'last_name', 'company', 'phone', 'job_title', 'city', 'state', 'country'],
  companies: ['name', 'domain', 'industry', 'number_of_employees', 'annual_revenue'],
};

export interface FieldMapping {
  objectType: MappedObjectType;
  localName: string;
  hubspotProperty: string;
  direction: MappingDirection;
}

/** The mapping in force, one entry per local name; `customized` is false where the default applies. */
export async function readFieldMappings(db: Db, connectionId: string): Promise<Array<FieldMapping & { customized: boolean }>> {
  const { rows } = await db.query(
    `select object_type, local_name, hubspot_property, direction, customized from effective_field_mappings where connection_id = $1`,
    [connectionId],
  );
  const mappings = rows.map((row) => ({
    objectType: row.object_type as MappedObjectType,
    localName: row.local_name as string,
    hubspotProperty: row.hubspot_property as string,
    direction: row.direction as MappingDirection,
    customized: row.customized as boolean,
  }));
  // In the views' column order, so a GET reads like the views.
  const rank = (m: FieldMapping) => MAPPED_OBJECT_TYPES.indexOf(m.objectType) * 100 + LOCAL_NAMES[m.objectType].indexOf(m.localName);
  return mappings.sort((a, b) => rank(a) - rank(b));
}

/**
 * The connection's rows become exactly `mappings`; local names left out go back to their defaults.
 * Call inside a transaction: the connection row's lock makes two concurrent replacements take turns
 * (each would otherwise insert over the other's rows).
 */
export async function replaceFieldMappings(db: PoolClient, connectionId: string, mappings: FieldMapping[]): Promise<void> {
  await db.query(`select 1 from connections where id = $1 for update`, [connectionId]);
  await db.query(`delete from field_mappings where connection_id = $1`, [connectionId]);
  if (mappings.length === 0) return;
  await db.query(
    `insert into field_mappings (connection_id, object_type, local_name, hubspot_property, direction)
     select $1, m."objectType", m."localName", m."hubspotProperty", m.direction
       from jsonb_to_recordset($2::jsonb) as m("objectType" text, "localName" text, "hubspotProperty" text, direction text)`,
    [connectionId, JSON.stringify(mappings)],
  );
}
