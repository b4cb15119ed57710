import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { createMatchGuard, GUARD_CHECKS } from "../../src/cache/guard/index.js";
import { SemanticCache } from "../../src/cache/semantic-cache.js";
import { loadOnnxEmbedder } from "../../src/embedder/load.js";
import type { OnnxEmbedder } from "../../src/embedder/onnx-embedder.js";
import { calibrateCommand } from "../../src/eval/calibrate.js";
import { evaluate, plotReport, writeReport } from "../../src/eval/command.js";
import { parseDataset } from "../../src/eval/dataset.js";
import { observeInProcess } from "../../src/eval/run.js";
import { servedAt } from "../../src/eval/score.js";
import { openEmbeddedStore } from "../../src/store/embedded/index.js";
import { runCli } from "../support/child-server.js";
import { fixtureModelDir } from "../support/fixture-model.js";
import { TINY_INTENTS } from "./support/tiny.js";

let modelDir: string;
let embedder: OnnxEmbedder;
const scratch = mkdtempSync(join(tmpdir(), "semcache-eval-test-"));
const dataPath = join(scratch, "tiny.jsonl");

beforeAll(async () => {
  modelDir = await fixtureModelDir();
  embedder = await loadOnnxEmbedder({ modelDir, threads: 1 });
  writeFileSync(dataPath, TINY_INTENTS);
});
afterAll(async () => {
  await embedder.close();
  rmSync(scratch, { recursive: true, force: true });
});

describe("in-process evaluation", () => {
  it("classifies each threshold exactly as a lookup at that threshold would, with and without the guard", async () => {
    const dataset = parseDataset(TINY_INTENTS);
    const observed = await observeInProcess(dataset, { embedder, guardChecks: GUARD_CHECKS });

    // The reference: a fresh cache per variant, looked up again at each threshold.
    const dir = mkdtempSync(join(tmpdir(), "semcache-eval-ref-"));
    const store = await openEmbeddedStore({ dataDir: dir, modelId: embedder.modelId, dimension: embedder.dimension, snapshots: false, purgeIntervalMs: 0 });
    try {
      const options = { defaultThreshold: 0.9, defaultTtlSeconds: 0, maxPromptBytes: 65536, maxResponseBytes: 65536, maxMetadataEntries: 0, maxMetadataBytes: 0 };
      const plain = new SemanticCache(store, embedder, options);
      const guarded = new SemanticCache(store, embedder, { ...options, guard: createMatchGuard() });
      for (const seed of dataset.seeds) await plain.store({ prompt: seed.prompt, response: seed.intent, scope: { namespace: "ref" } });
      const lookups = [...dataset.paras, ...dataset.nears];
      for (const threshold of [0.5, 0.6, 0.7, 0.9, 0.925, 0.935, 0.95, 0.999, 1]) {
        for (const [variant, cache] of [["guardOff", plain], ["guardOn", guarded]] as const) {
          for (const [i, line] of lookups.entries()) {
            const real = await cache.lookup({ prompt: line.prompt, scope: { namespace: "ref" }, minSimilarity: threshold });
            const o = observed.variants[variant]![i]!;
            expect(o.line).toBe(line);
            expect(servedAt(o, threshold), `${variant} at ${threshold}: ${line.prompt}`).toBe(real.hit);
            if (real.hit) expect(o.served?.intent).toBe(real.entry.response);
          }
        }
      }
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }

    // The guard refused both nears' seeds, and says why; each near then falls
    // through to an unrelated seed, far below any sensible threshold.
    const on = observed.variants.guardOn!;
    const nears = on.filter((o) => o.line.role === "near");
    expect(nears.map((o) => o.rejected?.check).sort()).toEqual(["entities", "numbers"]);
    expect(nears.every((o) => o.served?.intent !== o.rejected?.intent && !servedAt(o, 0.8))).toBe(true);
    expect(observed.variants.guardOff!.filter((o) => o.line.role === "near").every((o) => servedAt(o, 0.93))).toBe(true);
  });

  it("reports the sweep, the calibrated threshold and the guard's effect, and writes JSON and SVG", async () => {
    const report = await evaluate({
      dataPath,
      subject: { kind: "in-process", embedder, guardChecks: GUARD_CHECKS },
      sweep: { from: 0.5, to: 0.99, step: 0.01 },
      operatingThreshold: 0.9,
      targetPrecision: 1,
    });
    expect(report.name).toBe(`tiny-${embedder.modelId}`);
    expect(report.data).toMatchObject({ seeds: 3, paras: 3, nears: 2 });
    const off = report.variants.guardOff!;
    const on = report.variants.guardOn!;
    expect(off.sweep).toHaveLength(50);
    // Without the guard the nears are nearer than the paras: no threshold is precise.
    expect(off.best).toBeNull();
    // With it, the two close paraphrases are served with no false hit (the
    // third is too far: reaching it lets the nears' fall-back candidates in).
    expect(on.best?.hitRate).toBeCloseTo(2 / 3, 9);
    expect(on.best?.precision).toBe(1);
    expect(on.best?.threshold).toBeGreaterThan(0.8);
    expect(on.best?.threshold).toBeLessThan(0.94);
    const atOperating = report.guardEffect![0]!;
    expect(atOperating.threshold).toBe(0.9);
    expect(atOperating.falseHitsNears[0]).toBe(2);
    expect(atOperating.falseHitsNears[1]).toBe(0);
    expect(atOperating.falseHitsByCategory["different number"]).toEqual([1, 0]);
    expect(report.lookups).toHaveLength(5);

    const files = writeReport(report, join(scratch, "out"));
    expect(files.json.endsWith(`${report.name}.json`)).toBe(true);
    expect(plotReport(report)).toContain("guard on");
  });
});

