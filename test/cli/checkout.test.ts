/**
 * A checkout works as the README says right after `npm install`: the
 * `semcache` command runs without a build, and npm commands print no
 * warnings about the project's configuration.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
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

  it("leaves out, in one line, the suites whose system tools are missing, and fails instead under CI=true", async () => {
    // A PATH with nothing but bash: no redis-server, no Go toolchain.
    const bin = mkdtempSync(join(tmpdir(), "semcache-path-"));
    symlinkSync("/usr/bin/bash", join(bin, "bash"));
    const script = `import { suitesWithoutTheirTools } from ${JSON.stringify(join(REPO, "test/support/system-prerequisites.ts"))}; console.log(JSON.stringify(suitesWithoutTheirTools()));`;
    const env = { ...process.env, PATH: bin, SEMCACHE_TEST_NO_INSTALL: "1", CI: "" };
    const skipped = await exec(process.execPath, ["--import", "tsx", "--input-type=module", "--eval", script], { cwd: REPO, env, timeout: 60_000 });
    expect(JSON.parse(skipped.stdout)).toEqual(expect.arrayContaining(["test/store/redis-plain.test.ts", "test/clients/go-client.test.ts"]));
    expect(skipped.stderr.trim().split("\n")).toHaveLength(1);
    expect(skipped.stderr).toMatch(/^npm test: skipping \d+ suite\(s\) \(.*test\/store\/redis-plain\.test\.ts.*\) that need redis-server; .*: install with `sudo bash \.ci\/install-system\.sh`/u);
    const inCi = exec(process.execPath, ["--import", "tsx", "--input-type=module", "--eval", script], { cwd: REPO, env: { ...env, CI: "true" }, timeout: 60_000 });
    await expect(inCi).rejects.toMatchObject({ stderr: expect.stringMatching(/CI is set and the tests need: .*redis-server/u) });
  });
});
