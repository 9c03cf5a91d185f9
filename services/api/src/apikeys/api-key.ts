import { createHash, randomInt, timingSafeEqual } from 'node:crypto';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** `gw_` + 32 chars of [A-Za-z0-9] from the CSPRNG (≈190 bits), the seed's key format. */
export function generateApiKey(): string {
  let s = 'gw_';
  for (let i = 0; i < 32; i++) s += ALPHABET[randomInt(ALPHABET.length)];
  return s;
}

/** Keys are high-entropy, so a fast unsalted SHA-256 is enough and allows lookup by hash. */
export function hashApiKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

/** What may be shown after creation: enough to recognise a key, useless to an attacker. */
export function keyPrefix(key: string): string {
  return key.slice(0, Math.min(8, Math.max(3, key.length - 8)));
}

/** Constant-time comparison of two secrets of any length (hashing first equalises the lengths). */
export function secretsEqual(a: string, b: string): boolean {
  const ha = createHash('sha256').update(a).digest();
  const hb = createHash('sha256').update(b).digest();
  return timingSafeEqual(ha, hb);
}
