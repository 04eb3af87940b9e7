import { METADATA_ENCODING_KEY, ValueError, type Payload, type PayloadCodec } from '@temporalio/common';
import proto from '@temporalio/proto';
import { createKeyring } from '../crypto/token-cipher.js';

// A CommonJS module whose exports Node's ESM loader cannot name: import the whole object.
const { Payload: PayloadMessage } = proto.temporal.api.common.v1;

/**
 * Encrypts every payload (workflow and activity inputs, results, signals, queries, memos) before
 * it leaves the process, so Temporal's histories at rest hold no customer data. The whole payload,
 * metadata included, is serialised and sealed; the outer metadata says only that it is encrypted
 * and with which key, so a rotated-out key still opens the histories it wrote.
 */

export const ENCRYPTED_ENCODING = 'binary/encrypted';
export const KEY_ID_METADATA = 'encryption-key-id';

const utf8 = (text: string): Uint8Array => Buffer.from(text, 'utf8');
const text = (bytes: Uint8Array | null | undefined): string | undefined => (bytes ? Buffer.from(bytes).toString('utf8') : undefined);

/** @param keys base64 AES-256 keys: the first encrypts, every one decrypts. */
export function createEncryptionCodec(keys: readonly string[]): PayloadCodec {
  const keyring = createKeyring(keys);
  return {
    async encode(payloads: Payload[]): Promise<Payload[]> {
      return payloads.map((payload) => {
        const { keyId, sealed } = keyring.seal(PayloadMessage.encode(payload).finish());
        return { metadata: { [METADATA_ENCODING_KEY]: utf8(ENCRYPTED_ENCODING), [KEY_ID_METADATA]: utf8(keyId) }, data: sealed };
      });
    },
    async decode(payloads: Payload[]): Promise<Payload[]> {
      return payloads.map((payload) => {
        // Payloads written before encryption was turned on pass through, still readable.
        if (text(payload.metadata?.[METADATA_ENCODING_KEY]) !== ENCRYPTED_ENCODING) return payload;
        const keyId = text(payload.metadata?.[KEY_ID_METADATA]);
        if (!keyId || !payload.data) throw new ValueError('an encrypted payload without its key id or data');
        return PayloadMessage.decode(keyring.open(keyId, payload.data));
      });
    },
  };
}
