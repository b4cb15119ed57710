import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { withSettingsTable } from "../../src/config/settings-table.js";
import { SETTINGS } from "../../src/config/settings.js";

const README = fileURLToPath(new URL("../../README.md", import.meta.url));

describe("the README's settings table", () => {
  it("is the one src/config/settings.ts generates (run `npm run docs:settings` after changing a setting)", async () => {
    const readme = await readFile(README, "utf8");
    expect(withSettingsTable(readme)).toBe(readme);
    for (const { env } of Object.values(SETTINGS)) expect(readme).toContain(`| \`${env}\` |`);
  });
});
