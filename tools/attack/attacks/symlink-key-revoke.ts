/**
 * Item 6: a key revoked in a key file that is a symlink, laid out as a
 * Kubernetes Secret volume mounts it (`keys.json -> ..data/keys.json`,
 * `..data -> ..<timestamp>`, updated by writing a new timestamped directory
 * and renaming a new `..data` symlink over the old one). Nothing named
 * keys.json changes in the directory, so a watch that filters on that name
 * never reloads: the revoked key kept working until SIGHUP.
 *
 * Held when each of two revocations in a row (two swaps) is refused within
 * REVOKE_BOUND_MS, the keys not revoked keep working, and the valid-key
 * Lookup and /healthz are answered within 2 s throughout.
 */
import { mkdir, mkdtemp, readlink, rename, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Attack } from "../attack.js";

/** How soon a revoked key must be refused: the watcher's 2 s poll is the slowest path. */
const REVOKE_BOUND_MS = 5_000;
const PROBE_BOUND_MS = 2_000;

/**
 * Writes `files` into `dir` as Kubernetes' AtomicWriter does: into a new
 * `..<timestamp>` directory, then a `..data_tmp` symlink to it renamed over
 * `..data`, with each file a symlink through `..data`; the old directory is
 * removed. Used for the first write and for every update.
 */
export async function writeSecretVolume(dir: string, files: Readonly<Record<string, string>>): Promise<void> {
  const version = `..${new Date().toISOString().replace(/[-:]/g, "_")}.${Math.random().toString(36).slice(2, 8)}`;
  await mkdir(join(dir, version));
  for (const [name, text] of Object.entries(files)) await writeFile(join(dir, version, name), text, { mode: 0o600 });
  const previous = await readlink(join(dir, "..data")).catch(() => undefined);
  await symlink(version, join(dir, "..data_tmp"));
  await rename(join(dir, "..data_tmp"), join(dir, "..data"));
  for (const name of Object.keys(files)) await symlink(join("..data", name), join(dir, name)).catch(() => undefined);
  if (previous !== undefined) await rm(join(dir, previous), { recursive: true, force: true });
}

type KeyFileJson = { keys: { id: string }[] };

export const attack: Attack = {
  name: "symlinked key file, revoked key",
  item: 6,
  async run({ launch }) {
    const volume = await mkdtemp(join(tmpdir(), "semcache-secret-"));
    let keyFile: KeyFileJson = { keys: [] };
    try {
      const target = await launch({
        extraKeys: [
          { id: "revoked-first", role: "user", namespaces: ["tenant-b"] },
          { id: "revoked-second", role: "user", namespaces: ["tenant-b"] },
        ],
        async writeKeyFile(json) {
          keyFile = JSON.parse(json) as KeyFileJson;
          await writeSecretVolume(volume, { "keys.json": json });
          return join(volume, "keys.json");
        },
      });
      const lookupStatus = (key: string): Promise<number> =>
        fetch(`${target.url}/semcache.v1.SemanticCacheService/Lookup`, {
          method: "POST",
          headers: { "content-type": "application/json", authorization: `Bearer ${key}` },
          body: JSON.stringify({ prompt: "Is this key still good?", scope: { namespace: "tenant-b" } }),
          signal: AbortSignal.timeout(5_000),
        }).then(
          async (r) => (await r.text(), r.status),
          () => 0,
        );

      const facts: string[] = [];
      let held = true;
      let slowestProbeMs = 0;
      for (const id of ["revoked-first", "revoked-second"]) {
        const key = target.extraKeys[id]!;
        const before = await lookupStatus(key);
        keyFile = { keys: keyFile.keys.filter((k) => k.id !== id) };
        const swapped = performance.now();
        await writeSecretVolume(volume, { "keys.json": JSON.stringify(keyFile) });
        let refusedAfterMs = Number.POSITIVE_INFINITY;
        while (performance.now() - swapped < 3 * REVOKE_BOUND_MS) {
          const [status, probe] = await Promise.all([lookupStatus(key), target.probe(5_000)]);
          slowestProbeMs = Math.max(slowestProbeMs, probe.lookupMs, probe.healthzMs);
          if (status === 401) {
            refusedAfterMs = performance.now() - swapped;
            break;
          }
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
        facts.push(`${id}: ${before} before, refused ${Number.isFinite(refusedAfterMs) ? `${Math.round(refusedAfterMs)} ms` : "never"} after the swap`);
        held &&= before === 200 && refusedAfterMs <= REVOKE_BOUND_MS;
      }
      const after = await target.probe(5_000);
      slowestProbeMs = Math.max(slowestProbeMs, after.lookupMs, after.healthzMs);
      held &&= slowestProbeMs <= PROBE_BOUND_MS;
      return { held, detail: `${facts.join("; ")}; slowest probe ${Math.round(slowestProbeMs)} ms (bounds: refused ≤ ${REVOKE_BOUND_MS} ms, probes ≤ ${PROBE_BOUND_MS} ms)` };
    } finally {
      await rm(volume, { recursive: true, force: true });
    }
  },
};
