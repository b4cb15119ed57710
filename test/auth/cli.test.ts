/**
 * Keys through real processes: `semcache keys add|hash`, a key file a
 * running `semcache serve` uses, reloads on SIGHUP, refuses at start when
 * broken, and logs the key's id, never the key.
 */
import { spawn } from "node:child_process";
import { once } from "node:events";
import { readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, describe, expect, it } from "vitest";
import { hashApiKey } from "../../src/auth/index.js";
import { runCli, startChildServer } from "../support/child-server.js";
import { clientFor } from "../support/clients.js";
import { until } from "../support/eventually.js";
import { tempDir, testEnv } from "../support/test-server.js";
import { testKey, writeKeyFile } from "../support/key-files.js";

const REPO = fileURLToPath(new URL("../..", import.meta.url));
const CLI = fileURLToPath(new URL("../../src/cli/main.ts", import.meta.url));
const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function scratch(): string {
  const dir = tempDir("semcache-keys-cli-");
  dirs.push(dir);
  return dir;
}

async function hashOnStdin(key: string): Promise<{ code: number | null; stdout: string }> {
  const child = spawn(process.execPath, ["--import", "tsx", CLI, "keys", "hash"], { cwd: REPO, stdio: ["pipe", "pipe", "pipe"] });
  let stdout = "";
  child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  child.stdin.end(`${key}\n`);
  const [code] = (await once(child, "exit")) as [number | null];
  return { code, stdout };
}

describe("semcache keys", () => {
  it("adds keys to a key file (hash only, owner-readable) and prints each key once", async () => {
    const file = join(scratch(), "keys.json");
    const first = await runCli(["keys", "add", "--file", file, "--id", "team-a", "--role", "user", "--namespaces", "team-a,team-a/*", "--rps", "5", "--burst", "10"], {});
    expect(first.code, first.stderr).toBe(0);
    const key = first.stdout.trim();
    expect(key).toMatch(/^sck_[A-Za-z0-9_-]{43}$/);
    expect(first.stderr).toContain("not stored anywhere");
    const second = await runCli(["keys", "add", "--file", file, "--id", "ops", "--role", "admin"], {});
    expect(second.code, second.stderr).toBe(0);

    const text = readFileSync(file, "utf8");
    expect(text).not.toContain(key);
    expect(JSON.parse(text)).toEqual({
      keys: [
        { id: "team-a", sha256: hashApiKey(key).toString("hex"), role: "user", namespaces: ["team-a", "team-a/*"], defaultNamespace: "team-a", rateLimit: { requestsPerSecond: 5, burst: 10 } },
        { id: "ops", sha256: hashApiKey(second.stdout.trim()).toString("hex"), role: "admin" },
      ],
    });
    expect(statSync(file).mode & 0o777).toBe(0o600);

    const hashed = await hashOnStdin(key);
    expect(hashed.code).toBe(0);
    expect(hashed.stdout.trim()).toBe(hashApiKey(key).toString("hex"));
  });

  it("refuses a key the file cannot hold, and leaves the file as it was", async () => {
    const file = join(scratch(), "keys.json");
    expect((await runCli(["keys", "add", "--file", file, "--id", "a", "--role", "user", "--namespaces", "a"], {})).code).toBe(0);
    const before = readFileSync(file, "utf8");
    const duplicate = await runCli(["keys", "add", "--file", file, "--id", "a", "--role", "user", "--namespaces", "b"], {});
    expect(duplicate.code).toBe(1);
    expect(duplicate.stderr).toMatch(/keys\[1\] \("a"\): the id is used by another key/);
    const noNamespaces = await runCli(["keys", "add", "--file", file, "--id", "b", "--role", "user"], {});
    expect(noNamespaces.stderr).toMatch(/"namespaces" must be a list/);
    expect((await runCli(["keys", "add", "--file", file, "--id", "c", "--role", "root"], {})).stderr).toMatch(/--role must be one of user, admin, metrics/);
    expect(readFileSync(file, "utf8")).toBe(before);
  });
});

describe("semcache serve with a key file", () => {
  it("refuses to start on a broken key file, naming the file, the key and the field", async () => {
    const dir = scratch();
    const file = join(dir, "keys.json");
    writeFileSync(file, JSON.stringify({ keys: [{ id: "team-a", sha256: "not-a-hash", role: "user", namespaces: ["team-a"] }] }));
    const result = await runCli(["serve"], await testEnv(join(dir, "data"), { SEMCACHE_API_KEYS_FILE: file }));
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`${file}: keys[0] ("team-a"): "sha256" must be`);
    const missing = await runCli(["serve"], await testEnv(join(dir, "data"), { SEMCACHE_API_KEYS_FILE: join(dir, "nope.json") }));
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/nope\.json: cannot read the API key file \(ENOENT\)/);
  });

  it("reloads keys on SIGHUP and logs key ids, never keys", async () => {
    const dir = scratch();
    const alice = testKey({ id: "alice", role: "user", namespaces: ["team-a"] });
    const carol = testKey({ id: "carol", role: "user", namespaces: ["team-c"] });
    const file = writeKeyFile(dir, [alice]);
    const server = await startChildServer(await testEnv(join(dir, "data"), { SEMCACHE_API_KEYS_FILE: file }));
    try {
      const reloads = () => server.stderr().split("\n").filter((line) => line.includes('"msg":"API keys reloaded"')).length;
      await clientFor("grpc", server.url, { apiKey: alice.key }).store({ prompt: "logged by id", response: "yes" });
      const denied = await clientFor("grpc", server.url, { apiKey: carol.key }).lookup({ prompt: "hi" }).catch((e: unknown) => e);
      expect((denied as ConnectError).code).toBe(Code.Unauthenticated);

      writeKeyFile(dir, [alice, carol]);
      // The file watch reloads by itself; SIGHUP must reload once more.
      await until(() => reloads() >= 1, "the file watch reloaded the keys", 15_000, 50);
      const afterWatch = reloads();
      server.process.kill("SIGHUP");
      await until(() => reloads() > afterWatch, "SIGHUP reloaded the keys", 15_000, 50);
      expect((await clientFor("grpc", server.url, { apiKey: carol.key }).lookup({ prompt: "hi" })).hit).toBe(false);

      const log = server.stderr();
      expect(log).toMatch(/"keyId":"alice".*"method":"Store"|"method":"Store".*"keyId":"alice"/);
      expect(log).toMatch(/"code":"unauthenticated"/);
      expect(log).not.toContain(alice.key);
      expect(log).not.toContain(carol.key);
    } finally {
      server.process.kill("SIGTERM");
      expect(await server.exited).toBe(0);
    }
  });
});
