// Object types and property definitions: the standard four, their default and read-only
// properties (HUBSPOT.md §1, §3), and custom types created through the schemas API.
import { validation } from './crm-errors.js';

export type PropertyType = 'bool' | 'date' | 'datetime' | 'enumeration' | 'number' | 'phone_number' | 'string';
export const PROPERTY_TYPES: readonly PropertyType[] = ['bool', 'date', 'datetime', 'enumeration', 'number', 'phone_number', 'string'];

export interface PropertyOption {
  label: string;
  value: string;
  displayOrder: number;
  hidden: boolean;
}

export interface PropertyDef {
  name: string;
  label: string;
  type: PropertyType;
  fieldType: string;
  groupName: string;
  description: string;
  options: PropertyOption[];
  displayOrder: number;
  hasUniqueValue: boolean;
  hidden: boolean;
  formField: boolean;
  hubspotDefined: boolean;
  /** Maintained by the simulator; writes are refused. */
  readOnlyValue: boolean;
  createdAt: number;
  updatedAt: number;
  archived: boolean;
}

export interface PropertyGroup {
  name: string;
  label: string;
  displayOrder: number;
  archived: boolean;
}

export interface ObjectTypeDef {
  objectTypeId: string;
  /** Plural API name (`contacts`) or a custom type's fully qualified name (`p123_cars`). */
  name: string;
  singular: string;
  /** The last-modified property hubsync syncs incrementally on. */
  modifiedProperty: 'lastmodifieddate' | 'hs_lastmodifieddate';
  defaultProperties: string[];
  /** Properties searched by the free-text `query` of the search API. */
  queryProperties: string[];
  properties: Map<string, PropertyDef>;
  groups: Map<string, PropertyGroup>;
  custom?: {
    schemaId: string;
    shortName: string;
    labels: { singular: string; plural: string };
    requiredProperties: string[];
    primaryDisplayProperty: string;
    associatedObjects: string[];
    createdAt: number;
    updatedAt: number;
  };
}

/** Properties the simulator derives from the record itself (ids and timestamps). */
export const DERIVED = new Set(['hs_object_id', 'createdate', 'hs_createdate', 'lastmodifieddate', 'hs_lastmodifieddate']);

type Seed = [name: string, type: PropertyType, fieldType: string, opts?: { options?: string[]; unique?: boolean; readOnly?: boolean }];

const COMMON: Seed[] = [
  ['hs_object_id', 'number', 'number', { readOnly: true }],
  ['createdate', 'datetime', 'date', { readOnly: true }],
  ['hs_createdate', 'datetime', 'date', { readOnly: true }],
  ['hubspot_owner_id', 'enumeration', 'select'],
  ['hs_merged_object_ids', 'enumeration', 'checkbox', { readOnly: true }],
];

