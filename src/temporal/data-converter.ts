import type { DataConverter } from '@temporalio/common';
import { createEncryptionCodec } from './codec.js';

/**
 * The one data converter of every Temporal client and worker of hubsync: both ends must encrypt
 * and decrypt alike, or a worker cannot read what the API started. The codec runs outside the
 * workflow sandbox, so the workflow bundle does not change.
 * @param payloadKeys base64 keys, current first (PAYLOAD_ENCRYPTION_KEY, else the token keys).
 */
export function createDataConverter(payloadKeys: readonly string[]): DataConverter {
  return { payloadCodecs: [createEncryptionCodec(payloadKeys)] };
}
