import { z } from 'zod';
import pkg from '../../package.json' with { type: 'json' };
import { ROUTES, type Auth, type RouteContract } from './contracts.js';

/** The OpenAPI 3.1 document of the HTTP API, built from the route contracts (GET /openapi.json). */

type JsonSchema = Record<string, unknown>;

/** The one error shape every route answers with (errors.ts). */
export const errorEnvelope = z.object({ error: z.object({ code: z.string(), message: z.string() }) });

const ERROR_RESPONSE = { $ref: '#/components/responses/Error' };

/** Routes not behind the operator token say how they authenticate instead. */
const AUTH_NOTES: Record<Exclude<Auth, 'operator'>, string> = {
  public: 'No authentication.',
  'hubspot-signature': "Authenticated by HubSpot's X-HubSpot-Signature-v3 (or v1/v2) over the raw body, not the operator token.",
  'oauth-state': 'Authenticated by the single-use state and the install cookie set by /oauth/install, not the operator token.',
};

/**
 * JSON Schema 2020-12, the dialect OpenAPI 3.1 uses. Requests describe what the route accepts
 * (before coercion and transforms), responses what it sends. Refinements such as "no repeated
 * object type" have no JSON Schema form and are left to the route's 400.
 */
function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): JsonSchema {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: 'any' });
  return rest;
}

function parameters(route: RouteContract): JsonSchema[] {
  const inPath = [...route.path.matchAll(/:(\w+)/g)].map(([, name]) => ({ name, in: 'path', required: true, schema: { type: 'string', format: 'uuid' } }));
  if (!route.query) return inPath;
  const query = jsonSchema(route.query, 'input') as { properties?: Record<string, JsonSchema>; required?: string[] };
  const inQuery = Object.entries(query.properties ?? {}).map(([name, schema]) => ({ name, in: 'query', required: query.required?.includes(name) ?? false, schema }));
  return [...inPath, ...inQuery];
}

function requestBody(body: z.ZodType): JsonSchema {
  // The routes read a missing body as `{}`: where `{}` is valid, the body may be left out.
  return { required: !body.safeParse({}).success, content: { 'application/json': { schema: jsonSchema(body, 'input') } } };
}

/** `post /connections/:id/test` → `postConnectionsIdTest`. */
const operationId = (route: RouteContract): string =>
  route.method + route.path.split(/[^a-zA-Z0-9]+/).filter(Boolean).map((word) => word[0]!.toUpperCase() + word.slice(1)).join('');

function operation(route: RouteContract): JsonSchema {
  const { success } = route;
  const content = { [success.contentType ?? 'application/json']: success.schema ? { schema: jsonSchema(success.schema, 'output') } : {} };
  const responses: Record<string, unknown> = { [success.status]: { description: success.description, ...(success.status === 302 ? {} : { content }) } };
  for (const status of [...route.errors, 500]) responses[status] = ERROR_RESPONSE;
  return {
    operationId: operationId(route),
    summary: route.summary,
    ...(route.auth === 'operator' ? { security: [{ operatorToken: [] }] } : { security: [], description: AUTH_NOTES[route.auth] }),
    parameters: parameters(route),
    ...(route.body ? { requestBody: requestBody(route.body) } : {}),
    responses,
  };
}

export function openApiDocument(routes: RouteContract[] = ROUTES): JsonSchema {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routes) (paths[route.path.replace(/:(\w+)/g, '{$1}')] ??= {})[route.method] = operation(route);
  return {
    openapi: '3.1.0',
    info: { title: 'hubsync', version: pkg.version, description: pkg.description },
    paths,
    components: {
      schemas: { Error: jsonSchema(errorEnvelope, 'output') },
      responses: { Error: { description: 'The error envelope: a stable code and a message naming the problem', content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } } },
      securitySchemes: { operatorToken: { type: 'http', scheme: 'bearer', description: 'API_TOKEN' } },
    },
  };
}
