/**
 * Snapshot files are hashed on a worker thread while the store reads SQLite
 * (src/store/embedded/file-hash.ts): the hashes must be the ones computed on
 * this thread, and an unreadable file must come back as no hash at all.
 */
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { sha256File, sha256FilesOffThread } from "../../src/store/embedded/file-hash.js";

const dir = mkdtempSync(join(tmpdir(), "semcache-file-hash-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("snapshot file hashes", () => {
  it("hashes files on a worker thread exactly as on this one, in any order asked, and reports a missing file as unreadable", async () => {
    const files = [1, 3 << 20, 5].map((size, i) => {
      const path = join(dir, `${i}.usearch`);
      const bytes = Buffer.alloc(size, i + 1);
      writeFileSync(path, bytes);
      return { path, expected: createHash("sha256").update(bytes).digest("hex") };
    });
    const missing = join(dir, "gone.usearch");
    const pending = sha256FilesOffThread([...files.map((f) => f.path), missing]);
    try {
      // Asked for the last first: it waits for the worker to get there.
      expect(await pending.get(files[2]!.path)).toBe(files[2]!.expected);
      for (const f of files) {
        expect(await pending.get(f.path)).toBe(f.expected);
        expect(sha256File(f.path)).toBe(f.expected);
      }
      expect(await pending.get(missing)).toBeUndefined();
    } finally {
      pending.stop();
    }
  });

  it("still answers after it was stopped, by hashing on this thread", async () => {
    const path = join(dir, "late.usearch");
    writeFileSync(path, "late");
    const pending = sha256FilesOffThread([path]);
    pending.stop();
    expect(await pending.get(path)).toBe(createHash("sha256").update("late").digest("hex"));
  });
});
