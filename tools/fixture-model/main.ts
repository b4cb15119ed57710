/**
 * CLI: `tsx tools/fixture-model/main.ts [dir]` (or `npm run fixture-model -- [dir]`)
 * builds the fixture model into `dir` (default `.cache/fixture-model`) unless
 * an up-to-date build is already there, and prints what the directory holds.
 */
import { performance } from "node:perf_hooks";
import { join } from "node:path";
import { DEFAULT_FIXTURE_DIR, ensureFixtureModel, readFixtureStamp } from "./index.js";

async function main(argv: readonly string[]): Promise<void> {
  const args = argv.filter((a) => a !== "--");
  if (args.includes("-h") || args.includes("--help") || args.length > 1) {
    console.log("usage: tsx tools/fixture-model/main.ts [dir]\n  default dir: " + DEFAULT_FIXTURE_DIR);
    process.exitCode = args.length > 1 ? 2 : 0;
    return;
  }
  const started = performance.now();
  const dir = await ensureFixtureModel(args[0] ?? DEFAULT_FIXTURE_DIR);
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  const { report, builtAt } = await readFixtureStamp(dir);
  console.log(`fixture model in ${dir} (built ${builtAt}; this run took ${seconds} s)`);
  for (const [file, size] of Object.entries(report.files)) {
    console.log(`  ${join(dir, file)}  ${(size / 1e6).toFixed(1)} MB`);
  }
  console.log(`  model sha256 ${report.modelSha256}, ${report.nodeCount} nodes`);
  console.log(
    `  word-vector rows: ${report.table.withVector} of ${report.table.withVector + report.table.zero} tokens ` +
      `(the rest are zero: special/unused tokens and words the vectors lack)`,
  );
  const m = report.millis;
  console.log(`  build time: ${m.total} ms (word vectors ${m.wordVectors}, table ${m.table}, graph ${m.graph}, write ${m.write})`);
}

main(process.argv.slice(2)).catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
