/**
 * Item 8: DNS rebinding against a server without API keys. A page on
 * rebind.attacker.example whose name is re-pointed at 127.0.0.1 makes the
 * browser send its requests with `Host: rebind.attacker.example:PORT`;
 * before the fix ListEntries returned entries and `Flush {"all":true}`
 * deleted them.
 *
 * Against a keyless server: with a foreign Host, ListEntries and Flush (over
 * HTTP/1.1 Connect) and Lookup (over HTTP/2 gRPC, via :authority) must be
 * refused PERMISSION_DENIED (HTTP 403 naming SEMCACHE_ALLOWED_HOSTS), and
 * /metrics 403; /healthz still answers; the entry stored through
 * 127.0.0.1 must still be there, and `localhost` must still be served.
 */
import { request as httpRequest } from "node:http";
import { connect as h2connect } from "node:http2";
import type { Attack, AttackContext, AttackResult } from "../attack.js";

const FOREIGN_HOST = "rebind.attacker.example";

/** What the attack observed. */
export interface RebindingFacts {
  /** HTTP status and JSON code of each request with the foreign Host. */
  readonly listEntries: { status: number; code: string; message: string };
  readonly flush: { status: number; code: string };
  readonly metrics: { status: number };
  readonly healthz: { status: number };
  /** grpc-status of a gRPC Lookup with the foreign :authority. */
  readonly grpcLookupStatus: string;
  /** Entries still listed through 127.0.0.1 after the attack (1 was stored). */
  readonly entriesAfter: number;
  /** Status of a ListEntries with Host: localhost:PORT. */
  readonly localhostStatus: number;
}

/** One HTTP/1.1 request with the given Host; resolves with the status and parsed JSON body (if any). */
function send(port: number, host: string, method: string, path: string, body?: string): Promise<{ status: number; json: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: "127.0.0.1", port, method, path, headers: { host, ...(body === undefined ? {} : { "content-type": "application/json" }) } }, (res) => {
      let text = "";
      res.on("data", (chunk: Buffer) => (text += chunk.toString("utf8")));
      res.on("end", () => {
        let json: Record<string, unknown> = {};
        try {
          json = JSON.parse(text) as Record<string, unknown>;
        } catch {
          // Not JSON (metrics text, say).
        }
        resolve({ status: res.statusCode ?? 0, json });
      });
    });
    req.on("error", reject);
    req.end(body);
  });
}

const rpc = (method: string): string => `/semcache.v1.SemanticCacheService/${method}`;

/** Runs the attack against a fresh keyless target and reports what happened. */
export async function measure(context: AttackContext): Promise<RebindingFacts> {
  const target = await context.launch({ keys: false });
  const own = `127.0.0.1:${target.port}`;
  const foreign = `${FOREIGN_HOST}:${target.port}`;
  const stored = await send(target.port, own, "POST", rpc("Store"), JSON.stringify({ prompt: "What is the capital of France?", response: "Paris." }));
  if (stored.status !== 200) throw new Error(`could not store the entry to protect: HTTP ${stored.status} ${JSON.stringify(stored.json)}`);

  const list = await send(target.port, foreign, "POST", rpc("ListEntries"), "{}");
  const flush = await send(target.port, foreign, "POST", rpc("Flush"), JSON.stringify({ all: true }));
  const metrics = await send(target.port, foreign, "GET", "/metrics");
  const healthz = await send(target.port, foreign, "GET", "/healthz");
  const grpcLookupStatus = await new Promise<string>((resolve) => {
    const session = h2connect(target.url);
    session.on("error", () => resolve("connection error"));
    const stream = session.request({ ":method": "POST", ":path": rpc("Lookup"), ":authority": foreign, "content-type": "application/grpc" });
    let status = "none";
    stream.on("response", (headers) => (status = String(headers["grpc-status"] ?? status)));
    stream.on("trailers", (trailers) => (status = String(trailers["grpc-status"] ?? status)));
    stream.on("error", () => undefined);
    stream.on("close", () => {
      session.close();
      resolve(status);
    });
    stream.on("data", () => undefined);
    // An empty LookupRequest, length-prefixed.
    stream.end(Buffer.alloc(5));
  });
  const after = await send(target.port, own, "POST", rpc("ListEntries"), "{}");
  const localhost = await send(target.port, `localhost:${target.port}`, "POST", rpc("ListEntries"), "{}");
  return {
    listEntries: { status: list.status, code: String(list.json["code"] ?? ""), message: String(list.json["message"] ?? "") },
    flush: { status: flush.status, code: String(flush.json["code"] ?? "") },
    metrics: { status: metrics.status },
    healthz: { status: healthz.status },
    grpcLookupStatus,
    entriesAfter: Array.isArray(after.json["entries"]) ? (after.json["entries"] as unknown[]).length : 0,
    localhostStatus: localhost.status,
  };
}

/** The verdict on what was observed (see the module comment). */
export function judge(facts: RebindingFacts): AttackResult {
  const held =
    facts.listEntries.status === 403 &&
    facts.listEntries.code === "permission_denied" &&
    facts.flush.status === 403 &&
    facts.metrics.status === 403 &&
    facts.healthz.status === 200 &&
    facts.grpcLookupStatus === "7" &&
    facts.entriesAfter === 1 &&
    facts.localhostStatus === 200;
  return {
    held,
    detail:
      `Host ${FOREIGN_HOST}: ListEntries ${facts.listEntries.status} ${facts.listEntries.code}, Flush ${facts.flush.status}, /metrics ${facts.metrics.status}, ` +
      `gRPC Lookup grpc-status ${facts.grpcLookupStatus}, /healthz ${facts.healthz.status}; entries left ${facts.entriesAfter}/1; Host localhost: ${facts.localhostStatus}`,
  };
}

export const attack: Attack = {
  name: "DNS rebinding (keyless)",
  item: 8,
  run: async (context) => judge(await measure(context)),
};
