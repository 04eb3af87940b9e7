// GET /openapi.json matches the app: every route Express registers is documented with its method
// and nothing else is; the document is structurally OpenAPI 3.1 with every $ref resolving; and a
// body schema read back from the document rejects what the route rejects.
import type { AddressInfo } from 'node:net';
import type { Client } from '@temporalio/client';
import type { Pool } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createApp, type ApiDeps } from '../../src/api/app.js';
import { listen } from '../../src/api/server.js';
import type { TokenCipher } from '../../src/crypto/token-cipher.js';
import type { RateBudget } from '../../src/hubspot/rate-budget.js';
import { createLogger } from '../../src/logger.js';

const OPERATOR_TOKEN = 'unit-operator-token-0123';
const METHODS = ['get', 'post', 'put', 'patch', 'delete'];

/** The app with stubs: these tests read its route table and hit only routes that fail before any I/O. */
const app = createApp({
  pool: {} as Pool,
  temporal: { options: { loadedDataConverter: { payloadCodecs: [] } } } as unknown as Client,
  taskQueue: 'unit',
  cipher: {} as TokenCipher,
  budget: {} as RateBudget,
  // Port 1: a request that passes validation fails to reach HubSpot instead of answering 400.
  hubspot: { apiBaseUrl: 'http://127.0.0.1:1', authorizeUrl: 'http://127.0.0.1:1', clientId: undefined, clientSecret: undefined, redirectUri: undefined, appId: undefined, scopes: '', tokenVersion: 'v3' },
  webhooks: { publicBaseUrl: 'http://127.0.0.1:1', signatureVersions: ['v3'], developerApiKey: undefined },
  apiToken: OPERATOR_TOKEN,
  temporalUiOrigin: 'http://localhost:8233',
  sandbox: false,
  log: createLogger('silent'),
} as ApiDeps);

interface Layer {
  route?: { path: string | string[]; methods: Record<string, boolean> };
  handle?: { stack?: Layer[] };
}

/** `METHOD /path` of every route the app registers, nested routers included (all mounted at /). */
function registeredRoutes(stack: Layer[]): string[] {
  return stack.flatMap((layer) => {
    if (layer.route) {
      const paths = Array.isArray(layer.route.path) ? layer.route.path : [layer.route.path];
      const methods = Object.keys(layer.route.methods).filter((m) => layer.route!.methods[m] && METHODS.includes(m));
      return paths.flatMap((path) => methods.map((method) => `${method.toUpperCase()} ${path}`));
    }
    return layer.handle?.stack ? registeredRoutes(layer.handle.stack) : [];
  });
}

type Doc = { openapi: string; info: { title: string; version: string }; paths: Record<string, Record<string, any>>; components: Record<string, Record<string, unknown>> };

let base: string;
let close: () => Promise<void>;
let doc: Doc;

beforeAll(async () => {
  const http = await listen(app, 0, '127.0.0.1');
  close = http.close;
  base = `http://127.0.0.1:${(http.server.address() as AddressInfo).port}`;
  const response = await fetch(`${base}/openapi.json`);
  expect(response.status).toBe(200);
  doc = (await response.json()) as Doc;
});
afterAll(async () => close?.());

function documentedRoutes(): string[] {
  return Object.entries(doc.paths).flatMap(([path, item]) =>
    Object.keys(item)
      .filter((key) => METHODS.includes(key))
      .map((method) => `${method.toUpperCase()} ${path.replace(/\{(\w+)\}/g, ':$1')}`),
  );
}

/** Every `$ref` in the document, as JSON pointers. */
function refs(value: unknown): string[] {
  if (Array.isArray(value)) return value.flatMap(refs);
  if (value && typeof value === 'object') {
    return Object.entries(value).flatMap(([key, inner]) => (key === '$ref' && typeof inner === 'string' ? [inner] : refs(inner)));
  }
  return [];
}

