/**
 * CI smoke test of the bounded load test (`npm run load`): runs the tool as a
 * child process, small (600 calls at concurrency 16) but complete: a real
 * `semcache serve` child with the fixture model and the embedded store, the
 * loopback OpenAI-compatible server, all four client protocols. Asserts what
 * the tool must guarantee, never a time or a speed.
 */
import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { MIX, METHODS, PROTOCOL_MIX } from "../../tools/load/mix.js";
import type { LoadResults } from "../../tools/load/results.js";

const REPO = fileURLToPath(new URL("../..", import.meta.url));
const MAIN = join(REPO, "tools", "load", "main.ts");

describe("npm run load (smoke run)", () => {
  const out = mkdtempSync(join(tmpdir(), "semcache-load-test-"));
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it("runs the whole mix with no errors, loses no acknowledged write and writes its report", { timeout: 240_000 }, async () => {
    const child = spawn(
      process.execPath,
      ["--import", "tsx", MAIN, "--calls", "600", "--concurrency", "16", "--max-seconds", "220", "--out", out],
      { cwd: REPO, env: { ...process.env }, stdio: ["ignore", "pipe", "pipe"] },
    );
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
    const [code] = (await once(child, "exit")) as [number | null];
    expect(code, output).toBe(0);

    const files = readdirSync(out);
    const json = files.find((f) => /^load-\d{4}-\d\d-\d\dT\d{6}Z-short\.json$/.test(f));
    expect(json, files.join(", ")).toBeDefined();
    expect(files).toContain(json!.replace(/\.json$/, ".md"));
    // A short run must not replace the quoted figures.
    expect(files).not.toContain("load-latest.md");
    const r = JSON.parse(readFileSync(join(out, json!), "utf8")) as LoadResults;
    const markdown = readFileSync(join(out, json!.replace(/\.json$/, ".md")), "utf8");
    expect(markdown).toContain("**PASSED**");

    // Zero errors, in every phase, and every call ran.
    expect(r.passed).toBe(true);
    expect(r.load.summary.errors).toBe(0);
    expect(r.load.summary.errorCounts).toEqual([]);
    expect(r.seeding.errors + r.warmup.errors + r.verification.errors).toBe(0);
    expect(r.load.completed).toBe(600);
    expect(r.load.stoppedByDeadline).toBe(false);
    expect(r.checks.filter((c) => c.fatal && !c.passed)).toEqual([]);

    // Every operation, method and protocol of the mix was exercised.
    for (const op of MIX) expect(r.load.summary.byOperation[op.kind]?.count ?? 0, op.kind).toBeGreaterThan(0);
    for (const method of METHODS) expect(r.load.summary.byMethod[method]?.count ?? 0, method).toBeGreaterThan(0);
    for (const { protocol } of PROTOCOL_MIX) expect(r.load.summary.byProtocol[protocol]?.count ?? 0, protocol).toBeGreaterThan(0);
    // Exact hits of acknowledged prompts always hit; Ask misses really reached the loopback LLM.
    expect(r.load.summary.byOperation["lookup-exact"]!.asIntended).toBe(1);
    expect(r.load.answers.acknowledgedNotFound).toBe(0);
    expect(r.load.answers.askSources["LLM"] ?? 0).toBeGreaterThan(0);
    expect(r.llm.requestsReceived).toBeGreaterThan(0);
    expect(r.serverStats?.overall.llmCalls).toBe(r.llm.requestsReceived);

    // The acknowledged-writes check: every one looked up, every one found, Stores and Ask answers alike.
    const v = r.verification;
    expect(v.passed).toBe(true);
    expect(v.checked).toBe(v.acknowledged);
    expect(v.found).toBe(v.acknowledged);
    expect(v.acknowledgedByOrigin.store).toBeGreaterThan(0);
    expect(v.acknowledgedByOrigin.ask).toBeGreaterThan(0);
    expect(v.missing + v.wrongId + v.wrongResponse).toBe(0);
    expect(r.serverStats?.overall.entries).toBe(v.acknowledged);

    // RSS was sampled through the run (the verdict's figures are in the report; sizes are not asserted).
    expect(r.rss.samples.length).toBeGreaterThanOrEqual(30);
    for (const bytes of [r.rss.startBytes, r.rss.middleBytes, r.rss.endBytes, r.rss.peakBytes]) expect(bytes).toBeGreaterThan(0);
    expect(r.machine.loadAverage).toHaveLength(3);
  });
});
