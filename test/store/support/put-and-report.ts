/**
 * Child process of the crash-durability test: opens the embedded store in
 * argv[2], then puts entries forever in bursts of concurrent single puts and
 * prints "ack <id>" for each as soon as its put resolves. The parent kills it
 * with SIGKILL mid-burst and checks every acknowledged id survived.
 *
 * stdout to a pipe is synchronous on Linux, so a printed line is never lost
 * in a buffer when the process dies.
 */
import { openEmbeddedStore } from "../../../src/store/embedded/index.js";
import { DIM, entryOf, randomUnit, scopeOf } from "./vectors.js";

const dataDir = process.argv[2];
if (dataDir === undefined) throw new Error("usage: put-and-report.ts <data-dir>");

const store = await openEmbeddedStore({ dataDir, modelId: "crash-test", dimension: DIM });
const scopes = [scopeOf("crash"), scopeOf("crash", "m2"), scopeOf("crash-2")];
process.stdout.write("ready\n");

for (let burst = 0; ; burst++) {
  const puts = Array.from({ length: 20 }, (_, i) => {
    const n = burst * 20 + i;
    const entry = entryOf(scopes[n % scopes.length]!, `prompt ${n}`, randomUnit(n), { metadata: { n: String(n) } });
    return store.put([entry]).then(() => {
      process.stdout.write(`ack ${entry.id}\n`);
      // Hits too, so a crash with pending hit increments is exercised.
      return store.recordHit(entry.id);
    });
  });
  await Promise.all(puts);
}
