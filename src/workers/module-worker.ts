/**
 * Starting a worker thread from one of the project's own modules, both when
 * running compiled JavaScript (dist/) and from the TypeScript sources (tsx in
 * development, vitest in tests).
 */
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { Worker, type WorkerOptions } from "node:worker_threads";

/** The worker's module was found neither compiled nor as a source, or tsx is missing for the source. */
export class WorkerCodeMissingError extends Error {
  override readonly name = "WorkerCodeMissingError";
}

/** Options passed to the worker; `execArgv` is decided here. */
export type ModuleWorkerOptions = Omit<WorkerOptions, "execArgv" | "eval">;

interface WorkerEntry {
  readonly url: URL;
  /** Options for workers started from TypeScript sources; see {@link workerEntry}. */
  readonly source?: { readonly execArgv: string[]; readonly preload: string[] };
}

const entries = new Map<string, WorkerEntry>();

/**
 * Starts the module `name` (without extension) that sits beside the module
 * whose `import.meta.url` is `besideUrl`, as a worker thread.
 *
 * @throws WorkerCodeMissingError when neither `name.js` nor `name.ts` is
 *   there, or the source is there and tsx cannot be resolved.
 */
export function startModuleWorker(besideUrl: string, name: string, options: ModuleWorkerOptions = {}): Worker {
  const key = new URL(`./${name}`, besideUrl).href;
  let entry = entries.get(key);
  if (entry === undefined) {
    entry = workerEntry(besideUrl, name);
    entries.set(key, entry);
  }
  if (entry.source === undefined) return new Worker(entry.url, options);
  try {
    return new Worker(entry.url, { ...options, execArgv: [...entry.source.execArgv, ...entry.source.preload] });
  } catch (error) {
    // Some of the parent's options are not allowed in workers; the tsx preload is all it needs.
    if ((error as NodeJS.ErrnoException).code !== "ERR_WORKER_INVALID_EXEC_ARGV") throw error;
    return new Worker(entry.url, { ...options, execArgv: entry.source.preload });
  }
}

/**
 * Where the worker's code is, and how to load it. Compiled: the .js file
 * beside the caller, with the parent's options. From sources: the .ts file,
 * with a preload that registers tsx through its public API (`tsx/esm/api`
 * `register()`). Inheriting the parent's `--import tsx` is not enough: on
 * Node 20 tsx's loader registers itself on the main thread only (tsx issue
 * #354), and vitest does not run under tsx at all. tsx's own preloads are
 * dropped from the inherited options so that newer Node versions, where they
 * do register in workers, do not register tsx twice.
 */
function workerEntry(besideUrl: string, name: string): WorkerEntry {
  const compiled = new URL(`./${name}.js`, besideUrl);
  if (existsSync(compiled)) return { url: compiled };
  const source = new URL(`./${name}.ts`, besideUrl);
  if (!existsSync(source)) {
    throw new WorkerCodeMissingError(`The worker's code is missing: found neither ${fileURLToPath(compiled)} nor ${fileURLToPath(source)}.`);
  }
  let api: string;
  try {
    api = tsxEsmApiUrl();
  } catch (cause) {
    throw new WorkerCodeMissingError(
      `Running from TypeScript sources needs tsx to load ${fileURLToPath(source)} in a worker thread, ` +
        `and tsx/esm/api cannot be resolved (${String(cause)}); run the compiled dist/ instead (npm run build).`,
      { cause },
    );
  }
  const preload = `data:text/javascript,${encodeURIComponent(`import { register } from ${JSON.stringify(api)}; register();`)}`;
  return { url: source, source: { execArgv: withoutTsx(process.execArgv), preload: ["--import", preload] } };
}

/**
 * The file URL of `tsx/esm/api` under the "import" condition, read from
 * tsx's package.json exports (import.meta.resolve is not available under
 * vitest, and require.resolve would give the CommonJS build).
 */
function tsxEsmApiUrl(): string {
  const manifest = createRequire(import.meta.url).resolve("tsx/package.json");
  const { exports } = JSON.parse(readFileSync(manifest, "utf8")) as { exports?: Record<string, unknown> };
  let target: unknown = exports?.["./esm/api"];
  while (target !== null && typeof target === "object") {
    const conditions = target as Record<string, unknown>;
    target = conditions["import"] ?? conditions["default"];
  }
  if (typeof target !== "string") throw new Error(`${manifest} does not export "./esm/api" for import.`);
  return pathToFileURL(join(dirname(manifest), target)).href;
}

/** `execArgv` without options that preload tsx (`--import tsx`, tsx's own `--require`/`--import` pair). */
function withoutTsx(execArgv: readonly string[]): string[] {
  const isTsx = (value: string): boolean => /(^|[\\/])tsx([\\/]|$)/.test(value);
  const out: string[] = [];
  for (let i = 0; i < execArgv.length; i++) {
    const arg = execArgv[i]!;
    const next = execArgv[i + 1];
    if (/^(--import|--require|-r|--loader|--experimental-loader)$/.test(arg) && next !== undefined && isTsx(next)) {
      i++;
    } else if (!/^--(import|require|loader|experimental-loader)=/.test(arg) || !isTsx(arg.slice(arg.indexOf("=") + 1))) {
      out.push(arg);
    }
  }
  return out;
}
