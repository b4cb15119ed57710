import { existsSync } from "node:fs";
import { readFile, rename, writeFile } from "node:fs/promises";
import { parseKeyFile, type KeyFileEntry } from "./key-file.js";

/**
 * Adds a key to a key file (creating the file when missing), after checking
 * that the result is a valid key file. Written to a temporary file, then
 * renamed over the old one, so a server watching the file never reads half
 * of it; readable by the owner only.
 */
export async function addKeyToFile(path: string, entry: KeyFileEntry): Promise<void> {
  const existing = existsSync(path) ? (JSON.parse(await readFile(path, "utf8")) as { keys?: unknown[] }) : { keys: [] };
  const next = { ...existing, keys: [...(existing.keys ?? []), entry] };
  const text = `${JSON.stringify(next, null, 2)}\n`;
  parseKeyFile(text, path);
  const temporary = `${path}.${process.pid}.tmp`;
  await writeFile(temporary, text, { mode: 0o600 });
  await rename(temporary, path);
}
