/**
 * The key file watcher on real file systems layouts: a Kubernetes Secret
 * volume (symlinks swapped atomically), a symlink into another directory, a
 * directory deleted and made again; and a server refusing a key revoked
 * through a Secret swap.
 */
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Code } from "@connectrpc/connect";
import { afterEach, describe, expect, it } from "vitest";
import { watchFile } from "../../src/auth/key-file-watcher.js";
import { writeSecretVolume } from "../../tools/attack/attacks/symlink-key-revoke.js";
import { clientFor } from "../support/clients.js";
import { eventually, sleep } from "../support/eventually.js";
import { startTestServer, type TestServer } from "../support/test-server.js";
import { entryOf, testKey } from "../support/key-files.js";

const dirs: string[] = [];
const closers: (() => unknown)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "semcache-watch-"));
  dirs.push(dir);
  return dir;
}

/** Watches `path`, counting reloads. */
function counted(path: string, pollMs?: number): { changes: () => number } {
  let changes = 0;
  const watcher = watchFile(path, () => changes++, pollMs === undefined ? {} : { pollMs });
  closers.push(() => watcher.close());
  return { changes: () => changes };
}

async function changed(watch: { changes: () => number }, atLeast: number): Promise<void> {
  await eventually(async () => expect(watch.changes()).toBeGreaterThanOrEqual(atLeast), 8_000);
}

describe("watchFile", () => {
  it("notices a Kubernetes Secret update (..data swapped by rename), again and again", async () => {
    const volume = tempDir();
    await writeSecretVolume(volume, { "keys.json": "one" });
    const watch = counted(join(volume, "keys.json"));
    await writeSecretVolume(volume, { "keys.json": "two" });
    await changed(watch, 1);
    await writeSecretVolume(volume, { "keys.json": "three" });
    await changed(watch, 2);
  });

  it("notices an edit in place of a symlink's target in another directory", async () => {
    const here = tempDir();
    const elsewhere = tempDir();
    writeFileSync(join(elsewhere, "real.json"), "one");
    symlinkSync(join(elsewhere, "real.json"), join(here, "keys.json"));
    const watch = counted(join(here, "keys.json"));
    writeFileSync(join(elsewhere, "real.json"), "two, longer");
    await changed(watch, 1);
  });

  it("keeps watching after its directory is deleted and made again", async () => {
    const parent = tempDir();
    const dir = join(parent, "secret");
    mkdirSync(dir);
    writeFileSync(join(dir, "keys.json"), "one");
    const watch = counted(join(dir, "keys.json"), 500);
    rmSync(dir, { recursive: true });
    await changed(watch, 1); // gone: a reload that keeps the keys in force
    mkdirSync(dir);
    writeFileSync(join(dir, "keys.json"), "two");
    await changed(watch, 2);
    writeFileSync(join(dir, "keys.json"), "three, edited");
    await changed(watch, 3);
  });

  it("does not reload for other files of the directory", async () => {
    const dir = tempDir();
    writeFileSync(join(dir, "keys.json"), "one");
    const watch = counted(join(dir, "keys.json"), 200);
    writeFileSync(join(dir, "unrelated.txt"), "noise");
    writeFileSync(join(dir, "unrelated.txt"), "more noise");
    // Past the settle time and two polls.
    await sleep(700);
    expect(watch.changes()).toBe(0);
  });
});

describe("a server whose key file is a Kubernetes Secret volume", () => {
  let server: TestServer | undefined;
  afterEach(async () => {
    await server?.stop();
    server = undefined;
  });

  it("refuses a revoked key within seconds of the ..data swap; the others keep working", async () => {
    const volume = tempDir();
    const staying = testKey({ id: "staying", role: "user", namespaces: ["team-a"] });
    const leaving = testKey({ id: "leaving", role: "user", namespaces: ["team-a"] });
    await writeSecretVolume(volume, { "keys.json": JSON.stringify({ keys: [staying, leaving].map(entryOf) }) });
    server = await startTestServer({ env: { SEMCACHE_API_KEYS_FILE: join(volume, "keys.json") } });
    const lookup = (key: string) => clientFor("grpc", server!.url, { apiKey: key }).lookup({ prompt: "Still allowed?", scope: { namespace: "team-a" } });
    expect((await lookup(leaving.key)).hit).toBe(false);

    await writeSecretVolume(volume, { "keys.json": JSON.stringify({ keys: [staying].map(entryOf) }) });
    await eventually(() => expect(lookup(leaving.key)).rejects.toMatchObject({ code: Code.Unauthenticated }), 5_000);
    expect((await lookup(staying.key)).hit).toBe(false);
  });
});
