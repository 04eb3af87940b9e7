/** HubSpot's plural names of the standard objects hubsync mirrors by default. */
export const STANDARD_OBJECT_TYPES = ['contacts', 'companies', 'deals', 'tickets'] as const;

/** A standard name, or a custom object's fully qualified name (`p12345_cars`) or type id (`2-1234`). */
export const OBJECT_TYPE_PATTERN = /^(contacts|companies|deals|tickets|p\d+_[a-z][a-z0-9_]*|2-\d+)$/;
