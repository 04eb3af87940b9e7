// Timeline events v3 and legacy workflow enrolment (HUBSPOT.md §9, §10). Events are kept per
// portal and keyed by (template, id): reusing an id overwrites, which is what makes it an
// idempotency key for hubsync's engagement pushes. Objects are resolved through the store.
import { randomUUID } from 'node:crypto';
import express, { type Request, type Response, type Router } from 'express';
import type { SandboxClock } from './types.js';

/** Looks a CRM object up in a portal by id, or a contact by email; returns its id. */
export type ResolveObject = (portalId: number, objectType: string, idOrEmail: string) => string | undefined;

export interface TemplateToken {
  name: string;
  label: string;
  type: 'date' | 'enumeration' | 'number' | 'string';
  options?: Array<{ value: string; label: string }>;
  objectPropertyName?: string;
}

export interface EventTemplate {
  id: string;
  appId: number;
  name: string;
  objectType: string;
  headerTemplate?: string;
  detailTemplate?: string;
  tokens: TemplateToken[];
  createdAt: string;
  updatedAt: string;
}

export interface TimelineEventRecord {
  id: string;
  portalId: number;
  eventTemplateId: string;
  objectType: string;
  objectId: string;
  email?: string;
  tokens: Record<string, string>;
  extraData?: unknown;
  timestamp: string;
  createdAt: string;
  /** How many times this id was written (1 = never overwritten). */
  writes: number;
}

export const MAX_TEMPLATES_PER_APP = 750;
const MAX_BATCH_INPUTS = 500;

/** A refused write: the HTTP status and the HubSpot error category to answer with. */
export type Failure = { status: number; message: string; category: string };

export class TimelineStore {
  private readonly templates = new Map<string, EventTemplate>();
  private readonly events = new Map<string, TimelineEventRecord>();
  private readonly enrolmentCounts = new Map<string, number>();
  private nextTemplateId = 1_000_001;

  constructor(private readonly clock: SandboxClock) {}

  listTemplates(appId: number): EventTemplate[] {
    return [...this.templates.values()].filter((t) => t.appId === appId);
  }

  getTemplate(id: string): EventTemplate | undefined {
    return this.templates.get(id);
  }

  createTemplate(appId: number, input: Omit<EventTemplate, 'id' | 'appId' | 'createdAt' | 'updatedAt'>): EventTemplate | Failure {
    if (this.listTemplates(appId).length >= MAX_TEMPLATES_PER_APP) {
      return { status: 400, category: 'VALIDATION_ERROR', message: `An app can have at most ${MAX_TEMPLATES_PER_APP} event templates` };
    }
    const now = this.isoNow();
    const template: EventTemplate = { ...input, id: String(this.nextTemplateId++), appId, createdAt: now, updatedAt: now };
    this.templates.set(template.id, template);
    return template;
  }

  updateTemplate(id: string, input: Partial<Pick<EventTemplate, 'name' | 'headerTemplate' | 'detailTemplate' | 'tokens'>>): EventTemplate | undefined {
    const template = this.templates.get(id);
    if (template) Object.assign(template, input, { updatedAt: this.isoNow() });
    return template;
  }

  deleteTemplate(id: string): boolean {
    return this.templates.delete(id);
  }

  /** Every event of a portal (or of all portals), in first-write order. */
  listEvents(portalId?: number): TimelineEventRecord[] {
    return [...this.events.values()].filter((e) => portalId === undefined || e.portalId === portalId);
  }

  getEvent(portalId: number, eventTemplateId: string, id: string): TimelineEventRecord | undefined {
    return this.events.get(eventKey(portalId, eventTemplateId, id));
  }

