import { Code, ConnectError } from "@connectrpc/connect";
import type { UniversalServerRequest } from "@connectrpc/connect/protocol";
import { describe, expect, it } from "vitest";
import { AllowedHosts } from "../../src/server/http/allowed-hosts.js";
import { BodyBudget } from "../../src/server/http/body-budget.js";
import { withoutBody } from "../../src/server/http/edge-refusal.js";
import { JsonDepthScanner } from "../../src/server/http/connect-fixes/json-depth.js";

describe("AllowedHosts (keyless servers answer only their own names)", () => {
  const hosts = new AllowedHosts("127.0.0.1", ["cache.internal", "[fd00::5]"]);

  it.each(["localhost", "localhost:8080", "LOCALHOST.:1", "app.localhost:3", "127.0.0.1:8080", "127.9.9.9", "[::1]:8080", "cache.internal:443", "[fd00::5]:80"])(
    "allows %s",
    (authority) => expect(hosts.allows(authority)).toBe(true),
  );

  it.each(["rebind.attacker.example:8080", "localhost.attacker.example", "10.0.0.1:8080", "[::2]:1", "128.0.0.1", "", "[::1"])("refuses %s", (authority) =>
    expect(hosts.allows(authority)).toBe(false),
  );

  it("refuses a request without a Host, and allows everything with *", () => {
    expect(hosts.allows(undefined)).toBe(false);
    expect(new AllowedHosts("127.0.0.1", ["*"]).allows("anything.example")).toBe(true);
  });

  it("allows the bind address", () => {
    expect(new AllowedHosts("10.1.2.3", []).allows("10.1.2.3:8080")).toBe(true);
  });
});

describe("JsonDepthScanner", () => {
  const scan = (text: string, max = 3, chunk = 1): boolean => {
    const scanner = new JsonDepthScanner(max);
    const bytes = Buffer.from(text);
    for (let i = 0; i < bytes.length; i += chunk) if (scanner.tooDeep(bytes.subarray(i, i + chunk))) return true;
    return false;
  };

  it("counts nesting of arrays and objects", () => {
    expect(scan('{"a":[{"b":1}]}')).toBe(false);
    expect(scan('{"a":[{"b":[1]}]}')).toBe(true);
    expect(scan("[[[]],[[]],[[]]]")).toBe(false);
  });

  it("ignores brackets inside strings, escaped quotes included, across chunk boundaries", () => {
    expect(scan(JSON.stringify({ a: '[[[[{{{{"\\' }))).toBe(false);
    expect(scan(`{"a":"\\"[[[[[["}`, 3, 2)).toBe(false);
    expect(scan(`["\\\\",[[[]]]]`)).toBe(true);
  });
});

function requestWith(chunks: readonly Uint8Array[], signal = new AbortController().signal): UniversalServerRequest {
  return {
    httpVersion: "2.0",
    method: "POST",
    url: "http://127.0.0.1/x",
    header: new Headers({ "content-type": "application/proto", "content-length": "10", "grpc-encoding": "gzip" }),
    body: (async function* () {
      yield* chunks;
    })(),
    signal,
    contextValues: undefined as never,
  } as UniversalServerRequest;
}

async function drain(request: UniversalServerRequest): Promise<number> {
  let size = 0;
  for await (const chunk of request.body as AsyncIterable<Uint8Array>) size += chunk.byteLength;
  return size;
}

describe("BodyBudget", () => {
  it("refuses a body that would take the total over the limit, and gives bytes back when a body ends", async () => {
    const budget = new BodyBudget(100);
    const first = budget.meter(requestWith([new Uint8Array(60)]));
    const iterator = (first.body as AsyncIterable<Uint8Array>)[Symbol.asyncIterator]();
    await iterator.next();
    expect(budget.inUse).toBe(60);
    const refused = await drain(budget.meter(requestWith([new Uint8Array(50)]))).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(ConnectError);
    expect((refused as ConnectError).code).toBe(Code.ResourceExhausted);
    expect((refused as ConnectError).rawMessage).toMatch(/SEMCACHE_MAX_PENDING_BODY_BYTES/u);
    await iterator.next();
    expect(budget.inUse).toBe(0);
    expect(await drain(budget.meter(requestWith([new Uint8Array(50), new Uint8Array(50)])))).toBe(100);
  });

  it("gives back the bytes of a body nobody finished reading once the call is over", async () => {
    const budget = new BodyBudget(100);
    const call = new AbortController();
    const request = budget.meter(requestWith([new Uint8Array(40), new Uint8Array(40)], call.signal));
    await (request.body as AsyncIterable<Uint8Array>)[Symbol.asyncIterator]().next();
    expect(budget.inUse).toBe(40);
    call.abort();
    expect(budget.inUse).toBe(0);
  });
});

describe("withoutBody (the stand-in message of a refused call)", () => {
  it.each([
    ["application/json", "7b7d"],
    ["application/proto", ""],
    ["application/grpc", "0000000000"],
    ["application/grpc-web+proto", "0000000000"],
    ["application/connect+json", "00000000027b7d"],
  ])("%s → %s, with no length or compression headers", async (type, hex) => {
    const request = requestWith([new Uint8Array(10)]);
    request.header.set("content-type", type);
    const stand = withoutBody(request);
    const chunks: Uint8Array[] = [];
    for await (const chunk of stand.body as AsyncIterable<Uint8Array>) chunks.push(chunk);
    expect(Buffer.concat(chunks).toString("hex")).toBe(hex);
    expect(stand.header.has("content-length")).toBe(false);
    expect(stand.header.has("grpc-encoding")).toBe(false);
  });
});
