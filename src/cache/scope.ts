import { createHash } from "node:crypto";
import type { EntryScope } from "../store/cache-store.js";
import { InvalidInputError } from "./errors.js";
import { normalizeInline } from "./normalize.js";

/** The namespace used when a request leaves it empty. */
export const DEFAULT_NAMESPACE = "default";

/** What a namespace may look like: safe in Redis keys, metric labels and logs. */
export const NAMESPACE_PATTERN = /^[A-Za-z0-9_\-.:/@]{1,128}$/;

const MAX_MODEL_LENGTH = 256;
const MAX_PARAMS = 64;
const MAX_PARAM_KEY_LENGTH = 128;
const MAX_PARAM_VALUE_BYTES = 64 * 1024;
// Control characters would make models unreadable in logs and break TAG escaping.
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point: they are refused
const CONTROL_CHARS = /[\u0000-\u001f\u007f]/u;

/** A scope as it arrives in a request (every part optional). */
export interface ScopeInput {
  readonly namespace?: string;
  readonly model?: string;
  readonly params?: Readonly<Record<string, string>>;
}

/**
 * Validates a namespace, filling in the default for an empty one.
 * `field` names the request field in errors.
 */
export function resolveNamespace(namespace: string | undefined, field = "scope.namespace"): string {
  const ns = namespace === undefined || namespace === "" ? DEFAULT_NAMESPACE : namespace;
  if (!NAMESPACE_PATTERN.test(ns)) {
    throw new InvalidInputError(
      field,
      `must be 1 to 128 characters from letters, digits and "_ - . : / @" (got ${JSON.stringify(ns.slice(0, 40))})`,
    );
  }
  return ns;
}

/**
 * Validates a scope and derives its scope key: a hash of the namespace, the
 * model and the params in canonical form (keys sorted, white space in values
 * collapsed), so equal scopes always get equal keys.
 */
export function resolveScope(input: ScopeInput | undefined): EntryScope {
  const namespace = resolveNamespace(input?.namespace);
  const model = input?.model ?? "";
  if (model.length > MAX_MODEL_LENGTH) {
    throw new InvalidInputError("scope.model", `must be at most ${MAX_MODEL_LENGTH} characters`);
  }
  if (CONTROL_CHARS.test(model)) {
    throw new InvalidInputError("scope.model", "must not contain control characters");
  }
  const params = input?.params ?? {};
  const keys = Object.keys(params);
  // Counted before sorting: a request may carry as many entries as fit in a message.
  if (keys.length > MAX_PARAMS) {
    throw new InvalidInputError("scope.params", `at most ${MAX_PARAMS} entries are allowed`);
  }
  keys.sort();
  const canonical: [string, string][] = [];
  for (const key of keys) {
    const value = params[key] ?? "";
    if (key.length === 0 || key.length > MAX_PARAM_KEY_LENGTH || CONTROL_CHARS.test(key)) {
      throw new InvalidInputError("scope.params", `key ${JSON.stringify(key.slice(0, 40))} must be 1 to ${MAX_PARAM_KEY_LENGTH} printable characters`);
    }
    if (Buffer.byteLength(value) > MAX_PARAM_VALUE_BYTES) {
      throw new InvalidInputError("scope.params", `value of ${JSON.stringify(key)} exceeds ${MAX_PARAM_VALUE_BYTES} bytes`);
    }
    canonical.push([key, normalizeInline(value)]);
  }
  const scopeKey = createHash("sha256")
    .update(JSON.stringify([namespace, model, canonical]))
    .digest("hex")
    .slice(0, 32);
  return { namespace, model, params: { ...params }, scopeKey };
}

/**
 * The id of the entry for a normalised prompt in a scope. Deterministic, so
 * the exact layer is a direct key look-up and a second Store of the same
 * prompt replaces the first.
 */
export function entryId(scopeKey: string, normalizedPrompt: string): string {
  return createHash("sha256").update(scopeKey).update("\n").update(normalizedPrompt).digest("hex").slice(0, 32);
}
