/**
 * The import graph of src/ reads top-down: the doors (cli, app, the server
 * and its APIs) over Ask and the cache core, over the embedder, stores and
 * LLM client, over a few leaves (errors, generated code, the logger, tenancy
 * primitives). Each unit below (a folder of src/, a sub-folder of
 * src/server/, or a file carved out of its folder) may import only the units
 * listed for it; the table itself must be acyclic, so no edge can be added
 * that points back up.
 *
 * A failure names the unit, the import and the file. Either import from a
 * lower unit, or, if the new edge keeps the order (and the cycle check still
 * passes), add it to ALLOWED with the reason it is needed. A new folder must
 * be added to ALLOWED with its place in the order.
 */
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import ts from "typescript";
import { describe, expect, it } from "vitest";

const SRC = resolve(import.meta.dirname, "../../src");

/** Files that are a unit of their own rather than part of their folder's: leaves everything may use. */
const CARVED_OUT: Readonly<Record<string, string>> = {
  // The logger is used by every layer; the rest of observability (metrics, RPC records) sits at the edge.
  "observability/logger.ts": "logger",
};

/**
 * Which units each unit may import, top to bottom. Skipping layers
 * downwards is allowed (the API reads the store's entry type); going up is
 * not.
 */
const ALLOWED: Readonly<Record<string, readonly string[]>> = {
  // Entry points and the composition root.
  cli: ["app", "auth", "config", "embedder", "errors", "eval", "logger"],
  eval: ["app", "cache", "config", "embedder", "gen", "store"],
  app: ["ask", "auth", "cache", "config", "embedder", "errors", "fleet", "llm", "logger", "observability", "openai", "server", "server/health", "server/http", "server/reflection", "store"],
  // The settings table: above the parts whose parsers and names it uses; read only by the entry points.
  config: ["cache", "errors", "llm", "verify"],
  // The server and the doors into it.
  server: ["cache", "logger", "server/api", "server/health", "server/http"],
  openai: ["ask", "auth", "cache", "errors", "gen", "llm", "observability", "server/api", "server/http", "tenancy"],
  "server/health": ["cache", "gen", "store"],
  "server/reflection": ["gen"],
  "server/api": ["cache", "errors", "gen", "server/http", "store", "tenancy"],
  // The edge around every call: metrics and RPC records, access control, the transport.
  // server/health: the store's last ping, so /metrics and health never disagree.
  observability: ["auth", "cache", "embedder", "gen", "logger", "server/health", "server/http"],
  auth: ["cache", "errors", "gen", "logger", "server/http", "tenancy"],
  "server/http": [],
  // Ask over the core and the LLM client.
  ask: ["cache", "embedder", "errors", "fleet", "gen", "llm", "logger", "store", "tenancy"],
  // Replicas on one Redis as one cache: the Redis connection and scripts, the limiter and counters it stands in for.
  fleet: ["auth", "cache", "logger", "store"],
  cache: ["embedder", "errors", "store", "verify"],
  llm: ["errors", "tenancy"],
  verify: ["embedder", "errors", "store"],
  embedder: ["errors", "tenancy", "workers"],
  store: ["errors", "logger", "workers"],
  // Leaves.
  tenancy: [],
  // Starting a worker thread from a module of ours, compiled or from source.
  workers: [],
  errors: [],
  gen: [],
  logger: [],
};

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith(".ts") ? [path] : [];
  });
}

/** The unit of a file under src/, by its path relative to src/ with forward slashes. */
function unitOf(path: string): string {
  const carved = CARVED_OUT[path];
  if (carved !== undefined) return carved;
  const parts = path.split("/");
  if (parts[0] === "server" && parts.length > 2) return `server/${parts[1]}`;
  return parts.length > 1 ? parts[0]! : path;
}

/** Every import (static, type-only, re-export or dynamic) of one unit by another: [from unit, to unit, file, specifier]. */
function crossUnitImports(): [string, string, string, string][] {
  const found: [string, string, string, string][] = [];
  for (const file of sourceFiles(SRC)) {
    const from = relative(SRC, file).split(sep).join("/");
    const { importedFiles } = ts.preProcessFile(readFileSync(file, "utf8"), true, true);
    for (const { fileName } of importedFiles) {
      if (!fileName.startsWith(".")) continue;
      const to = relative(SRC, resolve(dirname(file), fileName)).split(sep).join("/").replace(/\.js$/, ".ts");
      const [a, b] = [unitOf(from), unitOf(to)];
      if (a !== b) found.push([a, b, from, fileName]);
    }
  }
  return found;
}

describe("import graph", () => {
  const imports = crossUnitImports();

  it("sees the imports it checks", () => {
    // A parser that found nothing would pass everything.
    expect(imports.length).toBeGreaterThan(100);
    expect(imports).toContainEqual(["ask", "cache", "ask/ask-engine.ts", "../cache/semantic-cache.js"]);
  });

  it("has every unit of src/ in the table", () => {
    const units = new Set(sourceFiles(SRC).map((file) => unitOf(relative(SRC, file).split(sep).join("/"))));
    expect([...units].filter((unit) => !(unit in ALLOWED)).sort()).toEqual([]);
  });

  it("imports across units only along allowed edges", () => {
    const forbidden = imports.filter(([a, b]) => !(ALLOWED[a] ?? []).includes(b)).map(([a, b, file, spec]) => `${a} → ${b}: ${file} imports ${spec}`);
    expect(forbidden).toEqual([]);
  });

  it("allows no cycle, so the order is top-down", () => {
    const cycles: string[] = [];
    const state = new Map<string, "open" | "done">();
    const visit = (unit: string, path: readonly string[]): void => {
      if (state.get(unit) === "done") return;
      if (state.get(unit) === "open") {
        cycles.push([...path.slice(path.indexOf(unit)), unit].join(" → "));
        return;
      }
      state.set(unit, "open");
      for (const next of ALLOWED[unit] ?? []) visit(next, [...path, unit]);
      state.set(unit, "done");
    };
    for (const unit of Object.keys(ALLOWED)) visit(unit, []);
    expect(cycles).toEqual([]);
  });
});
