/**
 * Issue 18 item 10: the data directory deleted under a running server.
 * Stores were still acknowledged and /healthz said SERVING, and everything
 * was lost at the next restart; the failure showed only as a Node warning.
 * Stores a few entries, deletes the embedded store's directory (rm -rf), then
 * keeps storing. Held when every Store after the deletion is refused with
 * UNAVAILABLE naming the path (none acknowledged, so none lost later),
 * /healthz answers 503 NOT_SERVING and the gRPC health service NOT_SERVING
 * within a few seconds, the server logs the loss as a JSON line, and a
 * valid-key Lookup (reads still work) and /healthz answer promptly.
 */
import { rm } from "node:fs/promises";
import type { Attack } from "../attack.js";

/** Stores attempted after the deletion. */
export const STORES_AFTER = 20;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export const attack: Attack = {
  name: "data directory deleted while running",
  item: 10,
  async run({ launch }) {
    const target = await launch();
    const call = async (path: string, body: object): Promise<{ status: number; body: Record<string, unknown> }> => {
      const response = await fetch(`${target.url}${path}`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${target.adminKey}` },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(10_000),
      });
      return { status: response.status, body: (await response.json()) as Record<string, unknown> };
    };
    const storeOne = (i: number) =>
      call("/semcache.v1.SemanticCacheService/Store", { prompt: `data dir question ${i}?`, response: `answer ${i}`, scope: { namespace: "tenant-a" } });

    const before = await Promise.all([0, 1, 2].map(storeOne));
    await rm(target.dataDir, { recursive: true, force: true });

    const after = [];
    for (let i = 0; i < STORES_AFTER; i++) after.push(await storeOne(100 + i));
    const acknowledgedAfter = after.filter((o) => o.status === 200).length;
    const refused = after.filter(
      (o) => o.status === 503 && o.body["code"] === "unavailable" && String(o.body["message"]).includes(target.dataDir),
    ).length;

    // /healthz and the gRPC health service turn NOT_SERVING.
    let healthzStatus = 0;
    let healthzSlowestMs = 0;
    let grpcHealth = "";
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      const started = performance.now();
      healthzStatus = await fetch(`${target.url}/healthz`, { signal: AbortSignal.timeout(5_000) }).then(
        async (r) => (await r.text(), r.status),
        () => 0,
      );
      healthzSlowestMs = Math.max(healthzSlowestMs, performance.now() - started);
      grpcHealth = String((await call("/grpc.health.v1.Health/Check", { service: "" })).body["status"]);
      if (healthzStatus === 503 && grpcHealth === "NOT_SERVING") break;
      await sleep(200);
    }
    const probe = await target.probe(2_000);
    const logged = target
      .stderr()
      .split("\n")
      .some((line) => line.startsWith("{") && line.includes('"level":50') && line.includes(target.dataDir) && line.includes("deleted"));

    const held =
      before.every((o) => o.status === 200) &&
      acknowledgedAfter === 0 &&
      refused === STORES_AFTER &&
      healthzStatus === 503 &&
      grpcHealth === "NOT_SERVING" &&
      logged &&
      probe.lookupMs <= 2_000 &&
      healthzSlowestMs <= 2_000;
    return {
      held,
      detail:
        `${acknowledgedAfter}/${STORES_AFTER} stores acknowledged after the deletion, ${refused}/${STORES_AFTER} refused UNAVAILABLE naming the path; ` +
        `/healthz ${healthzStatus}, gRPC health ${grpcHealth}, logged ${logged}; lookup ${probe.lookupMs.toFixed(0)} ms, ` +
        `slowest /healthz ${healthzSlowestMs.toFixed(0)} ms`,
    };
  },
};
