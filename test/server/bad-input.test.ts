import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { clientFor, PROTOCOLS, type CacheClient } from "../support/clients.js";
import { startTestServer, type TestServer } from "../support/test-server.js";

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server.stop();
});

async function expectCode(call: Promise<unknown>, code: Code, messagePart?: RegExp): Promise<void> {
  const error = await call.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error, "the call should have failed").toBeInstanceOf(ConnectError);
  const connectError = error as ConnectError;
  expect(Code[connectError.code]).toBe(Code[code]);
  if (messagePart !== undefined) expect(connectError.rawMessage).toMatch(messagePart);
}

describe.each(PROTOCOLS)("bad input over %s", (protocol) => {
  let client: CacheClient;
  const scope = { namespace: `bad-${protocol}` };
  beforeAll(async () => {
    client = clientFor(protocol, server.url);
    await client.store({ prompt: "A prompt that must survive", response: "kept", scope });
  });

  it("rejects empty prompts and responses", async () => {
    await expectCode(client.lookup({ prompt: "", scope }), Code.InvalidArgument, /prompt: must not be empty/);
    await expectCode(client.lookup({ prompt: " \n\t ", scope }), Code.InvalidArgument, /prompt: must not be empty/);
    await expectCode(client.store({ prompt: "x", response: "", scope }), Code.InvalidArgument, /response: must not be empty/);
    await expectCode(client.store({ prompt: "", response: "x", scope }), Code.InvalidArgument, /prompt/);
  });

  it("rejects a prompt above the limit, naming it", async () => {
    const huge = "a ".repeat(40_000);
    await expectCode(client.lookup({ prompt: huge, scope }), Code.InvalidArgument, /limit of 65536 bytes/);
    await expectCode(client.store({ prompt: huge, response: "x", scope }), Code.InvalidArgument, /limit of 65536 bytes/);
  });

  it("rejects thresholds outside (0, 1]", async () => {
    for (const minSimilarity of [Number.NaN, 0, -0.5, 1.5, Number.POSITIVE_INFINITY]) {
      await expectCode(client.lookup({ prompt: "hello there", scope, minSimilarity }), Code.InvalidArgument, /min_similarity/);
    }
  });

  it("rejects bad namespaces and models", async () => {
    await expectCode(client.lookup({ prompt: "hi", scope: { namespace: "has space" } }), Code.InvalidArgument, /scope.namespace/);
    await expectCode(client.lookup({ prompt: "hi", scope: { namespace: "n".repeat(129) } }), Code.InvalidArgument, /scope.namespace/);
    await expectCode(client.store({ prompt: "hi", response: "x", scope: { model: "m".repeat(257) } }), Code.InvalidArgument, /scope.model/);
    await expectCode(client.store({ prompt: "hi", response: "x", scope: { model: "bad\u0007model" } }), Code.InvalidArgument, /scope.model/);
    await expectCode(client.stats({ namespace: "no spaces allowed" }), Code.InvalidArgument, /namespace/);
  });

  it("rejects a flush with neither namespace nor all, or both", async () => {
    await expectCode(client.flush({}), Code.InvalidArgument, /namespace/);
    await expectCode(client.flush({ namespace: "x", all: true }), Code.InvalidArgument, /not both/);
  });

  it("rejects too much metadata", async () => {
    const metadata = Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`k${i}`, "v"]));
    await expectCode(client.store({ prompt: "hi", response: "x", scope, metadata }), Code.InvalidArgument, /metadata/);
  });

  it("lost nothing that was stored", async () => {
    const hit = await client.lookup({ prompt: "A prompt that must survive", scope });
    expect(hit.hit).toBe(true);
    expect(hit.entry?.response).toBe("kept");
    expect((await client.stats({ namespace: scope.namespace })).entries).toBe(1n);
  });
});

describe("malformed Connect JSON", () => {
  async function post(body: string, contentType = "application/json"): Promise<{ status: number; json: { code?: string; message?: string } }> {
    const response = await fetch(`${server.url}/semcache.v1.SemanticCacheService/Lookup`, {
      method: "POST",
      headers: { "content-type": contentType },
      body,
    });
    return { status: response.status, json: (await response.json().catch(() => ({}))) as { code?: string; message?: string } };
  }

  it("answers wrong field types with invalid_argument", async () => {
    const result = await post(JSON.stringify({ prompt: 42 }));
    expect(result.status).toBe(400);
    expect(result.json.code).toBe("invalid_argument");
  });

  it("answers unparseable JSON with invalid_argument", async () => {
    const result = await post("{not json");
    expect(result.status).toBe(400);
    expect(result.json.code).toBe("invalid_argument");
  });

  it("answers an unknown content type with 415", async () => {
    const result = await post("prompt=hi", "application/x-www-form-urlencoded");
    expect(result.status).toBe(415);
  });
});