const STANDARD: Record<string, { id: string; singular: string; props: Seed[]; defaults: string[]; query: string[] }> = {
  contacts: {
    id: '0-1',
    singular: 'contact',
    defaults: ['firstname', 'lastname', 'email'],
    query: ['firstname', 'lastname', 'email', 'phone', 'company'],
    props: [
      ['email', 'string', 'text', { unique: true }],
      ['firstname', 'string', 'text'],
      ['lastname', 'string', 'text'],
      ['phone', 'string', 'phonenumber'],
      ['company', 'string', 'text'],
      ['jobtitle', 'string', 'text'],
      ['city', 'string', 'text'],
      ['country', 'string', 'text'],
      ['website', 'string', 'text'],
      ['lifecyclestage', 'enumeration', 'radio', { options: ['subscriber', 'lead', 'marketingqualifiedlead', 'salesqualifiedlead', 'opportunity', 'customer', 'evangelist', 'other'] }],
      ['hs_email_optout', 'bool', 'booleancheckbox'],
      ['lastmodifieddate', 'datetime', 'date', { readOnly: true }],
    ],
  },
  companies: {
    id: '0-2',
    singular: 'company',
    defaults: ['name', 'domain'],
    query: ['name', 'domain', 'website', 'phone'],
    props: [
      ['name', 'string', 'text'],
      ['domain', 'string', 'text'],
      ['website', 'string', 'text'],
      ['phone', 'string', 'phonenumber'],
      ['industry', 'enumeration', 'select', { options: ['COMPUTER_SOFTWARE', 'FINANCIAL_SERVICES', 'RETAIL', 'MARKETING_AND_ADVERTISING', 'HOSPITAL_HEALTH_CARE', 'EDUCATION_MANAGEMENT'] }],
      ['city', 'string', 'text'],
      ['country', 'string', 'text'],
      ['numberofemployees', 'number', 'number'],
      ['annualrevenue', 'number', 'number'],
      ['hs_lastmodifieddate', 'datetime', 'date', { readOnly: true }],
    ],
  },
  deals: {
    id: '0-3',
    singular: 'deal',
    defaults: ['dealname', 'amount', 'closedate', 'pipeline', 'dealstage'],
    query: ['dealname'],
    props: [
      ['dealname', 'string', 'text'],
      ['amount', 'number', 'number'],
      ['closedate', 'datetime', 'date'],
      ['pipeline', 'enumeration', 'select'],
      ['dealstage', 'enumeration', 'radio'],
      ['dealtype', 'enumeration', 'radio', { options: ['newbusiness', 'existingbusiness'] }],
      ['description', 'string', 'textarea'],
      ['hs_lastmodifieddate', 'datetime', 'date', { readOnly: true }],
    ],
  },
  tickets: {
    id: '0-5',
    singular: 'ticket',
    defaults: ['content', 'hs_pipeline', 'hs_pipeline_stage', 'hs_ticket_category', 'hs_ticket_priority', 'subject'],
    query: ['subject', 'content'],
    props: [
      ['subject', 'string', 'text'],
      ['content', 'string', 'textarea'],
      ['hs_pipeline', 'enumeration', 'select'],
      ['hs_pipeline_stage', 'enumeration', 'select'],
      ['hs_ticket_category', 'enumeration', 'checkbox', { options: ['PRODUCT_ISSUE', 'BILLING_ISSUE', 'FEATURE_REQUEST', 'GENERAL_INQUIRY'] }],
      ['hs_ticket_priority', 'enumeration', 'select', { options: ['LOW', 'MEDIUM', 'HIGH'] }],
      ['hs_lastmodifieddate', 'datetime', 'date', { readOnly: true }],
    ],
  },
};

export function propertyDef(name: string, type: PropertyType, fieldType: string, now: number, extra: Partial<PropertyDef> = {}): PropertyDef {
  return {
    name,
    label: name.replace(/^hs_/, '').replace(/_/g, ' ').replace(/^\w/, (c) => c.toUpperCase()),
    type,
    fieldType,
    groupName: extra.groupName ?? 'information',
    description: '',
    options: [],
    displayOrder: -1,
    hasUniqueValue: false,
    hidden: false,
    formField: false,
    hubspotDefined: false,
    readOnlyValue: false,
    createdAt: now,
    updatedAt: now,
    archived: false,
    ...extra,
  };
}

function options(values: string[]): PropertyOption[] {
  return values.map((value, i) => ({ label: value.toLowerCase().replace(/_/g, ' '), value, displayOrder: i, hidden: false }));
}

/** Fresh definitions of the four standard types for a new portal. */
export function standardTypes(now: number): ObjectTypeDef[] {
  return Object.entries(STANDARD).map(([name, s]) => {
    const group = `${s.singular}information`;
    const properties = new Map<string, PropertyDef>();
    for (const [pname, type, fieldType, o] of [...COMMON, ...s.props]) {
      properties.set(
        pname,
        propertyDef(pname, type, fieldType, now, {
          groupName: group,
          hubspotDefined: true,
          readOnlyValue: o?.readOnly ?? false,
          hasUniqueValue: o?.unique ?? false,
          options: options(o?.options ?? []),
        }),
      );
    }
    return {
      objectTypeId: s.id,
      name,
      singular: s.singular,
      modifiedProperty: name === 'contacts' ? 'lastmodifieddate' : 'hs_lastmodifieddate',
      defaultProperties: s.defaults,
      queryProperties: s.query,
      properties,
      groups: new Map([[group, { name: group, label: `${s.singular[0]!.toUpperCase()}${s.singular.slice(1)} information`, displayOrder: 0, archived: false }]]),
    };
  });
}

