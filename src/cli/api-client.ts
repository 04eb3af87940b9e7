/** The hubsync HTTP API as the CLI sees it: JSON in and out, `{ error: { code, message } }` on failure. */

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export interface ApiClient {
  call<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T>;
}

export function createApiClient(baseUrl: string, token: string | undefined): ApiClient {
  return {
    async call(method, path, body) {
      const headers: Record<string, string> = {};
      if (token) headers.authorization = `Bearer ${token}`;
      if (body !== undefined) headers['content-type'] = 'application/json';
      let response: Response;
      try {
        response = await fetch(`${baseUrl.replace(/\/+$/, '')}${path}`, { method, headers, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
      } catch (error) {
        throw new ApiError(0, 'unreachable', `cannot reach the hubsync API at ${baseUrl}: ${error instanceof Error ? (error.cause as Error | undefined)?.message ?? error.message : String(error)}`);
      }
      const text = await response.text();
      let json: any;
      try {
        json = text ? JSON.parse(text) : undefined;
      } catch {
        throw new ApiError(response.status, 'not_json', `${method} ${path} answered ${response.status} with a body that is not JSON`);
      }
      if (!response.ok) {
        throw new ApiError(response.status, json?.error?.code ?? 'http_error', json?.error?.message ?? `${method} ${path} answered ${response.status}`);
      }
      return json;
    },
  };
}
