// Opt-in scope checks (HUBSPOT.md §6, 403 missing scopes). Off by default, so tests that do not
// care about scopes need not grant them. When on, an OAuth token needs the object type's read or
// write scope for CRM object and association calls. Private-app tokens are not checked: the
// control API creates them without scopes unless told.
import type { RequestHandler } from 'express';
import { HubSpotError, sendError } from './crm-errors.js';
import type { Store } from './store.js';
import type { AuthContext } from './tokens.js';

export interface ScopeSettings {
  enforce: boolean;
}

/** Scopes that grant access, any one of them, by object type id; `2-` is every custom type. */
const SCOPES: Record<string, { read: string[]; write: string[] }> = {
  '0-1': { read: ['crm.objects.contacts.read'], write: ['crm.objects.contacts.write'] },
  '0-2': { read: ['crm.objects.companies.read'], write: ['crm.objects.companies.write'] },
  '0-3': { read: ['crm.objects.deals.read'], write: ['crm.objects.deals.write'] },
  '0-5': { read: ['tickets'], write: ['tickets'] },
  '2-': { read: ['crm.objects.custom.read'], write: ['crm.objects.custom.write'] },
};

/** The object type a call is about: v3 objects, v4 per-record associations and v4 association batches. */
const OBJECT_PATHS = [/^\/crm\/v3\/objects\/([^/]+)/, /^\/crm\/v4\/objects\/([^/]+)\/[^/]+\/associations/, /^\/crm\/v4\/associations\/([^/]+)\/[^/]+\/batch\//];
/** POSTs that only read. */
const READ_POSTS = /\/(search|batch\/read)$/;

const MESSAGE = "This app hasn't been granted all required scopes to make this call. Read more about required scopes here: https://developers.hubspot.com/scopes.";

export function scopeMiddleware(store: Store, settings: ScopeSettings): RequestHandler {
  return (req, res, next) => {
    const auth = res.locals.auth as AuthContext | undefined;
    if (!settings.enforce || auth?.kind !== 'oauth') return next();
    const objectType = OBJECT_PATHS.map((re) => re.exec(req.path)?.[1]).find((t) => t !== undefined);
    const typeId = objectType === undefined ? undefined : store.portals.get(auth.portalId)?.aliases.get(objectType.toLowerCase());
    // Unknown types are the route's to refuse (400).
    const scopes = typeId === undefined ? undefined : (SCOPES[typeId] ?? (typeId.startsWith('2-') ? SCOPES['2-'] : undefined));
    if (!scopes) return next();
    const required = req.method === 'GET' || (req.method === 'POST' && READ_POSTS.test(req.path)) ? scopes.read : scopes.write;
    if (required.some((s) => auth.scopes.includes(s))) return next();
    sendError(
      res,
      new HubSpotError(403, 'MISSING_SCOPES', MESSAGE, {
        errors: [{ message: 'One or more of the following scopes are required.', context: { requiredScopes: required } }],
        links: { scopes: 'https://developers.hubspot.com/scopes' },
      }),
    );
  };
}
