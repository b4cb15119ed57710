/** Key files for the access tests: real keys, their hashes written as the key file wants them. */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { generateApiKey, hashApiKey, type KeyFileEntry } from "../../src/auth/index.js";

/** A key file entry without its hash, and the key it is made for. */
export type TestKey = Omit<KeyFileEntry, "sha256"> & { readonly key: string };

/** A key with a fresh random secret. */
export function testKey(entry: Omit<KeyFileEntry, "sha256">): TestKey {
  return { ...entry, key: generateApiKey() };
}

/** The key file entry of a test key (hash, no secret). */
export function entryOf({ key, ...entry }: TestKey): KeyFileEntry {
  return { ...entry, sha256: hashApiKey(key).toString("hex") };
}

/** Writes `keys` as a key file in `dir` and returns its path. */
export function writeKeyFile(dir: string, keys: readonly TestKey[], name = "keys.json"): string {
  const path = join(dir, name);
  writeFileSync(path, JSON.stringify({ keys: keys.map(entryOf) }, null, 2));
  return path;
}
