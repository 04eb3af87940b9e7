import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';

/**
 * The configured keys, or in development a key generated once into the data directory, so a
 * restart can still read the tokens it stored. Production sets TOKEN_ENCRYPTION_KEY.
 */
export function resolveEncryptionKeys(configured: string[] | undefined, dataDir: string, log: Logger): string[] {
  if (configured) return configured;
  const file = join(dataDir, 'token-encryption.key');
  if (!existsSync(file)) {
    mkdirSync(dataDir, { recursive: true });
    writeFileSync(file, randomBytes(32).toString('base64'), { mode: 0o600 });
  }
  log.warn({ file }, 'TOKEN_ENCRYPTION_KEY is not set: using a development key kept in the data directory');
  return [readFileSync(file, 'utf8').trim()];
}
