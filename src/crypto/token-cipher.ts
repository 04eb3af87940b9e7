import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

/**
 * AES-256-GCM for data at rest: HubSpot tokens in PostgreSQL (`TokenCipher`) and Temporal payloads
 * (src/temporal/codec.ts) share this keyring. Each ciphertext records the id of the key that
 * sealed it, so keys can rotate: new writes use the current key, old data still opens with theirs.
 */

export interface SealedSecret {
  keyId: string;
  /** base64 of iv (12 bytes) | auth tag (16 bytes) | ciphertext */
  ciphertext: string;
}

export interface TokenCipher {
  readonly currentKeyId: string;
  seal(plaintext: string): SealedSecret;
  open(sealed: SealedSecret): string;
}

/** Bytes in, bytes out: `sealed` is iv (12 bytes) | auth tag (16 bytes) | ciphertext. */
export interface Keyring {
  readonly currentKeyId: string;
  seal(plaintext: Uint8Array): { keyId: string; sealed: Buffer };
  open(keyId: string, sealed: Uint8Array): Buffer;
}

/** A short, stable, non-secret id derived from the key itself. */
export function keyIdOf(key: Buffer): string {
  return createHash('sha256').update(key).digest('hex').slice(0, 12);
}

export function decodeKey(base64Key: string): Buffer {
  const key = Buffer.from(base64Key, 'base64');
  if (key.length !== 32) throw new Error('an encryption key must be 32 bytes (base64-encoded)');
  return key;
}

/** @param keys base64 keys; the first seals, all of them open. */
export function createKeyring(keys: readonly string[]): Keyring {
  const [current, ...older] = keys.map(decodeKey);
  if (!current) throw new Error('an encryption keyring needs at least one key');
  const byId = new Map([current, ...older].map((key) => [keyIdOf(key), key]));
  const currentKeyId = keyIdOf(current);

  return {
    currentKeyId,
    seal(plaintext) {
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', current, iv);
      const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
      return { keyId: currentKeyId, sealed: Buffer.concat([iv, cipher.getAuthTag(), body]) };
    },
    open(keyId, sealed) {
      const key = byId.get(keyId);
      if (!key) throw new Error(`no encryption key with id ${keyId} is configured`);
      const raw = Buffer.from(sealed);
      const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, 12));
      decipher.setAuthTag(raw.subarray(12, 28));
      return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]);
    },
  };
}

/** @param keys base64 keys; the first seals, all of them open. */
export function createTokenCipher(keys: readonly string[]): TokenCipher {
  const keyring = createKeyring(keys);
  return {
    currentKeyId: keyring.currentKeyId,
    seal(plaintext) {
      const { keyId, sealed } = keyring.seal(Buffer.from(plaintext, 'utf8'));
      return { keyId, ciphertext: sealed.toString('base64') };
    },
    open({ keyId, ciphertext }) {
      return keyring.open(keyId, Buffer.from(ciphertext, 'base64')).toString('utf8');
    },
  };
}
