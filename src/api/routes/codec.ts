import express, { Router, type RequestHandler } from 'express';
import type { Payload, PayloadCodec } from '@temporalio/common';
import { z } from 'zod';
import type { ApiDeps } from '../app.js';
import { requireOperator } from '../auth.js';
import { HttpError, parseInput } from '../errors.js';

/**
 * The codec endpoint of the Temporal Web UI (and `temporal --codec-endpoint`): the browser posts
 * the encrypted payloads of a history, `{ payloads: [{ metadata, data }] }` with base64 values, and
 * shows what comes back. It runs the Temporal client's own codecs, so it decodes exactly what the
 * workers and the API encrypt. Operators only: decoding is reading customer data.
 */

export const jsonPayloads = z.object({
  payloads: z.array(
    z.object({
      metadata: z.record(z.string(), z.base64()).nullish(),
      data: z.base64().nullish(),
    }),
  ),
});

type JsonPayload = z.infer<typeof jsonPayloads>['payloads'][number];

const fromJson = ({ metadata, data }: JsonPayload): Payload => ({
  metadata: Object.fromEntries(Object.entries(metadata ?? {}).map(([key, value]) => [key, Buffer.from(value, 'base64')])),
  ...(data ? { data: Buffer.from(data, 'base64') } : {}),
});

const toJson = ({ metadata, data }: Payload): JsonPayload => ({
  metadata: Object.fromEntries(Object.entries(metadata ?? {}).map(([key, value]) => [key, Buffer.from(value).toString('base64')])),
  data: Buffer.from(data ?? []).toString('base64'),
});

/**
 * The Web UI calls from its own origin: answer the preflight without auth (browsers send none),
 * and let that one origin read the answers, errors included. X-Namespace is accepted and ignored:
 * one set of keys serves every namespace.
 */
function allowWebUi(origin: string): RequestHandler {
  return (req, res, next) => {
    res.vary('Origin');
    if (req.get('origin') === origin) {
      res.set({ 'Access-Control-Allow-Origin': origin, 'Access-Control-Allow-Credentials': 'true' });
    }
    if (req.method !== 'OPTIONS') return next();
    res.set({
      'Access-Control-Allow-Methods': 'POST, OPTIONS',
      'Access-Control-Allow-Headers': 'authorization, content-type, x-namespace',
      'Access-Control-Max-Age': '600',
    });
    res.status(204).end();
  };
}

type Direction = 'encode' | 'decode';

/** Codecs apply first to last when encoding and last to first when decoding, as in the SDK. */
async function run(codecs: readonly PayloadCodec[], direction: Direction, payloads: Payload[]): Promise<Payload[]> {
  const ordered = direction === 'encode' ? codecs : [...codecs].reverse();
  for (const codec of ordered) payloads = await codec[direction](payloads);
  return payloads;
}

export function codecRoutes(deps: ApiDeps): Router {
  const codecs = deps.temporal.options.loadedDataConverter.payloadCodecs;
  const router = Router();
  router.use('/codec', allowWebUi(deps.temporalUiOrigin));
  for (const direction of ['decode', 'encode'] as const) {
    router.post(
      `/codec/${direction}`,
      requireOperator(deps.apiToken, deps.sandbox),
      // A history page batches many payloads, each up to Temporal's 2 MiB.
      express.json({ limit: '16mb' }),
      async (req, res) => {
        const { payloads } = parseInput(jsonPayloads, req.body);
        let result: Payload[];
        try {
          result = await run(codecs, direction, payloads.map(fromJson));
        } catch (error) {
          // An unknown key id or a tampered payload: the caller's data, not our failure.
          throw new HttpError(400, `cannot_${direction}`, error instanceof Error ? error.message : String(error));
        }
        res.json({ payloads: result.map(toJson) });
      },
    );
  }
  return router;
}
