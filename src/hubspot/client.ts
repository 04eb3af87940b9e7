import { Client } from '@hubspot/api-client';

/** Hooks around every HTTP request a client makes: the rate budget lives here, so no call can skip it. */
export interface RequestHooks {
  beforeRequest?(): Promise<void>;
  afterResponse?(status: number, headers: Record<string, string>): Promise<void> | void;
}

interface ResponseContextLike {
  httpStatusCode: number;
  headers: Record<string, string>;
}

/**
 * The one way hubsync builds a HubSpot client. A single attempt per call: retries and backoff
 * belong to Temporal's retry policies. (The client's retry settings are process-wide, so every
 * client must agree on them.)
 */
export function createHubSpotClient(baseUrl: string, accessToken: string, hooks: RequestHooks = {}): Client {
  const client = new Client({
    accessToken,
    basePath: baseUrl,
    numberOfApiCallRetries: 0,
    middleware: [
      {
        pre: async (context: unknown) => {
          await hooks.beforeRequest?.();
          return context;
        },
        post: async (context: unknown) => {
          const response = context as ResponseContextLike;
          await hooks.afterResponse?.(response.httpStatusCode, response.headers ?? {});
          return context;
        },
      },
    ],
  });
  // `apiRequest` (for routes the generated client lacks) skips the middleware: the hooks go
  // around it here, so it takes its permit and its answer is observed like any other call.
  const apiRequest = client.apiRequest.bind(client);
  client.apiRequest = async (options) => {
    await hooks.beforeRequest?.();
    const response = await apiRequest(options);
    await hooks.afterResponse?.(response.status, Object.fromEntries(response.headers));
    return response;
  };
  return client;
}
