/**
 * SIGTERM under load, on a child `semcache serve` whose LLM is slow:
 *
 * - 32 distinct Asks and AskStreams are in flight upstream (the test LLM has
 *   received every one) and Lookups run in a loop on all four protocols when
 *   SIGTERM arrives. Every in-flight call completes with its answer; no call
 *   that starts after the shutdown began succeeds, on a new connection
 *   (refused: UNAVAILABLE) or on one a client already had open (HTTP/2:
 *   GOAWAY, so the client reconnects and is refused; HTTP/1.1 keep-alive: an
 *   UNAVAILABLE "shutting down" answer); the process exits 0; and the
 *   answers were stored (a restart on the same data directory serves them as
 *   exact hits).
 * - Calls that outlive SEMCACHE_SHUTDOWN_TIMEOUT_MS are cut when it passes
 *   (graceful-http.ts: "then closes whatever is left"), the exit is still 0,
 *   the upstream requests are aborted, and nothing of them is stored.
 *
 * "When the shutdown began" is the child's own "shutting down" log line
 * (its timestamp), not the moment the signal was sent.
 */
import { rmSync } from "node:fs";
import { afterAll, describe, expect, it } from "vitest";
import { MatchKind, Source } from "../../src/gen/semcache/v1/semantic_cache_pb.js";
import { startChildServer, type ChildServer } from "../support/child-server.js";
import { clientFor, PROTOCOLS, type CacheClient, type Protocol } from "../support/clients.js";
import { defaultAnswer, startOpenAiServer, type OpenAiTestServer } from "../support/openai-server.js";
import { tempDir, testEnv } from "../support/test-server.js";
import { askBy, type AnswerFacts, type AskKind } from "./support/ask-calls.js";
import { concurrently, settle, sleep, tallyCodes, type Settled } from "./support/calls.js";
import { PromptCounter } from "./support/prompts.js";

const MODEL = "test-model";
const SCOPE = { namespace: "sigterm", model: MODEL };
const IN_FLIGHT = 32;
const LLM_DELAY_MS = 1_500;

const dirs: string[] = [];
const children: ChildServer[] = [];
let llm: OpenAiTestServer | undefined;
const prompts = new PromptCounter({ spread: true });

