/** Where and how every benchmark writes its results. */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** A UTC time as it appears in result file names: `2026-12-04T024515Z`. */
export function resultStamp(at: Date): string {
  return at.toISOString().replace(/:/g, "").replace(/\..*$/, "Z");
}

/**
 * Writes `name.json` (pretty-printed) and `name.md` into `out`, creating it,
 * and the markdown once more as `latest` when given (e.g. `recall-latest.md`).
 */
export function writeResultFiles(out: string, name: string, json: unknown, markdown: string, latest?: string): void {
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, `${name}.json`), `${JSON.stringify(json, null, 2)}\n`);
  writeFileSync(join(out, `${name}.md`), markdown);
  if (latest !== undefined) writeFileSync(join(out, latest), markdown);
}
