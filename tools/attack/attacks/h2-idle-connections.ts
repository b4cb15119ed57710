/**
 * Item 1: HTTP/2 connections that send the preface and SETTINGS, then
 * nothing. Before the fix 3,000 of them were held 75 s with no timeout and,
 * under `ulimit -n 1024`, took every file descriptor.
 *
 * With SEMCACHE_IDLE_TIMEOUT_MS=2000 and SEMCACHE_MAX_CONNECTIONS=400:
 * 300 idle connections must all be closed by the server within the idle
 * timeout plus 5 s, while a valid-key Lookup and /healthz answer within 2 s;
 * then 450 at once: those past the cap of 400 must be closed at once, the
 * rest by the idle timeout, after which the server answers within 2 s again.
 * RSS must end within 64 MiB of where it started.
 */
import type { Attack, AttackContext, AttackResult } from "../attack.js";
import { mib, ms, probeWhile, rawH2, sleep, type RawH2Connection } from "../hostile-http.js";
import { type ProbeTimes, worstOf } from "../target.js";

const IDLE_TIMEOUT_MS = 2_000;
const MAX_CONNECTIONS = 400;
const IDLE = 300;
const OVER_CAP = 450;
const SLACK_MS = 5_000;

/** What the attack observed. */
export interface IdleConnectionFacts {
  readonly idleOpened: number;
  /** Idle connections the server closed within the idle timeout + 5 s. */
  readonly idleClosed: number;
  /** When the last of them was closed, in ms after they were opened. */
  readonly lastClosedMs: number;
  readonly overCapOpened: number;
  /** Connections past the cap closed within a second of opening. */
  readonly closedAtOnce: number;
  /** All of the 450 closed by the server in the end. */
  readonly overCapAllClosed: boolean;
  readonly during: ProbeTimes;
  readonly after: ProbeTimes;
  readonly rssBefore: number;
  readonly rssAfter: number;
}

async function openMany(port: number, count: number): Promise<RawH2Connection[]> {
  const opened: RawH2Connection[] = [];
  // In batches: the listen backlog is finite, and this is about holding connections, not about a SYN flood.
  for (let i = 0; i < count; i += 50) opened.push(...(await Promise.all(Array.from({ length: Math.min(50, count - i) }, () => rawH2(port)))));
  return opened;
}

/** Waits until every connection is closed or `ms` passes; returns how long it took (Infinity: not all closed). */
async function allClosed(connections: readonly RawH2Connection[], withinMs: number): Promise<number> {
  const started = performance.now();
  const done = Promise.all(connections.map((c) => c.closed)).then(() => performance.now() - started);
  return Promise.race([done, sleep(withinMs).then(() => Number.POSITIVE_INFINITY)]);
}

/** Runs the attack against a fresh target and reports what happened. */
export async function measure(context: AttackContext): Promise<IdleConnectionFacts> {
  const target = await context.launch({ env: { SEMCACHE_IDLE_TIMEOUT_MS: String(IDLE_TIMEOUT_MS), SEMCACHE_MAX_CONNECTIONS: String(MAX_CONNECTIONS) } });
  await target.probe();
  const rssBefore = await target.rssBytes();

  const idlePhase = async (): Promise<{ idle: RawH2Connection[]; lastClosedMs: number }> => {
    const idle = await openMany(target.port, IDLE);
    const lastClosedMs = await allClosed(idle, IDLE_TIMEOUT_MS + SLACK_MS);
    return { idle, lastClosedMs };
  };
  const { result, worst } = await probeWhile(target, idlePhase());
  const idleClosed = result.idle.filter((c) => c.closedByServer()).length;
  for (const connection of result.idle) connection.destroy();

  // Past the cap: no probing meanwhile, since a full server rightly has no connection to give a prober either.
  const overCap = await openMany(target.port, OVER_CAP);
  await sleep(1_000);
  const closedAtOnce = overCap.filter((c) => c.closedByServer()).length;
  const overCapAllClosed = Number.isFinite(await allClosed(overCap, IDLE_TIMEOUT_MS + SLACK_MS)) && overCap.every((c) => c.closedByServer());
  for (const connection of overCap) connection.destroy();
  await sleep(500);
  const after = await target.probe();
  const rssAfter = await target.rssBytes();
  return {
    idleOpened: IDLE,
    idleClosed,
    lastClosedMs: result.lastClosedMs,
    overCapOpened: OVER_CAP,
    closedAtOnce,
    overCapAllClosed,
    during: worst,
    after,
    rssBefore,
    rssAfter,
  };
}

/** The verdict on what was observed (see the module comment for the bounds). */
export function judge(facts: IdleConnectionFacts): AttackResult {
  const held =
    facts.idleClosed === facts.idleOpened &&
    facts.closedAtOnce >= facts.overCapOpened - MAX_CONNECTIONS &&
    facts.overCapAllClosed &&
    worstOf(facts.during) <= 2_000 &&
    worstOf(facts.after) <= 2_000 &&
    facts.rssAfter - facts.rssBefore <= 64 * 1024 * 1024;
  return {
    held,
    detail:
      `${facts.idleClosed}/${facts.idleOpened} idle connections closed by the ${IDLE_TIMEOUT_MS / 1000} s idle timeout (last after ${ms(facts.lastClosedMs)}); ` +
      `${facts.closedAtOnce} of ${facts.overCapOpened} closed at once past the cap of ${MAX_CONNECTIONS}, all closed: ${facts.overCapAllClosed}; ` +
      `worst probe during ${ms(worstOf(facts.during))}, after ${ms(worstOf(facts.after))}; RSS ${mib(facts.rssBefore)} → ${mib(facts.rssAfter)} (bound +64 MiB)`,
  };
}

export const attack: Attack = {
  name: "h2 idle connections",
  item: 1,
  run: async (context) => judge(await measure(context)),
};
