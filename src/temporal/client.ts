import { Client, Connection, defaultGrpcRetryOptions, makeGrpcRetryInterceptor } from '@temporalio/client';
import type { DataConverter } from '@temporalio/common';

/** gRPC's status code for RESOURCE_EXHAUSTED. */
const RESOURCE_EXHAUSTED = 8;

/**
 * A signal that reaches a connection workflow while it continues-as-new is answered
 * RESOURCE_EXHAUSTED "workflow operation can not be applied because workflow is closing" (and one
 * that waits too long for the execution's lock, "Workflow is busy."). The SDK's first retry after
 * any RESOURCE_EXHAUSTED comes 1.7 s later, meant for rate limits; here it made every webhook
 * request queued behind such a signal wait 1.4–2 s (bench/RESULTS.md), though the new run is
 * there within milliseconds. These two are retried after 25 ms, growing by the SDK's factor; rate
 * limits and other retryable failures keep the SDK's back-off.
 */
export function initialRetryIntervalMs(status: { code: number; details?: string }): number {
  if (status.code !== RESOURCE_EXHAUSTED) return 100;
  return /workflow is (closing|busy)/i.test(status.details ?? '') ? 25 : 1_000;
}

/** @param dataConverter from createDataConverter: the same one the workers use. */
export async function connectTemporalClient(address: string, namespace: string, dataConverter: DataConverter): Promise<Client> {
  const interceptors = [makeGrpcRetryInterceptor(defaultGrpcRetryOptions({ initialIntervalMs: initialRetryIntervalMs }))];
  const connection = await Connection.connect({ address, interceptors });
  return new Client({ connection, namespace, dataConverter });
}
