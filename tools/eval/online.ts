/**
 * `npm run eval -- --online`: starts a per-intent LLM (src/eval/intent-llm.ts)
 * and an in-process semcache on a temporary embedded store using it, then
 * replays the intents file as a stream through Ask (src/eval/online.ts) for
 * each static threshold and each error budget, and writes the report.
 */
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, extname, join } from "node:path";
import { startServerFromConfig } from "../../src/app/start-server.js";
import { normalizePrompt } from "../../src/cache/normalize.js";
import { loadConfig } from "../../src/config/load-config.js";
import { UsageError } from "../../src/eval/command.js";
import { parseDataset } from "../../src/eval/dataset.js";
import { startIntentLlm } from "../../src/eval/intent-llm.js";
import { answerFor, evaluateOnline, intentByPrompt, type OnlineConfig, type OnlineReport } from "../../src/eval/online.js";
import { createLogger } from "../../src/observability/logger.js";

/** What the online run needs from the command line. */
export interface OnlineRunOptions {
  readonly dataPath: string;
  readonly modelDir: string;
  readonly guard: string;
  readonly thresholds: readonly number[];
  readonly budgets: readonly number[];
  readonly seeds: readonly number[];
  readonly threads: number;
  readonly name?: string;
}

/** Runs the online evaluation end to end; the servers are stopped and the store removed afterwards. */
export async function runOnline(options: OnlineRunOptions): Promise<OnlineReport> {
  let text: string;
  try {
    text = readFileSync(options.dataPath, "utf8");
  } catch (error) {
    throw new UsageError(`cannot read the intents file ${options.dataPath}: ${(error as Error).message}`);
  }
  const dataset = parseDataset(text, options.dataPath);
  const intents = intentByPrompt(dataset);
  const llm = await startIntentLlm((messages) => {
    const last = [...messages].reverse().find((m) => m.role === "user")?.content ?? "";
    return answerFor(intents.get(normalizePrompt(last)) ?? `unknown:${normalizePrompt(last)}`);
  });
  const dataDir = mkdtempSync(join(tmpdir(), "semcache-online-eval-"));
  const config = loadConfig({
    env: {
      SEMCACHE_MODEL_DIR: options.modelDir,
      SEMCACHE_DATA_DIR: dataDir,
      SEMCACHE_HOST: "127.0.0.1",
      SEMCACHE_PORT: "0",
      // One worker with --threads intra-op threads: the configuration these results have always used.
      SEMCACHE_EMBED_WORKERS: "1",
      SEMCACHE_EMBED_THREADS: String(options.threads),
      SEMCACHE_GUARD: options.guard,
      SEMCACHE_LLM_BASE_URL: llm.url,
      SEMCACHE_LLM_MODEL: "intent-llm",
      SEMCACHE_LOG_LEVEL: "warn",
    },
    argv: [],
    cwd: dataDir,
  });
  const server = await startServerFromConfig(config, createLogger(config.logLevel));
  try {
    await server.ready;
    const configs: OnlineConfig[] = [
      ...options.budgets.map((maxErrorRate): OnlineConfig => ({ kind: "budget", maxErrorRate })),
      ...options.thresholds.map((threshold): OnlineConfig => ({ kind: "static", threshold })),
    ];
    const modelName = basename(options.modelDir) === "fixture-model" ? "fixture-model" : basename(options.modelDir);
    return await evaluateOnline({
      dataset,
      dataPath: options.dataPath,
      dataSha256: createHash("sha256").update(text).digest("hex"),
      url: server.url,
      configs,
      seeds: options.seeds,
      name: options.name ?? `${basename(options.dataPath, extname(options.dataPath))}-online-${modelName}`.replace(/[^\w.-]+/g, "_"),
      model: modelName,
      guard: options.guard,
      progress: (done, total, label) => process.stderr.write(`  ${done}/${total} ${label}\n`),
    });
  } finally {
    await server.close();
    await llm.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}