afterAll(async () => {
  for (const child of children) {
    if (child.process.exitCode === null && child.process.signalCode === null) {
      child.process.kill("SIGKILL");
      await child.exited;
    }
  }
  await llm?.close();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

async function start(dataDir: string, env: Record<string, string>): Promise<ChildServer> {
  const child = await startChildServer(await testEnv(dataDir, env));
  children.push(child);
  return child;
}

const answerTo = (prompt: string): string => defaultAnswer({ messages: [{ role: "user", content: prompt }] });
const kindOf = (i: number): AskKind => (i % 2 === 0 ? "ask" : "askStream");
const protocolOf = (i: number): Protocol => PROTOCOLS[i % PROTOCOLS.length] as Protocol;

/** The child's "shutting down" log line: when (its clock, ms since the epoch) and how many requests were in flight. */
function shutdownLine(child: ChildServer): { readonly at: number; readonly inFlight: number } {
  for (const line of child.stderr().split("\n")) {
    if (!line.includes('"msg":"shutting down"')) continue;
    const parsed = JSON.parse(line) as { time: number; inFlight: number };
    return { at: parsed.time, inFlight: parsed.inFlight };
  }
  throw new Error(`no "shutting down" line in the server log:\n${child.stderr().slice(-2000)}`);
}

/** A Lookup, with its start time on the epoch clock the child's log uses. */
interface TimedLookup {
  readonly protocol: Protocol;
  readonly startedAtEpoch: number;
  readonly outcome: Settled<unknown>;
}

/**
 * How a call that began after the shutdown may fail. UNAVAILABLE is the
 * answer (refused connection, or semcache's "shutting down"). The others
 * are the one race HTTP/1.1 keep-alive cannot avoid, a request crossing the
 * server's close of an idle connection, as connect-node's client reports it
 * ("socket hang up", EPIPE, ECONNRESET), and an HTTP/2 stream opened as
 * GOAWAY went out (RST_STREAM REFUSED_STREAM: not processed).
 */
function isRefusal(outcome: Settled<unknown>): boolean {
  if (outcome.ok) return false;
  if (outcome.code === "Unavailable") return true;
  return /socket hang up|EPIPE|ECONNRESET|aborted|REFUSED_STREAM/u.test(outcome.message);
}

describe("SIGTERM while 32 slow Asks are in flight and Lookups keep coming", () => {
  it("finishes every in-flight call, serves no call begun after the shutdown, exits 0, and keeps the answers", async () => {
    llm = await startOpenAiServer();
    llm.setBehaviour({ delayMs: LLM_DELAY_MS });
    const dataDir = tempDir("semcache-sigterm-");
    dirs.push(dataDir);
    const env = { SEMCACHE_LLM_BASE_URL: llm.url, SEMCACHE_LLM_MODEL: MODEL, SEMCACHE_LLM_TIMEOUT_MS: "20000", SEMCACHE_SHUTDOWN_TIMEOUT_MS: "15000" };
    const child = await start(dataDir, env);
    // One client per protocol, shared by the Asks and the Lookup loops: their connections are open when SIGTERM comes.
    const clients = Object.fromEntries(PROTOCOLS.map((p) => [p, clientFor(p, child.url)])) as Record<Protocol, CacheClient>;
    const seeded = prompts.prompt("seeded for lookups");
    await clients.grpc.store({ prompt: seeded, response: "seeded answer", scope: SCOPE });

    const questions = Array.from({ length: IN_FLIGHT }, (_, i) => prompts.prompt(`in flight ${i}`));
    const asks = concurrently(IN_FLIGHT, (i) => settle(() => askBy(clients[protocolOf(i)], kindOf(i), questions[i] as string, SCOPE)));
    const lookups: TimedLookup[] = [];
    let looping = true;
    const loops = concurrently(PROTOCOLS.length, async (p) => {
      const protocol = protocolOf(p);
      while (looping) {
        const startedAtEpoch = Date.now();
        const outcome = await settle(() => clients[protocol].lookup({ prompt: seeded, scope: SCOPE }));
        lookups.push({ protocol, startedAtEpoch, outcome });
        // A refused call fails at once; do not spin.
        if (!outcome.ok) await sleep(10);
      }
    });

    // Every Ask is waiting on the LLM now.
    await llm.waitFor((s) => s.counts().total === IN_FLIGHT, 60_000);
    child.process.kill("SIGTERM");
    await sleep(300);
    // New connections after the shutdown began: nothing listens any more.
    const fresh = await Promise.all(PROTOCOLS.map((p) => settle(() => clientFor(p, child.url).lookup({ prompt: seeded, scope: SCOPE }))));
    const answered = await asks;
    looping = false;
    await loops;
    expect(await child.exited).toBe(0);

    const shutdown = shutdownLine(child);
    // The 32 Asks were what the drain waited for (the Lookup loops may add a few).
    expect(shutdown.inFlight).toBeGreaterThanOrEqual(IN_FLIGHT);

    // Every in-flight call completed with its answer, from the LLM, stored.
    expect(tallyCodes(answered)).toEqual({ OK: IN_FLIGHT });
    answered.forEach((o, i) => {
      if (!o.ok) return;
      const answer: AnswerFacts = o.value;
      expect(answer.response).toBe(answerTo(questions[i] as string));
      expect(answer.source).toBe(Source.LLM);
      expect(answer.entryId).not.toBe("");
    });
    expect(llm.counts()).toMatchObject({ total: IN_FLIGHT, completed: IN_FLIGHT, closedEarly: 0 });

    for (const outcome of fresh) {
      expect(outcome.ok).toBe(false);
      if (!outcome.ok) {
        expect(outcome.code).toBe("Unavailable");
        expect(outcome.message).toMatch(/ECONNREFUSED/);
      }
    }

    // Lookups: served before the shutdown, never after it. Half a second of slack before it: a request sent just
    // before may be read only after the signal on a busy machine, and is then (rightly) refused.
    const before = lookups.filter((l) => l.startedAtEpoch < shutdown.at - 500);
    const after = lookups.filter((l) => l.startedAtEpoch > shutdown.at);
    const tally = (list: TimedLookup[]) =>
      Object.fromEntries(PROTOCOLS.map((p) => [p, tallyCodes(list.filter((l) => l.protocol === p).map((l) => l.outcome))]));
    console.log(`sigterm: lookups before the shutdown ${JSON.stringify(tally(before))}; after ${JSON.stringify(tally(after))}; in flight at the shutdown: ${shutdown.inFlight}`);
    expect(before.filter((l) => !l.outcome.ok)).toEqual([]);
    for (const p of PROTOCOLS) expect(after.filter((l) => l.protocol === p).length, `${p} Lookups after the shutdown`).toBeGreaterThan(0);
    const served = after.filter((l) => l.outcome.ok);
    expect(served.map((l) => l.protocol), "Lookups served after the shutdown began").toEqual([]);
    for (const lookup of after) expect(isRefusal(lookup.outcome), JSON.stringify(lookup.outcome)).toBe(true);
    // Most are refused outright with UNAVAILABLE; the keep-alive races are the exception, not the rule.
    expect(after.filter((l) => !l.outcome.ok && l.outcome.code === "Unavailable").length).toBeGreaterThan(after.length / 2);

    // The answers were stored before they were sent: a new server on the directory serves them.
    const second = await start(dataDir, env);
    const client = clientFor("connect-h1", second.url);
    for (const [i, question] of questions.entries()) {
      const found = await client.lookup({ prompt: question, scope: SCOPE });
      expect(found.kind, `in-flight Ask ${i}`).toBe(MatchKind.EXACT);
      expect(found.entry?.response).toBe(answerTo(question));
    }
    second.process.kill("SIGTERM");
    expect(await second.exited).toBe(0);
  }, 120_000);
});

describe("SIGTERM while calls outlive SEMCACHE_SHUTDOWN_TIMEOUT_MS", () => {
  const SHUTDOWN_TIMEOUT_MS = 1_000;

  it("cuts them when the timeout passes, aborts their upstream requests, stores nothing, and still exits 0", async () => {
    llm ??= await startOpenAiServer();
    const upstream = llm;
    upstream.reset();
    upstream.setBehaviour({ hang: "before-headers" });
    const dataDir = tempDir("semcache-sigterm-cut-");
    dirs.push(dataDir);
    const env = { SEMCACHE_LLM_BASE_URL: upstream.url, SEMCACHE_LLM_MODEL: MODEL, SEMCACHE_LLM_TIMEOUT_MS: "60000", SEMCACHE_SHUTDOWN_TIMEOUT_MS: String(SHUTDOWN_TIMEOUT_MS) };
    const child = await start(dataDir, env);
    // Every protocol, unary and streaming.
    const calls = PROTOCOLS.flatMap((protocol, p) =>
      (["ask", "askStream"] as const).map((kind, k) => ({ protocol, kind, prompt: prompts.prompt(`cut call ${2 * p + k} (${protocol} ${kind})`) })),
    );
    const pending = Promise.all(calls.map((c) => settle(() => askBy(clientFor(c.protocol, child.url), c.kind, c.prompt, SCOPE))));
    await upstream.waitFor((s) => s.counts().total === calls.length, 60_000);
    const signalledAt = performance.now();
    child.process.kill("SIGTERM");
    const outcomes = await pending;
    expect(await child.exited).toBe(0);

    const described = outcomes.map((o, i) => `${calls[i]?.protocol} ${calls[i]?.kind}: ${o.ok ? "OK" : `${o.code} (${o.message})`}`);
    console.log(`sigterm past the shutdown timeout:\n  ${described.join("\n  ")}`);
    outcomes.forEach((o, i) => {
      const call = calls[i] as (typeof calls)[number];
      expect(o.ok, `${call.protocol} ${call.kind} outlived the shutdown`).toBe(false);
      if (o.ok) return;
      // Not cut early: the drain gave it the configured time.
      expect(o.endedAt - signalledAt).toBeGreaterThanOrEqual(SHUTDOWN_TIMEOUT_MS - 50);
      // Cut with a status a client can act on: retry elsewhere.
      expect(o.code, `${call.protocol} ${call.kind}: ${o.message}`).toBe("Unavailable");
      expect(o.message).toMatch(/outlived SEMCACHE_SHUTDOWN_TIMEOUT_MS/);
    });
    // semcache hung up on the LLM as it shut down: no upstream call outlives the process.
    await upstream.waitFor((s) => s.counts().closedEarly === calls.length, 10_000);
    // The server logged each cut call with the status it answered.
    const cut = child.stderr().split("\n").filter((line) => line.includes('"msg":"rpc"') && /"method":"Ask(Stream)?"/u.test(line));
    expect(cut).toHaveLength(calls.length);
    for (const line of cut) expect(line).toContain('"code":"unavailable"');

    // Nothing of the cut calls was stored.
    upstream.reset();
    const second = await start(dataDir, env);
    const client = clientFor("grpc", second.url);
    for (const call of calls) expect((await client.lookup({ prompt: call.prompt, scope: SCOPE })).hit, call.prompt).toBe(false);
    expect(Number((await client.stats({ namespace: SCOPE.namespace })).entries)).toBe(0);
    second.process.kill("SIGTERM");
    expect(await second.exited).toBe(0);
  }, 120_000);
});
