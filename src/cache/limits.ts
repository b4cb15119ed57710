import { InvalidInputError } from "./errors.js";
import { normalizePrompt } from "./normalize.js";

/** Size limits on what callers may store; every one is a setting. */
export interface InputLimits {
  /** Largest prompt, in UTF-8 bytes. */
  readonly maxPromptBytes: number;
  /** Largest response, in UTF-8 bytes. */
  readonly maxResponseBytes: number;
  /** Most metadata entries per entry. */
  readonly maxMetadataEntries: number;
  /** Largest metadata (keys and values together), in UTF-8 bytes. */
  readonly maxMetadataBytes: number;
}

/**
 * Checks that a text is within a byte limit. Cheap (no copy), so it runs
 * before any normalising: normalising megabytes of white space takes about a
 * second of the event loop, which a too-long text must not cost the server.
 */
function checkTextSize(field: string, raw: string, maxBytes: number): void {
  const bytes = Buffer.byteLength(raw);
  if (bytes > maxBytes) {
    throw new InvalidInputError(field, `is ${bytes} bytes, above the limit of ${maxBytes} bytes`);
  }
}

/** Checks a prompt's size, then normalises it and checks that something is left; returns the normalised prompt. */
export function normalizedPrompt(field: string, raw: string, maxBytes: number): string {
  checkTextSize(field, raw, maxBytes);
  const normalized = normalizePrompt(raw);
  if (normalized.length === 0) throw new InvalidInputError(field, "must not be empty");
  return normalized;
}

/** Checks a text's size, then that it is not blank. */
export function checkText(field: string, raw: string, maxBytes: number): void {
  checkTextSize(field, raw, maxBytes);
  if (raw.trim().length === 0) throw new InvalidInputError(field, "must not be empty");
}

/** Checks metadata against the entry-count and byte limits. */
export function checkMetadata(metadata: Readonly<Record<string, string>>, limits: InputLimits): void {
  const keys = Object.keys(metadata);
  if (keys.length > limits.maxMetadataEntries) {
    throw new InvalidInputError("metadata", `has ${keys.length} entries, above the limit of ${limits.maxMetadataEntries}`);
  }
  let bytes = 0;
  for (const key of keys) {
    bytes += Buffer.byteLength(key) + Buffer.byteLength(metadata[key] ?? "");
  }
  if (bytes > limits.maxMetadataBytes) {
    throw new InvalidInputError("metadata", `is ${bytes} bytes, above the limit of ${limits.maxMetadataBytes} bytes`);
  }
}