/** A custom type's base definition: the common read-only properties plus hs_lastmodifieddate. */
export function customType(fqn: string, now: number): Pick<ObjectTypeDef, 'properties' | 'groups' | 'modifiedProperty'> {
  const properties = new Map<string, PropertyDef>();
  for (const [pname, type, fieldType, o] of [...COMMON, ['hs_lastmodifieddate', 'datetime', 'date', { readOnly: true }] as Seed]) {
    properties.set(pname, propertyDef(pname, type, fieldType, now, { hubspotDefined: true, readOnlyValue: o?.readOnly ?? false, groupName: `${fqn}_information` }));
  }
  return {
    properties,
    groups: new Map([[`${fqn}_information`, { name: `${fqn}_information`, label: 'Information', displayOrder: 0, archived: false }]]),
    modifiedProperty: 'hs_lastmodifieddate',
  };
}

/** Validates a property write the way HubSpot does: unknown or read-only names → 400. */
export function validateWrite(def: ObjectTypeDef, props: unknown): Record<string, string> {
  if (props === undefined || props === null) return {};
  if (typeof props !== 'object' || Array.isArray(props)) throw validation('Invalid input JSON: properties must be an object');
  const errors: { isValid: false; message: string; error: string; name: string }[] = [];
  const out: Record<string, string> = {};
  for (const [name, raw] of Object.entries(props)) {
    const p = def.properties.get(name);
    if (!p || p.archived) {
      errors.push({ isValid: false, message: `Property "${name}" does not exist`, error: 'PROPERTY_DOESNT_EXIST', name });
      continue;
    }
    if (p.readOnlyValue) {
      errors.push({ isValid: false, message: `"${name}" is a read only property; its value cannot be set.`, error: 'READ_ONLY_VALUE', name });
      continue;
    }
    const value = raw === null ? '' : String(raw);
    if (value !== '' && p.type === 'number' && !Number.isFinite(Number(value))) {
      errors.push({ isValid: false, message: `${value} was not a valid number.`, error: 'INVALID_INTEGER', name });
      continue;
    }
    if (value !== '' && p.type === 'enumeration' && p.options.length > 0 && p.fieldType !== 'checkbox' && !p.options.some((o) => o.value === value)) {
      errors.push({ isValid: false, message: `${value} was not one of the allowed options: ${p.options.map((o) => o.value).join(', ')}`, error: 'INVALID_OPTION', name });
      continue;
    }
    out[name] = value;
  }
  if (errors.length > 0) {
    throw validation(`Property values were not valid: ${JSON.stringify(errors)}`, {
      errors: errors.map((e) => ({ message: e.message, code: e.error, context: { propertyName: [e.name] } })),
    });
  }
  return out;
}

export function publicProperty(p: PropertyDef) {
  return {
    name: p.name,
    label: p.label,
    type: p.type,
    fieldType: p.fieldType,
    description: p.description,
    groupName: p.groupName,
    options: p.options,
    displayOrder: p.displayOrder,
    calculated: false,
    externalOptions: false,
    hasUniqueValue: p.hasUniqueValue,
    hidden: p.hidden,
    hubspotDefined: p.hubspotDefined,
    formField: p.formField,
    modificationMetadata: { archivable: !p.hubspotDefined, readOnlyDefinition: p.hubspotDefined, readOnlyValue: p.readOnlyValue },
    createdAt: new Date(p.createdAt).toISOString(),
    updatedAt: new Date(p.updatedAt).toISOString(),
    archived: p.archived,
  };
}
