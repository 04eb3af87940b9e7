import { Client, Connection } from '@temporalio/client';
import type { DataConverter } from '@temporalio/common';

/** @param dataConverter from createDataConverter: the same one the workers use. */
export async function connectTemporalClient(address: string, namespace: string, dataConverter: DataConverter): Promise<Client> {
  const connection = await Connection.connect({ address });
  return new Client({ connection, namespace, dataConverter });
}
