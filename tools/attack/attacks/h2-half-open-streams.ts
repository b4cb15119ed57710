/**
 * Item 1: HTTP/2 streams opened with headers and never given a body, from a
 * handful of connections. Before the fix 60,000 such streams from 12
 * connections took RSS from 300 MB to 1.5 GB and left Lookup and /healthz
 * unanswered for two minutes.
 *
 * Phase A sends 1,000 streams on each of 12 connections with `Bearer nope`,
 * ignoring the server's SETTINGS_MAX_CONCURRENT_STREAMS: the streams past
 * the cap must be refused (REFUSED_STREAM, or the connection closed), the
 * others answered UNAUTHENTICATED from their headers. Phase B opens exactly
 * the cap on each of 12 connections with a valid key (the worst case: each
 * is admitted and waits for its body): every stream must be cancelled by the
 * request timeout (RST_STREAM CANCEL). Held when a valid-key Lookup and
 * /healthz answer within 5 s during either phase (see DURING_BOUND_MS) and 2 s after, RSS grows by at most 150 MiB
 * while it runs and ends within 100 MiB of where it started (V8 keeps the
 * heap it grew for 1,200 calls a while; before the fix it was +1.2 GB).
 */
import type { Attack, AttackContext, AttackResult } from "../attack.js";
import { mib, ms, probeWhile, rawH2, rpcHeaders, sleep, type RawH2Connection } from "../hostile-http.js";
import { type ProbeTimes, worstOf } from "../target.js";

const CONNECTIONS = 12;
const STREAMS_OVER_CAP = 1_000;
const CAP = 100;
const REQUEST_TIMEOUT_MS = 5_000;
const RST_STREAM = 0x3;
const GOAWAY = 0x7;
const REFUSED_STREAM = 0x7;
const CANCEL = 0x8;
/**
 * Thousands of streams arriving at once cost the main thread their share of
 * work however cheaply each is refused: 12,000 keyless HEADERS frames (about
 * 5,000 of which become streams and get their 401) or 1,200 streams admitted
 * at once with a valid key took 0.5 to 2 s on a shared 2-core machine under
 * tsx, and a probe that lands in that burst waits for it. The bound during
 * either phase is therefore 5 s; after, 2 s (before the fix: two minutes).
 */
const DURING_BOUND_MS = 5_000;

/** What the attack observed. */
export interface HalfOpenStreamFacts {
  /** Phase A: streams sent past the cap, and how the server answered them. */
  readonly sentOverCap: number;
  readonly refusedOverCap: number;
  /** Connections the server closed or sent GOAWAY on in phase A. */
  readonly connectionsCut: number;
  /** Phase B: streams opened at the cap, and those the request timeout cancelled. */
  readonly openedAtCap: number;
  readonly cancelledByTimeout: number;
  /** Worst probes while phase A ran, and while phase B ran. */
  readonly duringKeyless: ProbeTimes;
  readonly during: ProbeTimes;
  readonly after: ProbeTimes;
  readonly rssBefore: number;
  readonly rssPeak: number;
  readonly rssAfter: number;
}

function resets(connection: RawH2Connection, code: number): number {
  return connection.frames().filter((f) => f.type === RST_STREAM && f.payload.readUInt32BE(0) === code).length;
}

