import { flagOf, SETTINGS, type SettingName } from "../config/settings.js";
import { KEYS_USAGE } from "./keys.js";

/** The text of `semcache --help`. */
export function helpText(): string {
  const rows = (Object.keys(SETTINGS) as SettingName[]).map((name) => {
    const spec = SETTINGS[name];
    const shown = spec.shownDefault ?? (Array.isArray(spec.fallback) ? spec.fallback.join(",") || "none" : String(spec.fallback));
    const fallback = spec.fallback === undefined ? "" : ` (default: ${shown})`;
    return `  ${flagOf(name).padEnd(28)} ${spec.env}\n      ${spec.doc}${fallback}`;
  });
  return [
    "semcache: a semantic cache for LLM calls, over Connect, gRPC and gRPC-Web.",
    "",
    "Usage:",
    "  semcache serve [options]     start the server",
    "  semcache calibrate --data FILE [--precision P] [--model-dir DIR]",
    "                               print the SEMCACHE_THRESHOLD that reaches precision P on an intents file",
    KEYS_USAGE,
    "  semcache --help              this text",
    "",
    "Options (each also an environment variable, or a line in ./.env; flags win over the environment):",
    ...rows,
    "",
  ].join("\n");
}