  /** Validates and stores one event; an existing id under the same template is overwritten. */
  writeEvent(portalId: number, input: unknown, resolve: ResolveObject): TimelineEventRecord | Failure {
    const e = (input ?? {}) as Record<string, unknown>;
    const template = typeof e.eventTemplateId === 'string' ? this.templates.get(e.eventTemplateId) : undefined;
    if (!template) return invalid('eventTemplateId does not name an event template');
    const tokens = (e.tokens ?? {}) as Record<string, unknown>;
    if (typeof tokens !== 'object' || Array.isArray(tokens)) return invalid('tokens must be an object');
    const known = new Set(template.tokens.map((t) => t.name));
    const unknown = Object.keys(tokens).filter((k) => !known.has(k));
    if (unknown.length > 0) return invalid(`Unknown tokens for template ${template.id}: ${unknown.join(', ')}`);

    const email = typeof e.email === 'string' ? e.email : undefined;
    const ref = typeof e.objectId === 'string' || typeof e.objectId === 'number' ? String(e.objectId) : email;
    if (ref === undefined) return invalid('One of objectId or email is required');
    const objectId = resolve(portalId, template.objectType, ref);
    if (objectId === undefined) return { status: 404, category: 'OBJECT_NOT_FOUND', message: `No ${template.objectType} found for ${ref}` };

    const timestamp = e.timestamp === undefined ? this.isoNow() : parseTimestamp(e.timestamp);
    if (timestamp === undefined) return invalid('timestamp must be an ISO 8601 date-time or epoch milliseconds');

    const id = typeof e.id === 'string' && e.id !== '' ? e.id : randomUUID();
    const key = eventKey(portalId, template.id, id);
    const previous = this.events.get(key);
    const record: TimelineEventRecord = {
      id,
      portalId,
      eventTemplateId: template.id,
      objectType: template.objectType,
      objectId,
      tokens: Object.fromEntries(Object.entries(tokens).map(([k, v]) => [k, String(v)])),
      timestamp,
      createdAt: previous?.createdAt ?? this.isoNow(),
      writes: (previous?.writes ?? 0) + 1,
      ...(email === undefined ? {} : { email }),
      ...(e.extraData === undefined ? {} : { extraData: e.extraData }),
    };
    this.events.set(key, record);
    return record;
  }

  enrol(portalId: number, workflowId: string, email: string): number {
    const key = `${portalId}:${workflowId}:${email.toLowerCase()}`;
    const n = (this.enrolmentCounts.get(key) ?? 0) + 1;
    this.enrolmentCounts.set(key, n);
    return n;
  }

  /** How often the contact was enrolled in the workflow (enrolling again is allowed and counted). */
  enrolments(portalId: number, workflowId: string, email: string): number {
    return this.enrolmentCounts.get(`${portalId}:${workflowId}:${email.toLowerCase()}`) ?? 0;
  }

  private isoNow(): string {
    return new Date(this.clock.now()).toISOString();
  }
}

export interface TimelineRouterDeps {
  resolveObject: ResolveObject;
  /** The calling portal; by default the one `requireAuth` put on `res.locals.auth`. */
  portalOf?: (req: Request, res: Response) => number | undefined;
}

