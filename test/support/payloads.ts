// Histories hold payloads as encoded (encrypted by hubsync's codec): decode them as the client does.
import type { Client } from '@temporalio/client';
import type { Payload } from '@temporalio/common';

/** Runs the client's codecs backwards, then its payload converter, on the first payload. */
export async function decodeFirst<T>(client: Client, payloads: Payload[]): Promise<T> {
  const { payloadCodecs, payloadConverter } = client.options.loadedDataConverter;
  let decoded = payloads;
  for (const codec of [...payloadCodecs].reverse()) decoded = await codec.decode(decoded);
  return payloadConverter.fromPayload<T>(decoded[0]!);
}

/**
 * The history as text with every payload decoded to its value: what a secret scan must search,
 * since an encrypted history would hide a secret from a scan of the raw JSON.
 */
export async function decodedHistoryText(client: Client, history: unknown): Promise<string> {
  const values: unknown[] = [];
  const visit = async (node: unknown): Promise<void> => {
    if (!node || typeof node !== 'object') return;
    const record = node as Record<string, unknown>;
    if (Array.isArray(record.payloads) && record.payloads.length > 0) {
      for (const payload of record.payloads as Payload[]) values.push(await decodeFirst(client, [payload]).catch(() => payload));
    }
    for (const child of Object.values(record)) await visit(child);
  };
  await visit(history);
  return JSON.stringify(history) + JSON.stringify(values);
}
