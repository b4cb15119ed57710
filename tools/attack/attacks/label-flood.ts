/**
 * Item 7: calls refused before authorization, each naming a made-up
 * namespace, used to create namespace labels in /metrics (and memory for
 * each name): 60,000 refused calls filled all 20 label slots with `fake-…`
 * names and grew the server by 85 MB.
 *
 * Here: two rounds of FLOOD_CALLS / 2 refused calls (a third without a key,
 * a third with an unknown key, a third with a real key over its rate limit,
 * which lets one call a second through to be refused for the namespace),
 * each with a fresh random namespace; then ADMITTED_CALLS calls of an
 * admitted admin key (unlimited rate) in as many distinct namespaces, each
 * invalid (empty prompt), which may create labels but only up to the limit.
 *
 * Held when no `fake-` name appears in /metrics, every refused call counts
 * under no namespace, at most the label limit of namespaces is labelled,
 * the server's RSS grew by at most RSS_BOUND_BYTES over the whole attack
 * (V8 growing its heap under load included; the RSS after each round is
 * reported, and what the names themselves may cost is bounded by
 * construction and unit-tested in test/observability/metrics.test.ts), and
 * the valid-key Lookup and /healthz were answered within 2 s during and
 * after.
 */
import { randomBytes } from "node:crypto";
import type { Attack } from "../attack.js";
import type { AttackTarget } from "../target.js";

const FLOOD_CALLS = 5_000;
const ADMITTED_CALLS = 2_000;
const CONCURRENCY = 32;
const LABEL_LIMIT = 20;
const RSS_BOUND_BYTES = 96 * 1024 * 1024;
const PROBE_BOUND_MS = 2_000;
const MiB = 1024 * 1024;

const mib = (bytes: number): string => (bytes / MiB).toFixed(0);
const signed = (bytes: number): string => `${bytes >= 0 ? "+" : ""}${(bytes / MiB).toFixed(1)}`;

/** A Connect JSON Lookup; resolves to the HTTP status (0 when it got none). */
function lookup(target: AttackTarget, key: string | undefined, namespace: string, prompt: string): Promise<number> {
  return fetch(`${target.url}/semcache.v1.SemanticCacheService/Lookup`, {
    method: "POST",
    headers: { "content-type": "application/json", ...(key === undefined ? {} : { authorization: `Bearer ${key}` }) },
    body: JSON.stringify({ prompt, scope: { namespace } }),
    signal: AbortSignal.timeout(10_000),
  }).then(
    async (r) => (await r.text(), r.status),
    () => 0,
  );
}

/** Runs `count` calls, `CONCURRENCY` at a time; counts their statuses. */
async function flood(count: number, call: (i: number) => Promise<number>): Promise<Map<number, number>> {
  const statuses = new Map<number, number>();
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) {
      const status = await call(next++);
      statuses.set(status, (statuses.get(status) ?? 0) + 1);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  return statuses;
}

interface MetricsJsonPart {
  readonly namespaceLabels: { readonly limit: number; readonly labelled: readonly string[] };
  readonly errors: { readonly byNamespace: Record<string, Record<string, number>> };
}

export const attack: Attack = {
  name: "namespace label flood by refused calls",
  item: 7,
  async run({ launch }) {
    const target = await launch({
      env: { SEMCACHE_METRICS_NAMESPACE_LABELS: String(LABEL_LIMIT) },
      extraKeys: [
        { id: "flooder", role: "user", namespaces: ["flooder"], rateLimit: { requestsPerSecond: 1, burst: 1 } },
        { id: "busy-admin", role: "admin", rateLimit: { requestsPerSecond: 0, burst: 1 } },
      ],
    });
    const metrics = async (): Promise<{ json: MetricsJsonPart; text: string }> => {
      const headers = { authorization: `Bearer ${target.adminKey}` };
      const json = (await (await fetch(`${target.url}/metrics/json`, { headers })).json()) as MetricsJsonPart;
      const text = await (await fetch(`${target.url}/metrics`, { headers })).text();
      return { json, text };
    };
    // Warm up the paths the flood takes, so the baseline is not a cold process.
    await flood(200, (i) => lookup(target, undefined, `warm-${i}`, "warm up"));
    await metrics();
    const rssBefore = await target.rssBytes();

    let slowestProbeMs = 0;
    let probing = true;
    const prober = (async () => {
      while (probing) {
        const { lookupMs, healthzMs } = await target.probe(5_000);
        slowestProbeMs = Math.max(slowestProbeMs, lookupMs, healthzMs);
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    })();
    const fake = () => `fake-${randomBytes(6).toString("hex")}`;
    const badKey = `sck_${randomBytes(32).toString("base64url")}`;
    const refusedRound = () =>
      flood(FLOOD_CALLS / 2, (i) => {
        const key = i % 3 === 0 ? undefined : i % 3 === 1 ? badKey : target.extraKeys["flooder"]!;
        return lookup(target, key, fake(), "What is the capital of France?");
      });
    const first = await refusedRound();
    const rssFirstRound = await target.rssBytes();
    const second = await refusedRound();
    const rssSecondRound = await target.rssBytes();
    const refused = new Map<number, number>();
    for (const round of [first, second]) for (const [status, n] of round) refused.set(status, (refused.get(status) ?? 0) + n);
    const afterRefused = await metrics();
    const admitted = await flood(ADMITTED_CALLS, (i) => lookup(target, target.extraKeys["busy-admin"]!, `admitted-${i}`, ""));
    probing = false;
    await prober;
    const after = await metrics();
    const { lookupMs, healthzMs } = await target.probe(5_000);
    slowestProbeMs = Math.max(slowestProbeMs, lookupMs, healthzMs);
    const rssAfter = await target.rssBytes();

    const fakeLabelled = /fake-/.test(afterRefused.text) || /fake-/.test(after.text);
    const unauthenticated = refused.get(401) ?? 0;
    const denied = refused.get(403) ?? 0;
    const rateLimited = refused.get(429) ?? 0;
    const labelled = after.json.namespaceLabels.labelled.length;
    const growth = rssAfter - rssBefore;
    const roundGrowth = rssSecondRound - rssFirstRound;
    const held =
      !fakeLabelled &&
      unauthenticated + denied + rateLimited === FLOOD_CALLS &&
      labelled <= LABEL_LIMIT &&
      (admitted.get(400) ?? 0) === ADMITTED_CALLS &&
      growth <= RSS_BOUND_BYTES &&
      slowestProbeMs <= PROBE_BOUND_MS;
    const noNamespace = after.json.errors.byNamespace[""] ?? {};
    return {
      held,
      detail:
        `${FLOOD_CALLS} refused calls (${unauthenticated}×401, ${denied}×403, ${rateLimited}×429) with random namespaces: ` +
        `${fakeLabelled ? "fake- labels appeared" : "no fake- label"}, counted under no namespace ${JSON.stringify(noNamespace)}; ` +
        `${ADMITTED_CALLS} admitted invalid calls in distinct namespaces: ${labelled}/${LABEL_LIMIT} labelled; ` +
        `RSS ${mib(rssBefore)} → ${mib(rssFirstRound)} → ${mib(rssSecondRound)} → ${mib(rssAfter)} MiB (second round of new names ${signed(roundGrowth)}; in all ${signed(growth)}, bound +${RSS_BOUND_BYTES / MiB}); ` +
        `slowest probe ${Math.round(slowestProbeMs)} ms (bound ${PROBE_BOUND_MS})`,
    };
  },
};
