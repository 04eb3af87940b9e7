import { Client, Connection, defaultGrpcRetryOptions, makeGrpcRetryInterceptor } from '@temporalio/client';
import type { DataConverter } from '@temporalio/common';

/** gRPC's status code for RESOURCE_EXHAUSTED. */
const RESOURCE_EXHAUSTED = 8;

/**
 * Temporal answers RESOURCE_EXHAUSTED "Workflow is busy." when a request waits too long for the
 * lock of one execution (its worker completing a task, a continue-as-new). The SDK's default first
 * retry after any RESOURCE_EXHAUSTED is 1.7 s, meant for rate limits; for a busy workflow it turned
 * milliseconds of contention into 1.4–2 s stalls of the webhook signals queued behind it
 * (bench/RESULTS.md). A busy workflow is retried after 25 ms, growing by the SDK's factor; rate
 * limits and other retryable failures keep the SDK's back-off.
 */
export function initialRetryIntervalMs(status: { code: number; details?: string }): number {
  if (status.code !== RESOURCE_EXHAUSTED) return 100;
  return /workflow is busy/i.test(status.details ?? '') ? 25 : 1_000;
}

/** @param dataConverter from createDataConverter: the same one the workers use. */
export async function connectTemporalClient(address: string, namespace: string, dataConverter: DataConverter): Promise<Client> {
  const interceptors = [makeGrpcRetryInterceptor(defaultGrpcRetryOptions({ initialIntervalMs: initialRetryIntervalMs }))];
  const connection = await Connection.connect({ address, interceptors });
  return new Client({ connection, namespace, dataConverter });
}