export function createTimelineRouter(store: TimelineStore, deps: TimelineRouterDeps): Router {
  const router = express.Router();
  const portalOf = deps.portalOf ?? ((_req, res) => (res.locals.auth as { portalId?: number } | undefined)?.portalId);
  router.use(['/integrators/timeline/v3', '/automation/v2'], express.json());

  const withPortal = (handler: (portalId: number, req: Request, res: Response) => void) => (req: Request, res: Response) => {
    const portalId = portalOf(req, res);
    if (portalId === undefined) return void fail(res, { status: 401, category: 'INVALID_AUTHENTICATION', message: 'Authentication credentials not found.' });
    handler(portalId, req, res);
  };

  // Event templates belong to the app and are managed with its developer key (not checked here).
  const base = '/integrators/timeline/v3/:appId/event-templates';
  router.get(base, (req, res) => void res.json({ results: store.listTemplates(Number(req.params.appId)).map(templateBody) }));
  router.post(base, (req, res) => {
    const b = (req.body ?? {}) as Record<string, unknown>;
    if (typeof b.name !== 'string' || typeof b.objectType !== 'string' || !Array.isArray(b.tokens)) {
      return void fail(res, invalid('name, objectType and tokens are required'));
    }
    const result = store.createTemplate(Number(req.params.appId), {
      name: b.name,
      objectType: b.objectType,
      tokens: b.tokens as TemplateToken[],
      ...(typeof b.headerTemplate === 'string' ? { headerTemplate: b.headerTemplate } : {}),
      ...(typeof b.detailTemplate === 'string' ? { detailTemplate: b.detailTemplate } : {}),
    });
    if ('status' in result) fail(res, result);
    else res.status(201).json(templateBody(result));
  });
  const ownTemplate = (req: Request) => {
    const t = store.getTemplate(String(req.params.templateId));
    return t && t.appId === Number(req.params.appId) ? t : undefined;
  };
  const templateNotFound = { status: 404, category: 'OBJECT_NOT_FOUND', message: 'Event template not found' };
  router.get(`${base}/:templateId`, (req, res) => {
    const t = ownTemplate(req);
    if (t) res.json(templateBody(t));
    else fail(res, templateNotFound);
  });
  router.put(`${base}/:templateId`, (req, res) => {
    if (!ownTemplate(req)) return void fail(res, templateNotFound);
    const b = (req.body ?? {}) as Record<string, unknown>;
    const t = store.updateTemplate(String(req.params.templateId), {
      ...(typeof b.name === 'string' ? { name: b.name } : {}),
      ...(typeof b.headerTemplate === 'string' ? { headerTemplate: b.headerTemplate } : {}),
      ...(typeof b.detailTemplate === 'string' ? { detailTemplate: b.detailTemplate } : {}),
      ...(Array.isArray(b.tokens) ? { tokens: b.tokens as TemplateToken[] } : {}),
    });
    res.json(templateBody(t!));
  });
  router.delete(`${base}/:templateId`, (req, res) => {
    if (!ownTemplate(req)) return void fail(res, templateNotFound);
    store.deleteTemplate(String(req.params.templateId));
    res.status(204).end();
  });

  router.post('/integrators/timeline/v3/events', withPortal((portalId, req, res) => {
    const result = store.writeEvent(portalId, req.body, deps.resolveObject);
    if ('writes' in result) res.status(201).json(eventBody(result));
    else fail(res, result);
  }));

  router.post('/integrators/timeline/v3/events/batch/create', withPortal((portalId, req, res) => {
    const inputs = (req.body as { inputs?: unknown } | undefined)?.inputs;
    if (!Array.isArray(inputs) || inputs.length === 0 || inputs.length > MAX_BATCH_INPUTS) {
      return void fail(res, invalid(`inputs must hold between 1 and ${MAX_BATCH_INPUTS} events`));
    }
    const startedAt = new Date().toISOString();
    const results: ReturnType<typeof eventBody>[] = [];
    const errors: Array<Record<string, unknown>> = [];
    for (const input of inputs) {
      const r = store.writeEvent(portalId, input, deps.resolveObject);
      if ('writes' in r) results.push(eventBody(r));
      else errors.push({ status: 'error', category: r.category, message: r.message, context: { id: [String((input as { id?: unknown })?.id ?? '')] } });
    }
    const body = { status: 'COMPLETE', results, startedAt, completedAt: new Date().toISOString() };
    if (errors.length === 0) res.status(201).json(body);
    else res.status(207).json({ ...body, numErrors: errors.length, errors });
  }));

  router.get('/integrators/timeline/v3/events/:templateId/:eventId', withPortal((portalId, req, res) => {
    const e = store.getEvent(portalId, String(req.params.templateId), String(req.params.eventId));
    if (e) res.json(eventBody(e));
    else fail(res, { status: 404, category: 'OBJECT_NOT_FOUND', message: 'Event not found' });
  }));

  router.post('/automation/v2/workflows/:workflowId/enrollments/contacts/:email', withPortal((portalId, req, res) => {
    const email = String(req.params.email);
    if (deps.resolveObject(portalId, 'contacts', email) === undefined) {
      return void fail(res, { status: 404, category: 'OBJECT_NOT_FOUND', message: `No contact with email ${email}` });
    }
    store.enrol(portalId, String(req.params.workflowId), email);
    res.status(204).end();
  }));

  return router;
}

function eventBody(e: TimelineEventRecord) {
  const { portalId: _p, writes: _w, ...body } = e;
  return body;
}

function templateBody(t: EventTemplate) {
  const { appId: _a, ...body } = t;
  return body;
}

function eventKey(portalId: number, templateId: string, id: string): string {
  return `${portalId}:${templateId}:${id}`;
}

function parseTimestamp(value: unknown): string | undefined {
  if (typeof value !== 'string' && typeof value !== 'number') return undefined;
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? undefined : d.toISOString();
}

function invalid(message: string): Failure {
  return { status: 400, category: 'VALIDATION_ERROR', message };
}

function fail(res: Response, f: Failure): void {
  const correlationId = randomUUID();
  res.status(f.status).set('x-hubspot-correlation-id', correlationId).json({ status: 'error', message: f.message, correlationId, category: f.category });
}