describe("semcache calibrate", () => {
  it("prints the threshold to set for the target precision (as a real CLI)", async () => {
    const result = await runCli(["calibrate", "--data", dataPath, "--precision", "1", "--embed-threads", "1"], {
      SEMCACHE_MODEL_DIR: modelDir,
      SEMCACHE_DATA_DIR: join(scratch, "unused"),
    });
    expect(result.stderr).toContain("precision ≥ 1: threshold");
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^SEMCACHE_THRESHOLD=0\.\d\d\n$/);
  });

  it("says when no threshold reaches the precision, and exits with 1", async () => {
    const stderr = vi.spyOn(process.stderr, "write").mockImplementation(() => true);
    const stdout = vi.spyOn(process.stdout, "write").mockImplementation(() => true);
    try {
      const code = await calibrateCommand(["--data", dataPath, "--precision", "1", "--model-dir", modelDir, "--guard", "off", "--embed-threads", "1"]);
      expect(code).toBe(1);
      expect(stdout).not.toHaveBeenCalled();
      expect(stderr.mock.calls.map((c) => String(c[0])).join("")).toMatch(/no threshold in 0\.5\.\.0\.99 reaches precision 1 \(highest: /);
    } finally {
      stderr.mockRestore();
      stdout.mockRestore();
    }
  });

  it("rejects a missing --data and bad flags", async () => {
    const stderr = vi.spyOn(process.stderr, "write").mockImplementation(() => true);
    try {
      expect(await calibrateCommand([])).toBe(2);
      expect(await calibrateCommand(["--data", dataPath, "--precision", "2"])).toBe(2);
      expect(await calibrateCommand(["--data", dataPath, "--guard", "colours"])).toBe(2);
      const text = stderr.mock.calls.map((c) => String(c[0])).join("");
      expect(text).toContain("--data FILE is required");
      expect(text).toContain("--precision must be a number greater than 0 and at most 1");
      expect(text).toContain('--guard="colours"');
    } finally {
      stderr.mockRestore();
    }
  });
});
