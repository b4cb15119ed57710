/**
 * Item 9: a compressed binary message whose `prompt` has the wrong wire type
 * (a varint followed by five bytes that protobuf-es would read as the prompt
 * "hello"). Before the fix the wire-type check skipped compressed messages,
 * and such a Store was stored.
 *
 * Over gRPC (grpc-encoding gzip, compressed flag set) and Connect unary
 * (content-encoding gzip), the Store must be refused INVALID_ARGUMENT naming
 * the field, while a well-formed gzipped Store is accepted; afterwards the
 * namespace must hold exactly the well-formed entry.
 */
import { connect as h2connect } from "node:http2";
import { gzipSync } from "node:zlib";
import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import type { Attack, AttackContext, AttackResult } from "../attack.js";

/** What the attack observed. */
export interface GzipWireFacts {
  /** grpc-status and grpc-message of the malformed gzipped gRPC Store. */
  readonly grpcMalformed: { status: string; message: string };
  /** HTTP status and JSON code of the malformed gzipped Connect Store. */
  readonly connectMalformed: { status: number; code: string };
  /** grpc-status of the well-formed gzipped gRPC Store. */
  readonly grpcWellFormed: string;
  /** Prompts listed in the namespace afterwards. */
  readonly promptsAfter: readonly string[];
}

const NAMESPACE = "tenant-a";
const WELL_FORMED_PROMPT = "A well-formed compressed prompt";

function scope(writer: BinaryWriter): BinaryWriter {
  return writer.tag(3, WireType.LengthDelimited).bytes(new BinaryWriter().tag(1, WireType.LengthDelimited).string(NAMESPACE).finish());
}

/** prompt (field 1) as a varint 5 followed by "hello", then a response and the scope. */
const MALFORMED_STORE = scope(new BinaryWriter().tag(1, WireType.Varint).uint32(5).raw(new TextEncoder().encode("hello")).tag(2, WireType.LengthDelimited).string("stored by mistake")).finish();
const WELL_FORMED_STORE = scope(new BinaryWriter().tag(1, WireType.LengthDelimited).string(WELL_FORMED_PROMPT).tag(2, WireType.LengthDelimited).string("fine")).finish();

function compressedEnvelope(message: Uint8Array): Buffer {
  const gz = gzipSync(message);
  const head = Buffer.alloc(5);
  head.writeUInt8(1, 0);
  head.writeUInt32BE(gz.byteLength, 1);
  return Buffer.concat([head, gz]);
}

/** A gRPC Store over HTTP/2 with a gzipped message; resolves with grpc-status and grpc-message. */
function grpcStore(url: string, key: string, message: Uint8Array): Promise<{ status: string; message: string }> {
  return new Promise((resolve) => {
    const session = h2connect(url);
    session.on("error", () => resolve({ status: "connection error", message: "" }));
    const stream = session.request({
      ":method": "POST",
      ":path": "/semcache.v1.SemanticCacheService/Store",
      "content-type": "application/grpc",
      "grpc-encoding": "gzip",
      te: "trailers",
      authorization: `Bearer ${key}`,
    });
    let status = "none";
    let text = "";
    const take = (headers: Record<string, unknown>): void => {
      if (headers["grpc-status"] !== undefined) status = String(headers["grpc-status"]);
      if (headers["grpc-message"] !== undefined) text = decodeURIComponent(String(headers["grpc-message"]));
    };
    stream.on("response", take);
    stream.on("trailers", take);
    stream.on("data", () => undefined);
    stream.on("error", () => undefined);
    stream.on("close", () => {
      session.close();
      resolve({ status, message: text });
    });
    stream.end(compressedEnvelope(message));
  });
}

/** Runs the attack against a fresh target and reports what happened. */
export async function measure(context: AttackContext): Promise<GzipWireFacts> {
  const target = await context.launch();
  const grpcMalformed = await grpcStore(target.url, target.userKey, MALFORMED_STORE);
  const connect = await fetch(`${target.url}/semcache.v1.SemanticCacheService/Store`, {
    method: "POST",
    headers: { "content-type": "application/proto", "content-encoding": "gzip", authorization: `Bearer ${target.userKey}` },
    body: gzipSync(MALFORMED_STORE),
  });
  const connectBody = (await connect.json()) as { code?: string };
  const grpcWellFormed = (await grpcStore(target.url, target.userKey, WELL_FORMED_STORE)).status;
  const listed = await fetch(`${target.url}/semcache.v1.SemanticCacheService/ListEntries`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${target.userKey}` },
    body: JSON.stringify({ namespace: NAMESPACE }),
  });
  const entries = ((await listed.json()) as { entries?: { prompt?: string }[] }).entries ?? [];
  return {
    grpcMalformed,
    connectMalformed: { status: connect.status, code: connectBody.code ?? "" },
    grpcWellFormed,
    promptsAfter: entries.map((entry) => entry.prompt ?? ""),
  };
}

/** The verdict on what was observed (see the module comment). */
export function judge(facts: GzipWireFacts): AttackResult {
  const held =
    facts.grpcMalformed.status === "3" &&
    /^prompt: has wire type 0/u.test(facts.grpcMalformed.message) &&
    facts.connectMalformed.status === 400 &&
    facts.connectMalformed.code === "invalid_argument" &&
    facts.grpcWellFormed === "0" &&
    facts.promptsAfter.length === 1 &&
    facts.promptsAfter[0] === WELL_FORMED_PROMPT;
  return {
    held,
    detail:
      `gzipped wrong-wire-type Store: gRPC grpc-status ${facts.grpcMalformed.status} ("${facts.grpcMalformed.message.slice(0, 60)}"), Connect ${facts.connectMalformed.status} ${facts.connectMalformed.code}; ` +
      `well-formed gzipped Store grpc-status ${facts.grpcWellFormed}; entries afterwards: ${facts.promptsAfter.length} (expected only the well-formed one)`,
  };
}

export const attack: Attack = {
  name: "gzipped wrong wire type",
  item: 9,
  run: async (context) => judge(await measure(context)),
};
