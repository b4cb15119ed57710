import { createHash, randomBytes } from "node:crypto";

/** Prefix of generated keys, so a leaked one is recognisable in logs and secret scanners. */
export const API_KEY_PREFIX = "sck_";

/** What a key's hash looks like in the key file: SHA-256, lowercase hex. */
export const KEY_HASH_PATTERN = /^[0-9a-f]{64}$/;

/**
 * The SHA-256 of a key, as stored in the key file. A plain hash (no salt, no
 * slow KDF) is right here: generated keys carry 256 random bits, so there is
 * nothing to brute-force, and every request pays for the hash.
 */
export function hashApiKey(key: string): Buffer {
  return createHash("sha256").update(key, "utf8").digest();
}

/** A new random key: the prefix and 32 random bytes in base64url. */
export function generateApiKey(): string {
  return `${API_KEY_PREFIX}${randomBytes(32).toString("base64url")}`;
}