/** Runs both phases against a fresh target and reports what happened. */
export async function measure(context: AttackContext): Promise<HalfOpenStreamFacts> {
  const target = await context.launch({
    env: { SEMCACHE_RATE_LIMIT_RPS: "0", SEMCACHE_REQUEST_TIMEOUT_MS: String(REQUEST_TIMEOUT_MS), SEMCACHE_MAX_STREAMS_PER_CONNECTION: String(CAP) },
  });
  await target.probe();
  const rssBefore = await target.rssBytes();
  let rssPeak = rssBefore;
  const sample = async (): Promise<void> => {
    rssPeak = Math.max(rssPeak, await target.rssBytes());
  };
  const keyless = rpcHeaders(target.port, "Lookup", "application/json", [["authorization", "Bearer nope"]]);
  const headers = rpcHeaders(target.port, "Lookup", "application/json", [["authorization", `Bearer ${target.userKey}`]]);

  // Phase A: far past the cap without a key, as fast as the socket takes it.
  const phaseA = async (): Promise<{ refusedOverCap: number; connectionsCut: number }> => {
    const over = await Promise.all(Array.from({ length: CONNECTIONS }, () => rawH2(target.port)));
    for (const connection of over) for (let i = 0; i < STREAMS_OVER_CAP; i++) connection.headers(1 + 2 * i, keyless);
    await sleep(2_000);
    await sample();
    const refusedOverCap = over.reduce((sum, c) => sum + resets(c, REFUSED_STREAM), 0);
    const connectionsCut = over.filter((c) => c.closedByServer() || c.frames().some((f) => f.type === GOAWAY)).length;
    for (const connection of over) connection.destroy();
    return { refusedOverCap, connectionsCut };
  };
  const a = await probeWhile(target, phaseA());

  const phaseB = async (): Promise<{ openedAtCap: number; cancelledByTimeout: number }> => {
    // Phase B: exactly the cap with a valid key, held open until the server gives up on the bodies.
    const atCap = await Promise.all(Array.from({ length: CONNECTIONS }, () => rawH2(target.port)));
    for (const connection of atCap) for (let i = 0; i < CAP; i++) connection.headers(1 + 2 * i, headers);
    const deadline = Date.now() + REQUEST_TIMEOUT_MS + 10_000;
    let cancelled = 0;
    while (Date.now() < deadline) {
      await sleep(500);
      await sample();
      cancelled = atCap.reduce((sum, c) => sum + resets(c, CANCEL), 0);
      if (cancelled >= CONNECTIONS * CAP) break;
    }
    for (const connection of atCap) connection.destroy();
    return { openedAtCap: CONNECTIONS * CAP, cancelledByTimeout: cancelled };
  };
  const b = await probeWhile(target, phaseB());
  await sleep(1_000);
  const after = await target.probe();
  const rssAfter = await target.rssBytes();
  return { sentOverCap: CONNECTIONS * STREAMS_OVER_CAP, ...a.result, ...b.result, duringKeyless: a.worst, during: b.worst, after, rssBefore, rssPeak, rssAfter };
}

/** The verdict on what was observed (see the module comment for the bounds). */
export function judge(facts: HalfOpenStreamFacts): AttackResult {
  const responsive = worstOf(facts.duringKeyless) <= DURING_BOUND_MS && worstOf(facts.during) <= DURING_BOUND_MS && worstOf(facts.after) <= 2_000;
  const capped = facts.refusedOverCap > 0 || facts.connectionsCut === CONNECTIONS;
  const timedOut = facts.cancelledByTimeout === facts.openedAtCap;
  const bounded = facts.rssPeak - facts.rssBefore <= 150 * 1024 * 1024 && facts.rssAfter - facts.rssBefore <= 100 * 1024 * 1024;
  return {
    held: responsive && capped && timedOut && bounded,
    detail:
      `past the cap: ${facts.refusedOverCap} of ${facts.sentOverCap} refused, ${facts.connectionsCut}/${CONNECTIONS} connections cut; ` +
      `at the cap: ${facts.cancelledByTimeout}/${facts.openedAtCap} cancelled by the request timeout; ` +
      `worst probe during A ${ms(worstOf(facts.duringKeyless))} (bound ${DURING_BOUND_MS / 1000} s), during B ${ms(worstOf(facts.during))} (bound ${DURING_BOUND_MS / 1000} s), after ${ms(worstOf(facts.after))} (bound 2 s); ` +
      `RSS ${mib(facts.rssBefore)} → peak ${mib(facts.rssPeak)} → ${mib(facts.rssAfter)} (bound: +150 MiB peak, +100 MiB after)`,
  };
}

export const attack: Attack = {
  name: "h2 half-open streams",
  item: 1,
  run: async (context) => judge(await measure(context)),
};
