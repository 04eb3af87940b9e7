import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createTokenCipher } from '../../src/crypto/token-cipher.js';

const key = () => randomBytes(32).toString('base64');

describe('token cipher (AES-256-GCM)', () => {
  it('round-trips and never keeps the plaintext in the ciphertext', () => {
    const cipher = createTokenCipher([key()]);
    const sealed = cipher.seal('pat-na1-secret');
    expect(sealed.ciphertext).not.toContain('pat-na1-secret');
    expect(Buffer.from(sealed.ciphertext, 'base64').toString('latin1')).not.toContain('pat-na1-secret');
    expect(cipher.open(sealed)).toBe('pat-na1-secret');
  });

  it('uses a fresh IV each time', () => {
    const cipher = createTokenCipher([key()]);
    expect(cipher.seal('same').ciphertext).not.toBe(cipher.seal('same').ciphertext);
  });

  it('opens what an older key sealed after rotation, and seals with the new key', () => {
    const oldKey = key();
    const sealedBefore = createTokenCipher([oldKey]).seal('refresh-token');
    const rotated = createTokenCipher([key(), oldKey]);
    expect(rotated.open(sealedBefore)).toBe('refresh-token');
    expect(rotated.seal('x').keyId).toBe(rotated.currentKeyId);
    expect(rotated.currentKeyId).not.toBe(sealedBefore.keyId);
  });

  it('refuses tampered ciphertexts and unknown keys', () => {
    const cipher = createTokenCipher([key()]);
    const sealed = cipher.seal('secret');
    const raw = Buffer.from(sealed.ciphertext, 'base64');
    raw[raw.length - 1] = (raw[raw.length - 1] ?? 0) ^ 1;
    expect(() => cipher.open({ ...sealed, ciphertext: raw.toString('base64') })).toThrow();
    expect(() => createTokenCipher([key()]).open(sealed)).toThrow(/no encryption key/);
  });
});
