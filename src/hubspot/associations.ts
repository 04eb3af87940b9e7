/**
 * Which associations are mirrored, each stored once in the direction listed (from → to):
 * contact↔company, deal↔contact, deal↔company, ticket↔contact, ticket↔company.
 */
export const MIRRORED_ASSOCIATIONS: Readonly<Record<string, readonly string[]>> = {
  contacts: ['companies'],
  deals: ['contacts', 'companies'],
  tickets: ['contacts', 'companies'],
};

export function associatedTypes(objectType: string): readonly string[] {
  return MIRRORED_ASSOCIATIONS[objectType] ?? [];
}

/** The types that mirror their associations to `objectType` (the other end of each edge). */
export function typesAssociatedTo(objectType: string): string[] {
  return Object.entries(MIRRORED_ASSOCIATIONS)
    .filter(([, toTypes]) => toTypes.includes(objectType))
    .map(([fromType]) => fromType);
}
