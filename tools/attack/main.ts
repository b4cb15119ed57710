/**
 * `npm run attack`: runs every attack in tools/attack/attacks (each a
 * bounded, loopback-only reproduction of a hostile client, see attack.ts)
 * against servers it launches, prints a table attack → held / did not hold,
 * writes the results to .cache/attack-results.json, and exits 1 when any
 * attack did not hold.
 *
 *   npm run attack                     # all of them
 *   npm run attack -- --only rebind    # those whose name or file contains "rebind"
 */
import { mkdir, readdir, writeFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import type { Attack, AttackResult } from "./attack.js";
import { createAttackContext } from "./context.js";

const ATTACKS_DIR = new URL("./attacks/", import.meta.url);
const RESULTS_FILE = fileURLToPath(new URL("../../.cache/attack-results.json", import.meta.url));

/** One attack's outcome, as printed and written. */
interface Outcome extends AttackResult {
  readonly item: number;
  readonly attack: string;
  readonly file: string;
  readonly seconds: number;
}

/** Every attack module in the directory, sorted by issue item, then name. */
async function loadAttacks(): Promise<{ file: string; attack: Attack }[]> {
  const files = (await readdir(ATTACKS_DIR)).filter((name) => /\.(?:ts|js)$/u.test(name) && !name.endsWith(".d.ts"));
  const loaded = await Promise.all(
    files.map(async (file) => {
      const module = (await import(new URL(file, ATTACKS_DIR).href)) as { attack?: Attack };
      if (module.attack === undefined) throw new Error(`tools/attack/attacks/${file} exports no \`attack\``);
      return { file, attack: module.attack };
    }),
  );
  return loaded.sort((a, b) => a.attack.item - b.attack.item || a.attack.name.localeCompare(b.attack.name));
}

/** Runs one attack with its own context; every target it launched is stopped after it, whatever happened. */
async function runOne(file: string, attack: Attack): Promise<Outcome> {
  const context = createAttackContext();
  const started = performance.now();
  let result: AttackResult;
  try {
    result = await attack.run(context);
  } catch (error) {
    result = { held: false, detail: `the attack itself failed: ${(error as Error).message.split("\n", 1)[0]}` };
  } finally {
    await context.stopAll();
  }
  return { item: attack.item, attack: attack.name, file, seconds: Math.round((performance.now() - started) / 100) / 10, ...result };
}

function table(outcomes: readonly Outcome[]): string {
  const rows = [["item", "attack", "verdict", "detail"], ...outcomes.map((o) => [String(o.item), o.attack, o.held ? "held" : "did not hold", o.detail])];
  const widths = [0, 1, 2].map((column) => Math.max(...rows.map((row) => (row[column] ?? "").length)));
  const line = (row: readonly string[]): string => row.map((cell, column) => (column < 3 ? cell.padEnd(widths[column] ?? 0) : cell)).join(" | ");
  return [line(rows[0] ?? []), widths.map((w) => "-".repeat(w)).join("-|-") + "-|-------", ...rows.slice(1).map(line)].join("\n");
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { only: { type: "string" } }, allowPositionals: false });
  const only = values.only?.toLowerCase();
  const attacks = (await loadAttacks()).filter(({ file, attack }) => only === undefined || file.toLowerCase().includes(only) || attack.name.toLowerCase().includes(only));
  if (attacks.length === 0) throw new Error(only === undefined ? "no attacks in tools/attack/attacks" : `no attack matches --only ${JSON.stringify(values.only)}`);
  const outcomes: Outcome[] = [];
  for (const { file, attack } of attacks) {
    process.stderr.write(`attack ${attack.item} "${attack.name}" (${file}) ...\n`);
    const outcome = await runOne(file, attack);
    process.stderr.write(`  ${outcome.held ? "held" : "DID NOT HOLD"} in ${outcome.seconds} s: ${outcome.detail}\n`);
    outcomes.push(outcome);
  }
  process.stdout.write(`${table(outcomes)}\n`);
  await mkdir(fileURLToPath(new URL("../../.cache/", import.meta.url)), { recursive: true });
  await writeFile(RESULTS_FILE, `${JSON.stringify({ ranAt: new Date().toISOString(), outcomes }, null, 2)}\n`);
  process.stdout.write(`results: ${RESULTS_FILE}\n`);
  if (outcomes.some((outcome) => !outcome.held)) process.exitCode = 1;
}

main().catch((error: unknown) => {
  process.stderr.write(`attack: ${(error as Error).message}\n`);
  process.exitCode = 1;
});
