/**
 * Item 2: a 3.6 MB `[[[…]]]` in an unknown field. Before the fix the body
 * was parsed before the key was checked: ~0.8 s of main thread per body, and
 * 8 at once delayed /healthz 5.3 s.
 *
 * 8 such bodies at once without a key must all be answered 401 (the key is
 * checked from the headers, before the body), and 8 with a valid key must be
 * answered 400 INVALID_ARGUMENT (SEMCACHE_MAX_JSON_DEPTH, by a byte scan
 * before parsing); each within 5 s, while /healthz and a valid-key Lookup
 * answer within 2 s.
 */
import { connect as h2connect, type ClientHttp2Session } from "node:http2";
import type { Attack, AttackContext, AttackResult } from "../attack.js";
import { ms, probeWhile } from "../hostile-http.js";
import { type ProbeTimes, worstOf } from "../target.js";

const PARALLEL = 8;
const DEPTH = 1_800_000;
const ANSWER_WITHIN_MS = 5_000;

/** What the attack observed. */
export interface DeepJsonFacts {
  readonly bodyBytes: number;
  /** Without a key: answers that were 401 / unauthenticated. */
  readonly keylessRefused: number;
  readonly keylessSlowestMs: number;
  /** With a valid key: answers that were 400 / invalid_argument naming the depth limit. */
  readonly keyedRefused: number;
  readonly keyedSlowestMs: number;
  readonly during: ProbeTimes;
  readonly after: ProbeTimes;
}

/** POSTs `body` as Connect JSON over HTTP/2; resolves with the status, JSON error code and time (status 0: no answer in time). */
function post(session: ClientHttp2Session, body: Buffer, key: string | undefined): Promise<{ status: number; code: string; message: string; ms: number }> {
  const started = performance.now();
  return new Promise((resolve) => {
    const stream = session.request({
      ":method": "POST",
      ":path": "/semcache.v1.SemanticCacheService/Lookup",
      "content-type": "application/json",
      ...(key === undefined ? {} : { authorization: `Bearer ${key}` }),
    });
    const timer = setTimeout(() => {
      stream.close();
      resolve({ status: 0, code: "", message: "", ms: Number.POSITIVE_INFINITY });
    }, ANSWER_WITHIN_MS);
    let status = 0;
    let text = "";
    stream.on("response", (headers) => (status = Number(headers[":status"])));
    stream.on("data", (chunk: Buffer) => (text += chunk.toString("utf8")));
    stream.on("error", () => undefined);
    stream.on("close", () => {
      clearTimeout(timer);
      let parsed: { code?: string; message?: string } = {};
      try {
        parsed = JSON.parse(text) as { code?: string; message?: string };
      } catch {
        // Not an error body: leave the code empty.
      }
      resolve({ status, code: parsed.code ?? "", message: parsed.message ?? "", ms: performance.now() - started });
    });
    stream.end(body);
  });
}

/** Runs the attack against a fresh target and reports what happened. */
export async function measure(context: AttackContext): Promise<DeepJsonFacts> {
  const target = await context.launch();
  await target.probe();
  const body = Buffer.from(`{"prompt":"deep","extra":${"[".repeat(DEPTH)}${"]".repeat(DEPTH)}}`);
  // Eight 3.6 MB uploads at once are more than the client session's default 10 MB of buffers.
  const session = h2connect(target.url, { maxSessionMemory: 256 });
  session.on("error", () => undefined);
  try {
    const attack = async () => {
      const keyless = await Promise.all(Array.from({ length: PARALLEL }, () => post(session, body, undefined)));
      const keyed = await Promise.all(Array.from({ length: PARALLEL }, () => post(session, body, target.userKey)));
      return { keyless, keyed };
    };
    const { result, worst } = await probeWhile(target, attack(), 200);
    const after = await target.probe();
    return {
      bodyBytes: body.byteLength,
      keylessRefused: result.keyless.filter((r) => r.status === 401 && r.code === "unauthenticated").length,
      keylessSlowestMs: Math.max(...result.keyless.map((r) => r.ms)),
      keyedRefused: result.keyed.filter((r) => r.status === 400 && r.code === "invalid_argument" && r.message.includes("SEMCACHE_MAX_JSON_DEPTH")).length,
      keyedSlowestMs: Math.max(...result.keyed.map((r) => r.ms)),
      during: worst,
      after,
    };
  } finally {
    session.destroy();
  }
}

/** The verdict on what was observed (see the module comment for the bounds). */
export function judge(facts: DeepJsonFacts): AttackResult {
  const held =
    facts.keylessRefused === PARALLEL && facts.keyedRefused === PARALLEL && worstOf(facts.during) <= 2_000 && worstOf(facts.after) <= 2_000;
  return {
    held,
    detail:
      `${PARALLEL} × ${(facts.bodyBytes / 1e6).toFixed(1)} MB deep JSON: keyless ${facts.keylessRefused}/${PARALLEL} refused 401 (slowest ${ms(facts.keylessSlowestMs)}), ` +
      `keyed ${facts.keyedRefused}/${PARALLEL} refused INVALID_ARGUMENT (slowest ${ms(facts.keyedSlowestMs)}); worst probe during ${ms(worstOf(facts.during))}, after ${ms(worstOf(facts.after))}`,
  };
}

export const attack: Attack = {
  name: "deep JSON",
  item: 2,
  run: async (context) => judge(await measure(context)),
};
