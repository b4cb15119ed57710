import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { parseEnv } from "node:util";
import { readFileSync } from "node:fs";
import { StartupError } from "../errors/index.js";
import { flagOf, SETTINGS, type ServerConfig, type SettingName } from "./settings.js";

/** A configuration with one or more bad settings; the message lists each. */
export class ConfigError extends StartupError {
  override readonly name = "ConfigError";
}

/** Where settings come from, highest precedence first: flags, environment, `.env`. */
export interface ConfigSources {
  /** CLI arguments after the command, e.g. ["--port", "9000"]. */
  readonly argv?: readonly string[];
  readonly env?: NodeJS.ProcessEnv;
  /** Directory whose `.env` file is read, when it exists. */
  readonly cwd?: string;
}

function readDotEnv(cwd: string): Record<string, string> {
  const path = resolve(cwd, ".env");
  if (!existsSync(path)) return {};
  return parseEnv(readFileSync(path, "utf8")) as Record<string, string>;
}

function parseFlags(argv: readonly string[]): { values: Map<SettingName, string>; errors: string[] } {
  const byFlag = new Map<string, SettingName>();
  for (const name of Object.keys(SETTINGS) as SettingName[]) byFlag.set(flagOf(name), name);
  const values = new Map<SettingName, string>();
  const errors: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? "";
    const [flag = "", inline] = arg.split(/=(.*)/s, 2);
    const name = byFlag.get(flag);
    if (name === undefined) {
      errors.push(`unknown option ${flag} (see --help)`);
      continue;
    }
    const value = inline ?? argv[++i];
    if (value === undefined) {
      errors.push(`${flag} needs a value`);
      continue;
    }
    values.set(name, value);
  }
  return { values, errors };
}

/**
 * Builds the server configuration from flags, environment and `.env`, and
 * validates every setting; all problems are reported at once, each naming
 * the setting.
 */
export function loadConfig(sources: ConfigSources = {}): ServerConfig {
  const env = { ...readDotEnv(sources.cwd ?? process.cwd()), ...(sources.env ?? process.env) };
  const flags = parseFlags(sources.argv ?? []);
  const errors = [...flags.errors];
  const config: Record<string, unknown> = {};
  for (const name of Object.keys(SETTINGS) as SettingName[]) {
    const spec = SETTINGS[name];
    const fromFlag = flags.values.get(name);
    const raw = fromFlag ?? env[spec.env];
    if (raw === undefined || (raw === "" && fromFlag === undefined)) {
      config[name] = spec.fallback;
      continue;
    }
    try {
      config[name] = spec.parse(raw);
    } catch (error) {
      const source = fromFlag !== undefined ? flagOf(name) : spec.env;
      errors.push(`${source}=${JSON.stringify(raw)}: ${(error as Error).message}`);
    }
  }
  if (errors.length > 0) {
    throw new ConfigError(`invalid configuration:\n  ${errors.join("\n  ")}`);
  }
  return config as ServerConfig;
}
