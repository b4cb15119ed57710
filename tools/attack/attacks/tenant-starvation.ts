/**
 * Item 5: one tenant starving the others of the shared LLM slots and of the
 * embedder.
 *
 * LLM: with a slow upstream (LLM_DELAY_MS per answer, served by a minimal
 * OpenAI-compatible server this attack starts on loopback), two keys burst
 * BURST_ASKS distinct Asks each, more than the slots (32) and the queue
 * (256) hold together; then a third key sends VICTIM_ASKS Asks. Before, the
 * bursts filled the FIFO queue and the third key's Asks were all refused
 * with RESOURCE_EXHAUSTED at once. Held when every one of them is answered
 * by the LLM within VICTIM_BOUND_MS (queued, served in turn: about two LLM
 * rounds), the bursting keys get RESOURCE_EXHAUSTED for what exceeds their
 * share, and the probes answer within 2 s.
 *
 * Embedder: a key sends BIG_PROMPTS Lookups of a 64 KB prompt each (about
 * 50 model windows of 256 tokens apiece); meanwhile the probe's small Lookup (another
 * key) and /healthz must keep answering within SMALL_LOOKUP_BOUND_MS, or, on
 * a machine so busy that one embedding batch (or tokenising one 64 KB prompt
 * on the main thread) takes longer, within 1/20 of the time the big prompts
 * took (fair sharing makes the Lookup wait for about two batches; first
 * come, first served made it wait for nearly all of it: 39 s measured).
 *
 * Memory: RSS after the attack (bursts cancelled) at most RSS_BOUND_BYTES
 * above the start.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Attack } from "../attack.js";
import type { AttackTarget } from "../target.js";

const LLM_DELAY_MS = 4_000;
const BURST_ASKS = 175;
const VICTIM_ASKS = 5;
/** Two LLM rounds (the one running, then the victim's turn) plus room for a busy machine. */
const VICTIM_BOUND_MS = 3 * LLM_DELAY_MS + 5_000;
const BIG_PROMPTS = 8;
const BIG_PROMPT_BYTES = 64 * 1024 - 64;
const SMALL_LOOKUP_BOUND_MS = 2_000;
const PROBE_BOUND_MS = 2_000;
const RSS_BOUND_BYTES = 128 * 1024 * 1024;
const MiB = 1024 * 1024;

/** A minimal OpenAI-compatible chat-completions endpoint that answers after `delayMs`; counts requests. */
async function startSlowLlm(delayMs: number): Promise<{ url: string; requests: () => number; close: () => Promise<void> }> {
  let requests = 0;
  const server: Server = createServer((req, res) => {
    let body = "";
    req.on("data", (chunk: Buffer) => (body += chunk.toString()));
    req.on("end", () => {
      if (req.method !== "POST" || !(req.url ?? "").endsWith("/chat/completions")) {
        res.writeHead(404, { "content-type": "application/json" }).end(JSON.stringify({ error: { message: "not found" } }));
        return;
      }
      requests++;
      const { model, messages } = JSON.parse(body) as { model: string; messages: { content: string }[] };
      const timer = setTimeout(() => {
        const answer = `ANSWER: ${messages.at(-1)?.content ?? ""}`;
        res.writeHead(200, { "content-type": "application/json" }).end(
          JSON.stringify({
            id: `chatcmpl-${requests}`,
            object: "chat.completion",
            created: Math.floor(Date.now() / 1000),
            model,
            choices: [{ index: 0, message: { role: "assistant", content: answer }, finish_reason: "stop" }],
            usage: { prompt_tokens: 8, completion_tokens: 8, total_tokens: 16 },
          }),
        );
      }, delayMs);
      res.on("close", () => clearTimeout(timer));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/v1`,
    requests: () => requests,
    close: () => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

/** A Connect JSON call; resolves to the HTTP status and the JSON body (status 0 when it got no answer). */
async function call(target: AttackTarget, method: string, key: string, body: unknown, signal: AbortSignal): Promise<{ status: number; json: Record<string, unknown> }> {
  try {
    const response = await fetch(`${target.url}/semcache.v1.SemanticCacheService/${method}`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${key}` },
      body: JSON.stringify(body),
      signal,
    });
    return { status: response.status, json: (await response.json()) as Record<string, unknown> };
  } catch {
    return { status: 0, json: {} };
  }
}

