/**
 * Item 1: HTTP/1.1 requests sent in part and then left hanging. Before the
 * fix they lived until Node's 300 s default (and the header timeout was
 * never checked: the dispatcher hands sockets to a server that never listens).
 *
 * With SEMCACHE_HEADERS_TIMEOUT_MS=2000 and SEMCACHE_REQUEST_TIMEOUT_MS=4000:
 * 200 connections send half of their headers, and 100 send whole headers
 * (a valid key) announcing 1,000 bytes of body but send 10. Every one must
 * be closed by the server within its timeout plus 4 s (Node checks on a
 * period), a valid-key Lookup and /healthz must answer within 2 s during and
 * after, and RSS must end within 64 MiB of where it started.
 */
import { connect as tcpConnect } from "node:net";
import type { Attack, AttackContext, AttackResult } from "../attack.js";
import { mib, ms, probeWhile } from "../hostile-http.js";
import { type ProbeTimes, worstOf } from "../target.js";

const HEADERS_TIMEOUT_MS = 2_000;
const REQUEST_TIMEOUT_MS = 4_000;
const SLACK_MS = 4_000;
const HALF_HEADERS = 200;
const HALF_BODIES = 100;

/** What the attack observed. */
export interface HalfSentFacts {
  readonly halfHeaders: number;
  readonly halfHeadersClosed: number;
  readonly slowestHeadersCloseMs: number;
  readonly halfBodies: number;
  readonly halfBodiesClosed: number;
  readonly slowestBodyCloseMs: number;
  readonly during: ProbeTimes;
  readonly after: ProbeTimes;
  readonly rssBefore: number;
  readonly rssAfter: number;
}

/** Sends `bytes` and waits for the server to close the connection; resolves with how long that took (Infinity: not within `withinMs`). */
function sendAndWaitForClose(port: number, bytes: string, withinMs: number): Promise<number> {
  const started = performance.now();
  return new Promise((resolve) => {
    const socket = tcpConnect(port, "127.0.0.1");
    const timer = setTimeout(() => {
      socket.destroy();
      resolve(Number.POSITIVE_INFINITY);
    }, withinMs);
    socket.on("error", () => undefined);
    socket.on("data", () => undefined);
    socket.on("close", () => {
      clearTimeout(timer);
      resolve(performance.now() - started);
    });
    socket.write(bytes);
  });
}

/** Runs the attack against a fresh target and reports what happened. */
export async function measure(context: AttackContext): Promise<HalfSentFacts> {
  const target = await context.launch({
    env: { SEMCACHE_HEADERS_TIMEOUT_MS: String(HEADERS_TIMEOUT_MS), SEMCACHE_REQUEST_TIMEOUT_MS: String(REQUEST_TIMEOUT_MS) },
  });
  await target.probe();
  const rssBefore = await target.rssBytes();
  const path = "/semcache.v1.SemanticCacheService/Lookup";
  const halfHead = `POST ${path} HTTP/1.1\r\nhost: 127.0.0.1:${target.port}\r\ncontent-type: appl`;
  const halfBody =
    `POST ${path} HTTP/1.1\r\nhost: 127.0.0.1:${target.port}\r\ncontent-type: application/json\r\n` +
    `authorization: Bearer ${target.userKey}\r\ncontent-length: 1000\r\n\r\n{"prompt":`;
  const attack = () =>
    Promise.all([
      Promise.all(Array.from({ length: HALF_HEADERS }, () => sendAndWaitForClose(target.port, halfHead, HEADERS_TIMEOUT_MS + SLACK_MS))),
      Promise.all(Array.from({ length: HALF_BODIES }, () => sendAndWaitForClose(target.port, halfBody, REQUEST_TIMEOUT_MS + SLACK_MS))),
    ]);
  const { result, worst } = await probeWhile(target, attack());
  const [heads, bodies] = result;
  const after = await target.probe();
  const rssAfter = await target.rssBytes();
  return {
    halfHeaders: HALF_HEADERS,
    halfHeadersClosed: heads.filter(Number.isFinite).length,
    slowestHeadersCloseMs: Math.max(...heads),
    halfBodies: HALF_BODIES,
    halfBodiesClosed: bodies.filter(Number.isFinite).length,
    slowestBodyCloseMs: Math.max(...bodies),
    during: worst,
    after,
    rssBefore,
    rssAfter,
  };
}

/** The verdict on what was observed (see the module comment for the bounds). */
export function judge(facts: HalfSentFacts): AttackResult {
  const held =
    facts.halfHeadersClosed === facts.halfHeaders &&
    facts.halfBodiesClosed === facts.halfBodies &&
    worstOf(facts.during) <= 2_000 &&
    worstOf(facts.after) <= 2_000 &&
    facts.rssAfter - facts.rssBefore <= 64 * 1024 * 1024;
  return {
    held,
    detail:
      `${facts.halfHeadersClosed}/${facts.halfHeaders} half-sent headers closed (slowest ${ms(facts.slowestHeadersCloseMs)}, timeout ${HEADERS_TIMEOUT_MS / 1000} s); ` +
      `${facts.halfBodiesClosed}/${facts.halfBodies} half-sent bodies closed (slowest ${ms(facts.slowestBodyCloseMs)}, timeout ${REQUEST_TIMEOUT_MS / 1000} s); ` +
      `worst probe during ${ms(worstOf(facts.during))}, after ${ms(worstOf(facts.after))}; RSS ${mib(facts.rssBefore)} → ${mib(facts.rssAfter)} (bound +64 MiB)`,
  };
}

export const attack: Attack = {
  name: "HTTP/1.1 half-sent requests",
  item: 1,
  run: async (context) => judge(await measure(context)),
};
