/**
 * `npm run docs:settings`: rewrites README.md's settings table from
 * src/config/settings.ts, the one home of every setting (test/config checks
 * that the two agree).
 */
import { readFile, writeFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { withSettingsTable } from "../../src/config/settings-table.js";

const README = fileURLToPath(new URL("../../README.md", import.meta.url));
const before = await readFile(README, "utf8");
const after = withSettingsTable(before);
await writeFile(README, after);
process.stdout.write(before === after ? "README.md settings table already up to date\n" : "README.md settings table rewritten from src/config/settings.ts\n");