const WORDS = "river stone lamp orbit maple cobalt harbor violin pepper glacier summit lantern meadow copper falcon canyon".split(" ");

/** A distinct prompt of about `bytes` bytes of words (about 50 model windows at 64 KB). */
function bigPrompt(seed: number, bytes: number): string {
  const parts: string[] = [];
  let length = 0;
  for (let i = 0; length < bytes; i++) {
    const word = `${WORDS[(i * 7 + seed) % WORDS.length]!}${(i + seed) % 97}`;
    parts.push(word);
    length += word.length + 1;
  }
  return parts.join(" ").slice(0, bytes);
}

/** Probes until `until` settles; the slowest answers. */
async function probeWhile(target: AttackTarget, until: Promise<unknown>): Promise<{ lookupMs: number; healthzMs: number; probes: number }> {
  let done = false;
  void until.finally(() => (done = true));
  let lookupMs = 0;
  let healthzMs = 0;
  let probes = 0;
  while (!done) {
    const probe = await target.probe(10_000);
    lookupMs = Math.max(lookupMs, probe.lookupMs);
    healthzMs = Math.max(healthzMs, probe.healthzMs);
    probes++;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  return { lookupMs, healthzMs, probes };
}

export const attack: Attack = {
  name: "one tenant starves the others",
  item: 5,
  async run({ launch }) {
    const llm = await startSlowLlm(LLM_DELAY_MS);
    try {
      const unlimited = { requestsPerSecond: 0, burst: 1 };
      const target = await launch({
        env: { SEMCACHE_LLM_BASE_URL: llm.url, SEMCACHE_LLM_MODEL: "slow-model", SEMCACHE_LLM_TIMEOUT_MS: "60000", SEMCACHE_LLM_MAX_RETRIES: "0" },
        extraKeys: [
          { id: "burst-1", role: "user", namespaces: ["burst-1"], rateLimit: unlimited },
          { id: "burst-2", role: "user", namespaces: ["burst-2"], rateLimit: unlimited },
          { id: "victim", role: "user", namespaces: ["victim"], rateLimit: unlimited },
          { id: "bulk", role: "user", namespaces: ["bulk"], rateLimit: unlimited },
        ],
      });
      const rssBefore = await target.rssBytes();
      const facts: string[] = [];

      // LLM: two bursts, then the victim.
      const stopBursts = new AbortController();
      const refusedBy = { "burst-1": 0, "burst-2": 0 };
      const bursts = (["burst-1", "burst-2"] as const).flatMap((id) =>
        Array.from({ length: BURST_ASKS }, (_, i) =>
          call(target, "Ask", target.extraKeys[id]!, { prompt: `Burst question ${i} from ${id}`, scope: { namespace: id, params: { n: String(i) } }, noStore: true }, stopBursts.signal).then(
            (r) => {
              if (r.status === 429) refusedBy[id]++;
              return r;
            },
          ),
        ),
      );
      // The queue is full once both bursting keys are refused beyond their share.
      const fullBy = Date.now() + 60_000;
      while ((refusedBy["burst-1"] < 10 || refusedBy["burst-2"] < 10) && Date.now() < fullBy) await new Promise((resolve) => setTimeout(resolve, 50));
      const victimStarted = performance.now();
      const victim = Promise.all(
        Array.from({ length: VICTIM_ASKS }, (_, i) =>
          call(target, "Ask", target.extraKeys["victim"]!, { prompt: `Victim question ${i}`, scope: { namespace: "victim", params: { n: String(i) } } }, AbortSignal.timeout(60_000)).then((r) => ({
            ...r,
            ms: performance.now() - victimStarted,
          })),
        ),
      );
      const duringLlm = await probeWhile(target, victim);
      const victims = await victim;
      const answered = victims.filter((v) => v.status === 200 && v.json["source"] === "SOURCE_LLM");
      const slowestVictimMs = Math.max(...victims.map((v) => v.ms));
      stopBursts.abort();
      const burstResults = await Promise.all(bursts);
      const burstAnswered = burstResults.filter((r) => r.status === 200).length;
      facts.push(
        `LLM: bursts ${refusedBy["burst-1"]}+${refusedBy["burst-2"]} refused (429), ${burstAnswered} answered before being cancelled; ` +
          `victim ${answered.length}/${VICTIM_ASKS} answered by the LLM, slowest ${(slowestVictimMs / 1000).toFixed(1)} s (bound ${VICTIM_BOUND_MS / 1000} s, LLM ${LLM_DELAY_MS / 1000} s per call); ` +
          `upstream calls ${llm.requests()}; slowest probe ${Math.round(Math.max(duringLlm.lookupMs, duringLlm.healthzMs))} ms`,
      );
      const llmHeld =
        answered.length === VICTIM_ASKS &&
        slowestVictimMs <= VICTIM_BOUND_MS &&
        refusedBy["burst-1"] > 0 &&
        refusedBy["burst-2"] > 0 &&
        Math.max(duringLlm.lookupMs, duringLlm.healthzMs) <= PROBE_BOUND_MS;

      // Embedder: big prompts of one key vs the probe's small Lookup (another key).
      const bigStarted = performance.now();
      const big = Promise.all(
        Array.from({ length: BIG_PROMPTS }, (_, i) =>
          call(target, "Lookup", target.extraKeys["bulk"]!, { prompt: bigPrompt(i, BIG_PROMPT_BYTES), scope: { namespace: "bulk" } }, AbortSignal.timeout(300_000)),
        ),
      ).then((results) => ({ results, ms: performance.now() - bigStarted }));
      await new Promise((resolve) => setTimeout(resolve, 500));
      const duringBig = await probeWhile(target, big);
      const bigDone = await big;
      const bigOk = bigDone.results.filter((r) => r.status === 200).length;
      const smallBoundMs = Math.max(SMALL_LOOKUP_BOUND_MS, bigDone.ms / 20);
      facts.push(
        `embedder: ${bigOk}/${BIG_PROMPTS} 64 KB Lookups answered in ${(bigDone.ms / 1000).toFixed(1)} s; ` +
          `meanwhile ${duringBig.probes} small Lookups, slowest ${Math.round(duringBig.lookupMs)} ms, /healthz ${Math.round(duringBig.healthzMs)} ms (bound for both: max(${SMALL_LOOKUP_BOUND_MS} ms, 1/20 of the big ones' time) = ${Math.round(smallBoundMs)} ms)`,
      );
      const embedderHeld = bigOk === BIG_PROMPTS && duringBig.probes >= 2 && duringBig.lookupMs <= smallBoundMs && duringBig.healthzMs <= smallBoundMs;

      const after = await target.probe(5_000);
      const rssAfter = await target.rssBytes();
      const growth = rssAfter - rssBefore;
      facts.push(`RSS ${(rssBefore / MiB).toFixed(0)} → ${(rssAfter / MiB).toFixed(0)} MiB (bound +${RSS_BOUND_BYTES / MiB}); probe after ${Math.round(Math.max(after.lookupMs, after.healthzMs))} ms`);
      const held = llmHeld && embedderHeld && growth <= RSS_BOUND_BYTES && Math.max(after.lookupMs, after.healthzMs) <= PROBE_BOUND_MS;
      return { held, detail: facts.join("; ") };
    } finally {
      await llm.close();
    }
  },
};