function resolve(pointer: string): unknown {
  expect(pointer.startsWith('#/')).toBe(true);
  return pointer
    .slice(2)
    .split('/')
    .map((part) => part.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce<unknown>((node, part) => (node && typeof node === 'object' ? (node as Record<string, unknown>)[part] : undefined), doc);
}

describe('GET /openapi.json', () => {
  it('documents exactly the routes the app registers, method by method', () => {
    const registered = registeredRoutes((app as unknown as { router: { stack: Layer[] } }).router.stack);
    expect(registered).toContain('POST /connections/:id/test');
    expect(new Set(registered).size).toBe(registered.length);
    expect(documentedRoutes().sort()).toEqual([...new Set(registered)].sort());
  });

  it('is an OpenAPI 3.1 document whose every $ref resolves', () => {
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.info.title).toBe('hubsync');
    expect(doc.info.version).toMatch(/^\d+\.\d+\.\d+/);
    const found = refs(doc);
    expect(found.length).toBeGreaterThan(0);
    for (const pointer of found) expect(resolve(pointer), pointer).toBeDefined();
    const operationIds: string[] = [];
    for (const [path, item] of Object.entries(doc.paths)) {
      expect(path.startsWith('/')).toBe(true);
      for (const [method, op] of Object.entries(item)) {
        expect(Object.keys(op.responses).length, `${method} ${path}`).toBeGreaterThan(0);
        for (const response of Object.values<Record<string, unknown>>(op.responses)) expect('$ref' in response || 'description' in response).toBe(true);
        // Every templated segment is a declared path parameter, and the other way round.
        const templated = [...path.matchAll(/\{(\w+)\}/g)].map(([, name]) => name);
        const declared = (op.parameters as Array<{ name: string; in: string; required: boolean }>).filter((p) => p.in === 'path');
        expect(declared.map((p) => p.name)).toEqual(templated);
        expect(declared.every((p) => p.required)).toBe(true);
        operationIds.push(op.operationId);
      }
    }
    expect(new Set(operationIds).size).toBe(operationIds.length);
  });

  it('puts the bearer token on management routes and not on the ones with their own authentication', () => {
    expect(doc.components.securitySchemes).toEqual({ operatorToken: { type: 'http', scheme: 'bearer', description: 'API_TOKEN' } });
    expect(doc.paths['/connections/{id}/test']!.post.security).toEqual([{ operatorToken: [] }]);
    expect(doc.paths['/codec/decode']!.post.security).toEqual([{ operatorToken: [] }]);
    for (const [path, method] of [['/webhooks/hubspot', 'post'], ['/oauth/callback', 'get'], ['/openapi.json', 'get'], ['/healthz', 'get']] as const) {
      expect(doc.paths[path]![method].security, path).toEqual([]);
    }
  });

  it('describes the error envelope and the connection test report', () => {
    expect(resolve('#/components/schemas/Error')).toMatchObject({ properties: { error: { properties: { code: { type: 'string' }, message: { type: 'string' } }, required: ['code', 'message'] } } });
    const test = doc.paths['/connections/{id}/test']!.post;
    expect(test.responses['404']).toEqual({ $ref: '#/components/responses/Error' });
    expect(test.responses['200'].content['application/json'].schema.required).toEqual(['connectionId', 'ok', 'checks']);
    const list = doc.paths['/connections']!.get.parameters as Array<{ name: string; in: string }>;
    expect(list.map((p) => `${p.in}:${p.name}`)).toEqual(['query:status', 'query:portalId', 'query:after', 'query:limit']);
  });

  it('has a POST /connections body schema that rejects what the route rejects and accepts what it accepts', async () => {
    // Read back from the document, independent of the zod object the route validates with.
    const documented = z.fromJSONSchema(doc.paths['/connections']!.post.requestBody.content['application/json'].schema);
    const post = (body: unknown) =>
      fetch(`${base}/connections`, { method: 'POST', headers: { authorization: `Bearer ${OPERATOR_TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const rejected = [{}, { accessToken: 'pat-x', colour: 'blue' }, { accessToken: 'pat-x', objectTypes: ['Robots!'] }, { accessToken: 'pat-x', syncIntervalSeconds: 1 }, { accessToken: 'pat-x', tier: 'gold' }];
    for (const body of rejected) {
      expect(documented.safeParse(body).success, JSON.stringify(body)).toBe(false);
      expect((await post(body)).status, JSON.stringify(body)).toBe(400);
    }
    const accepted = { accessToken: 'pat-x', objectTypes: ['contacts', 'p123_cars'], syncIntervalSeconds: 60, tier: 'starter' };
    expect(documented.safeParse(accepted).success).toBe(true);
    // Past validation, the route calls HubSpot (unreachable here): anything but a 400.
    expect((await post(accepted)).status).not.toBe(400);
  });
});
