/**
 * The OAuth scope that lets an app read each kind of object (HubSpot's scope names). Tickets
 * still use the legacy `tickets` scope; every custom object shares `crm.objects.custom.read`.
 */
const READ_SCOPES: Record<string, string> = {
  contacts: 'crm.objects.contacts.read',
  companies: 'crm.objects.companies.read',
  deals: 'crm.objects.deals.read',
  tickets: 'tickets',
};

export function readScopeFor(objectType: string): string {
  return READ_SCOPES[objectType] ?? 'crm.objects.custom.read';
}

/** `objectType → scope` for each configured type whose read scope was not granted. */
export function missingReadScopes(objectTypes: readonly string[], granted: readonly string[]): Array<{ objectType: string; scope: string }> {
  return objectTypes.map((objectType) => ({ objectType, scope: readScopeFor(objectType) })).filter(({ scope }) => !granted.includes(scope));
}
