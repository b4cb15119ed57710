/**
 * Item 1: large uploads with a key that does not exist, started and never
 * finished. Before the fix 200 unfinished 3.9 MB bodies with `Bearer nope`
 * held 700 MB until the client left, because the key was checked only after
 * the body was read and decoded.
 *
 * 200 HTTP/2 streams (2 connections × 100) and 50 HTTP/1.1 connections each
 * announce a 3.9 MB JSON body, send 16 KiB of it and stop. Every one must be
 * answered 401 UNAUTHENTICATED while its body is still unfinished (within
 * 5 s), HTTP/1.1 connections closed after the answer, and RSS must stay
 * within 64 MiB of where it started (the bodies would be 975 MB); a
 * valid-key Lookup and /healthz must answer within 2 s during and after.
 */
import { connect as h2connect, type ClientHttp2Session } from "node:http2";
import { connect as tcpConnect } from "node:net";
import type { Attack, AttackContext, AttackResult } from "../attack.js";
import { mib, ms, probeWhile, sleep } from "../hostile-http.js";
import { type ProbeTimes, worstOf } from "../target.js";

const H2_CONNECTIONS = 2;
const STREAMS_EACH = 100;
const H1_CONNECTIONS = 50;
const ANNOUNCED_BYTES = 3_900_000;
const SENT_BYTES = 16 * 1024;
const ANSWER_WITHIN_MS = 5_000;
const PATH = "/semcache.v1.SemanticCacheService/Store";

/** What the attack observed. */
export interface UnfinishedBodyFacts {
  readonly h2Streams: number;
  /** HTTP/2 streams answered 401 before their body was finished. */
  readonly h2Answered401: number;
  readonly h1Connections: number;
  /** HTTP/1.1 connections answered 401 and then closed by the server. */
  readonly h1Answered401AndClosed: number;
  /** Slowest answer, in ms. */
  readonly slowestAnswerMs: number;
  readonly during: ProbeTimes;
  readonly after: ProbeTimes;
  readonly rssBefore: number;
  readonly rssPeak: number;
  readonly rssAfter: number;
}

/** One HTTP/2 stream: resolves with its status and how long the answer took (0 / Infinity if none in time). */
function h2Upload(session: ClientHttp2Session, chunk: Buffer): Promise<{ status: number; ms: number }> {
  const started = performance.now();
  return new Promise((resolve) => {
    const stream = session.request(
      { ":method": "POST", ":path": PATH, "content-type": "application/json", "content-length": String(ANNOUNCED_BYTES), authorization: "Bearer nope" },
      { endStream: false },
    );
    const timer = setTimeout(() => resolve({ status: 0, ms: Number.POSITIVE_INFINITY }), ANSWER_WITHIN_MS);
    stream.on("response", (headers) => {
      clearTimeout(timer);
      resolve({ status: Number(headers[":status"]), ms: performance.now() - started });
    });
    stream.on("error", () => undefined);
    stream.write(chunk);
  });
}

/** One HTTP/1.1 connection: resolves with whether it was answered 401 and then closed. */
function h1Upload(port: number, chunk: Buffer): Promise<{ ok: boolean; ms: number }> {
  const started = performance.now();
  return new Promise((resolve) => {
    const socket = tcpConnect(port, "127.0.0.1");
    let received = "";
    const timer = setTimeout(() => {
      socket.destroy();
      resolve({ ok: false, ms: Number.POSITIVE_INFINITY });
    }, ANSWER_WITHIN_MS);
    socket.on("data", (data: Buffer) => (received += data.toString("latin1")));
    socket.on("error", () => undefined);
    socket.on("close", () => {
      clearTimeout(timer);
      resolve({ ok: received.startsWith("HTTP/1.1 401 "), ms: performance.now() - started });
    });
    socket.write(
      `POST ${PATH} HTTP/1.1\r\nhost: 127.0.0.1:${port}\r\ncontent-type: application/json\r\nauthorization: Bearer nope\r\ncontent-length: ${ANNOUNCED_BYTES}\r\n\r\n`,
    );
    socket.write(chunk);
  });
}

/** Runs the attack against a fresh target and reports what happened. */
export async function measure(context: AttackContext): Promise<UnfinishedBodyFacts> {
  const target = await context.launch();
  await target.probe();
  const rssBefore = await target.rssBytes();
  let rssPeak = rssBefore;
  const chunk = Buffer.alloc(SENT_BYTES, "[");
  const sessions = Array.from({ length: H2_CONNECTIONS }, () => h2connect(target.url));
  for (const session of sessions) session.on("error", () => undefined);

  const attack = async () => {
    const uploads = Promise.all([
      ...sessions.flatMap((session) => Array.from({ length: STREAMS_EACH }, () => h2Upload(session, chunk))),
    ]);
    const h1 = Promise.all(Array.from({ length: H1_CONNECTIONS }, () => h1Upload(target.port, chunk)));
    const [h2Results, h1Results] = await Promise.all([uploads, h1]);
    // Give a server that buffers the chance to show it, then sample.
    await sleep(1_000);
    rssPeak = Math.max(rssPeak, await target.rssBytes());
    return { h2Results, h1Results };
  };
  const { result, worst } = await probeWhile(target, attack());
  for (const session of sessions) session.destroy();
  await sleep(500);
  const after = await target.probe();
  const rssAfter = await target.rssBytes();
  return {
    h2Streams: H2_CONNECTIONS * STREAMS_EACH,
    h2Answered401: result.h2Results.filter((r) => r.status === 401).length,
    h1Connections: H1_CONNECTIONS,
    h1Answered401AndClosed: result.h1Results.filter((r) => r.ok).length,
    slowestAnswerMs: Math.max(...result.h2Results.map((r) => r.ms), ...result.h1Results.map((r) => r.ms)),
    during: worst,
    after,
    rssBefore,
    rssPeak,
    rssAfter,
  };
}

/** The verdict on what was observed (see the module comment for the bounds). */
export function judge(facts: UnfinishedBodyFacts): AttackResult {
  const held =
    facts.h2Answered401 === facts.h2Streams &&
    facts.h1Answered401AndClosed === facts.h1Connections &&
    facts.rssPeak - facts.rssBefore <= 64 * 1024 * 1024 &&
    worstOf(facts.during) <= 2_000 &&
    worstOf(facts.after) <= 2_000;
  return {
    held,
    detail:
      `${facts.h2Answered401}/${facts.h2Streams} h2 streams and ${facts.h1Answered401AndClosed}/${facts.h1Connections} h1 connections answered 401 before their body (slowest ${ms(facts.slowestAnswerMs)}); ` +
      `RSS ${mib(facts.rssBefore)} → peak ${mib(facts.rssPeak)} → ${mib(facts.rssAfter)} (bound +64 MiB); worst probe during ${ms(worstOf(facts.during))}, after ${ms(worstOf(facts.after))}`,
  };
}

export const attack: Attack = {
  name: "unfinished bodies with Bearer nope",
  item: 1,
  run: async (context) => judge(await measure(context)),
};
