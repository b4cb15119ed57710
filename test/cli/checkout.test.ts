/**
 * A checkout works as the README says right after `npm install`: the
 * `semcache` command runs without a build, and npm commands print no
 * warnings about the project's configuration.
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const REPO = fileURLToPath(new URL("../..", import.meta.url));
const exec = promisify(execFile);

describe("a fresh checkout", () => {
  it("runs `npx semcache --help` from source, without `npm run build`", async () => {
    const { stdout } = await exec("npx", ["--no-install", "semcache", "--help"], { cwd: REPO, timeout: 60_000 });
    expect(stdout).toMatch(/^semcache: a semantic cache for LLM calls/u);
    expect(stdout).toContain("semcache serve [options]");
  });

  it("gives npm no configuration to warn about (onnxruntime-node's download is denied through allowScripts)", async () => {
    const { stdout, stderr } = await exec("npm", ["pkg", "get", "allowScripts"], { cwd: REPO, timeout: 60_000 });
    expect(stderr).not.toMatch(/Unknown (project|env|user) config/u);
    expect(JSON.parse(stdout)).toMatchObject({ "onnxruntime-node": false, "better-sqlite3": true, usearch: true });
  });
});
