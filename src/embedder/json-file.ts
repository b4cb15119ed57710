import { readFile } from "node:fs/promises";
import { ModelLoadError } from "./errors.js";

/**
 * Reads a JSON file of the model directory that must hold an object.
 * A missing optional file resolves to undefined; an unreadable, malformed or
 * non-object file is a ModelLoadError naming the path, never ignored.
 */
export async function readJsonObject(path: string, required: boolean): Promise<Record<string, unknown> | undefined> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (cause) {
    if (!required && (cause as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new ModelLoadError(`Could not read ${path}: ${String(cause)}.`, { kind: "unreadable", path, cause });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (cause) {
    throw new ModelLoadError(`${path} is not valid JSON: ${String(cause)}.`, { kind: "invalid-file", path, cause });
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
    throw new ModelLoadError(`${path} does not hold a JSON object.`, { kind: "invalid-file", path });
  }
  return parsed as Record<string, unknown>;
}
