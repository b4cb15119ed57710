/**
 * API keys end to end: a real server with a key file, the generated client
 * over every protocol, the OpenAI test server behind Ask.
 */
import { rmSync, writeFileSync } from "node:fs";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RETRY_AFTER_MS_HEADER } from "../../src/auth/index.js";
import { Health, HealthCheckResponse_ServingStatus } from "../../src/gen/grpc/health/v1/health_pb.js";
import { MatchKind, Source } from "../../src/gen/semcache/v1/semantic_cache_pb.js";
import { bufCurl, bufCurlJson, CURL_PROTOCOLS } from "../support/buf-curl.js";
import { clientFor, PROTOCOLS, type CacheClient } from "../support/clients.js";
import { eventually } from "../support/eventually.js";
import { startOpenAiServer, type OpenAiTestServer } from "../support/openai-server.js";
import { startTestServer, tempDir, type TestServer } from "../support/test-server.js";
import { testKey, writeKeyFile, type TestKey } from "../support/key-files.js";

const alice = testKey({ id: "alice", role: "user", namespaces: ["team-a"] });
const bob = testKey({ id: "bob", role: "user", namespaces: ["team-b", "shared/*"] });
const ops = testKey({ id: "ops", role: "admin" });
const prom = testKey({ id: "prom", role: "metrics" });
const limited = testKey({ id: "limited", role: "user", namespaces: ["limited"], rateLimit: { requestsPerSecond: 0.2, burst: 3 } });
const KEYS: TestKey[] = [alice, bob, ops, prom, limited];
const QUESTIONS: Record<(typeof PROTOCOLS)[number], string> = {
  "connect-h1": "What colour is the sky on Mars?",
  "connect-h2": "How many strings does a violin have?",
  grpc: "Which planet has the most moons?",
  "grpc-web": "Who painted the Mona Lisa?",
};

let dir: string;
let keyFile: string;
let llm: OpenAiTestServer;
let server: TestServer;

beforeAll(async () => {
  dir = tempDir("semcache-keys-");
  keyFile = writeKeyFile(dir, KEYS);
  llm = await startOpenAiServer();
  server = await startTestServer({
    env: { SEMCACHE_API_KEYS_FILE: keyFile, SEMCACHE_LLM_BASE_URL: llm.url, SEMCACHE_LLM_MODEL: "test-model", SEMCACHE_LOG_LEVEL: "error" },
  });
});
afterAll(async () => {
  await server?.stop();
  await llm?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function failure(call: Promise<unknown>): Promise<ConnectError> {
  const error = await call.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error, "the call should have failed").toBeInstanceOf(ConnectError);
  return error as ConnectError;
}

async function expectCode(call: Promise<unknown>, code: Code, message?: RegExp | string): Promise<ConnectError> {
  const error = await failure(call);
  expect(Code[error.code]).toBe(Code[code]);
  if (typeof message === "string") expect(error.rawMessage).toBe(message);
  else if (message !== undefined) expect(error.rawMessage).toMatch(message);
  return error;
}

describe.each(PROTOCOLS)("API keys over %s", (protocol) => {
  const as = (key?: TestKey): CacheClient => clientFor(protocol, server.url, key === undefined ? {} : { apiKey: key.key });
  const tag = protocol;

  it("refuses calls without a key, or with an unknown one, as UNAUTHENTICATED", async () => {
    await expectCode(as().lookup({ prompt: "hi" }), Code.Unauthenticated, /missing API key: send the header authorization: Bearer <key>/);
    await expectCode(clientFor(protocol, server.url, { apiKey: `${alice.key}x` }).lookup({ prompt: "hi" }), Code.Unauthenticated, "unknown API key");
    await expectCode(as().stats({}), Code.Unauthenticated);
    await expectCode(as().flush({ all: true }), Code.Unauthenticated);
  });

  it("puts a bound key's calls in its namespace, and keeps it out of others", async () => {
    const prompt = `Where is the Eiffel tower? (${tag})`;
    const stored = await as(alice).store({ prompt, response: "Paris." });
    expect(stored.id).not.toBe("");
    // Where it landed, seen by an admin: team-a, not "default".
    expect((await as(ops).lookup({ prompt, scope: { namespace: "team-a" } })).entry?.response).toBe("Paris.");
    expect((await as(ops).lookup({ prompt, scope: { namespace: "default" } })).hit).toBe(false);
    expect((await as(alice).lookup({ prompt })).kind).toBe(MatchKind.EXACT);
    expect((await as(alice).lookup({ prompt, scope: { namespace: "team-a" } })).hit).toBe(true);

    await expectCode(as(alice).lookup({ prompt, scope: { namespace: "team-b" } }), Code.PermissionDenied, 'API key "alice" may not use namespace "team-b"');
    await expectCode(as(alice).store({ prompt, response: "x", scope: { namespace: "team-b" } }), Code.PermissionDenied);
    await expectCode(as(alice).listEntries({ namespace: "team-b" }), Code.PermissionDenied);
    await expectCode(as(alice).stats({ namespace: "team-b" }), Code.PermissionDenied);
    expect((await as(alice).listEntries({})).entries.every((e) => e.scope?.namespace === "team-a")).toBe(true);
  });

  it("says nothing about another tenant's namespace: the refusal is the same whether it holds entries or not", async () => {
    await as(bob).store({ prompt: `bob's secret (${tag})`, response: "s3cret", scope: { namespace: "team-b" } });
    const full = await expectCode(as(alice).lookup({ prompt: `bob's secret (${tag})`, scope: { namespace: "team-b" } }), Code.PermissionDenied);
    const empty = await expectCode(as(alice).lookup({ prompt: `bob's secret (${tag})`, scope: { namespace: "team-z" } }), Code.PermissionDenied);
    expect(full.rawMessage.replace("team-b", "NS")).toBe(empty.rawMessage.replace("team-z", "NS"));
    expect(full.rawMessage).not.toContain("s3cret");
  });

  it("lets a key of several namespaces use prefixes, and needs a namespace where it has no default", async () => {
    expect((await as(bob).store({ prompt: `shared prompt (${tag})`, response: "ok", scope: { namespace: "shared/docs" } })).id).not.toBe("");
    await expectCode(as(bob).lookup({ prompt: "hi", scope: { namespace: "shared" } }), Code.PermissionDenied);
    await expectCode(as(bob).lookup({ prompt: "hi" }), Code.PermissionDenied, 'API key "bob" may not use namespace "default"');
    await expectCode(as(bob).lookup({ prompt: "hi", scope: { namespace: "bad name" } }), Code.InvalidArgument, /scope\.namespace/);
  });

  it("keeps Flush and Stats across namespaces for admin keys", async () => {
    await expectCode(as(alice).flush({ namespace: "team-a" }), Code.PermissionDenied, /Flush needs an admin key/);
    await expectCode(as(alice).flush({ all: true }), Code.PermissionDenied, /Flush needs an admin key/);
    // A user's Stats without a namespace is its own namespace's.
    const own = await as(alice).stats({});
    const seenByAdmin = await as(ops).stats({ namespace: "team-a" });
    expect(own.entries).toBe(seenByAdmin.entries);
    expect((await as(ops).stats({})).entries).toBeGreaterThan(own.entries);
    const temp = `flush-${tag}`;
    await as(ops).store({ prompt: "to be flushed", response: "x", scope: { namespace: temp } });
    expect((await as(ops).flush({ namespace: temp })).deleted).toBe(1n);
  });

  it("gives metrics keys no RPC at all", async () => {
    await expectCode(as(prom).lookup({ prompt: "hi", scope: { namespace: "team-a" } }), Code.PermissionDenied, /metrics key: it may only read \/metrics/);
    await expectCode(as(prom).stats({}), Code.PermissionDenied);
  });

  it("guards Ask and AskStream the same way, and answers them in the key's namespace", async () => {
    // A question of its own per protocol: rewordings of one would be semantic hits.
    const prompt = QUESTIONS[protocol];
    const asked = await as(alice).ask({ prompt });
    expect(asked.source).toBe(Source.LLM);
    expect((await as(ops).lookup({ prompt, scope: { namespace: "team-a", model: "test-model" } })).hit).toBe(true);
    const events: string[] = [];
    for await (const message of as(alice).askStream({ prompt })) events.push(message.event.case ?? "");
    expect(events[0]).toBe("start");
    await expectCode(as(alice).ask({ prompt, scope: { namespace: "team-b" } }), Code.PermissionDenied);
    const stream = as(alice).askStream({ prompt, scope: { namespace: "team-b" } });
    await expectCode((async () => { for await (const _ of stream) void _; })(), Code.PermissionDenied, 'API key "alice" may not use namespace "team-b"');
    await expectCode((async () => { for await (const _ of as().askStream({ prompt })) void _; })(), Code.Unauthenticated);
  });
});

describe.each(CURL_PROTOCOLS)("buf curl over $label, schema from reflection", ({ args }) => {
  const lookup = '{"prompt":"buf curl probe"}';
  it("passes the bearer header; reflection needs no key", async () => {
    const url = `${server.url}/semcache.v1.SemanticCacheService/Lookup`;
    expect(await bufCurlJson([...args, "-H", `authorization: Bearer ${alice.key}`, "-d", lookup, url])).toMatchObject({ threshold: expect.any(Number) });
    const anonymous = await bufCurl([...args, "-d", lookup, url]);
    expect(anonymous.code).not.toBe(0);
    expect(anonymous.stderr + anonymous.stdout).toMatch(/unauthenticated/);
    expect(anonymous.stderr + anonymous.stdout).toMatch(/missing API key/);
  });
});

describe("around the RPCs", () => {
  it("leaves health checks open, and /healthz", async () => {
    const health = createClient(Health, createGrpcTransport({ baseUrl: server.url }));
    expect((await health.check({ service: "" })).status).toBe(HealthCheckResponse_ServingStatus.SERVING);
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
  });

  it("shows /metrics to admin and metrics keys only", async () => {
    for (const path of ["/metrics", "/metrics/json"]) {
      const get = (key?: TestKey) => fetch(`${server.url}${path}`, key === undefined ? {} : { headers: { authorization: `Bearer ${key.key}` } });
      const anonymous = await get();
      expect(anonymous.status).toBe(401);
      expect(anonymous.headers.get("www-authenticate")).toBe('Bearer realm="semcache"');
      expect(((await anonymous.json()) as { code: string }).code).toBe("unauthenticated");
      const user = await get(alice);
      expect(user.status).toBe(403);
      expect(((await user.json()) as { message: string }).message).toMatch(/needs admin or metrics/);
      expect((await get(prom)).status).toBe(200);
      expect((await get(ops)).status).toBe(200);
    }
  });

  it("gives refused calls no namespace label of their own", async () => {
    const stranger = clientFor("grpc", server.url, { apiKey: alice.key });
    await expectCode(stranger.lookup({ prompt: "hi", scope: { namespace: "probe-for-labels" } }), Code.PermissionDenied);
    await expectCode(clientFor("grpc", server.url).lookup({ prompt: "hi", scope: { namespace: "probe-anon" } }), Code.Unauthenticated);
    const text = await (await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${ops.key}` } })).text();
    expect(text).not.toContain("probe-for-labels");
    expect(text).not.toContain("probe-anon");
    expect(text).toMatch(/code="permission_denied"/);
  });

  it("limits each key's request rate with a token bucket, saying when to retry", async () => {
    const client = clientFor("connect-h2", server.url, { apiKey: limited.key });
    for (let i = 0; i < 3; i++) expect((await client.lookup({ prompt: `burst ${i}` })).hit).toBe(false);
    const refused = await expectCode(client.lookup({ prompt: "one too many" }), Code.ResourceExhausted, /rate limit of 0\.2 requests\/s \(burst 3\) exceeded for API key "limited"; retry in \d+ ms/);
    expect(Number(refused.metadata.get(RETRY_AFTER_MS_HEADER))).toBeGreaterThan(0);
    // Another key is not slowed down by it.
    expect((await clientFor("connect-h2", server.url, { apiKey: alice.key }).lookup({ prompt: "unaffected" })).hit).toBe(false);
  });

  it("reloads the key file on change, and keeps the keys in force when the new file is broken", async () => {
    const carol = testKey({ id: "carol", role: "user", namespaces: ["team-c"] });
    const asCarol = clientFor("grpc", server.url, { apiKey: carol.key });
    const asBob = clientFor("grpc", server.url, { apiKey: bob.key });
    writeKeyFile(dir, [alice, ops, prom, limited, carol]);
    await eventually(async () => expect((await asCarol.lookup({ prompt: "hello" })).hit).toBe(false), 10_000, 50);
    await expectCode(asBob.lookup({ prompt: "hello", scope: { namespace: "team-b" } }), Code.Unauthenticated);

    writeFileSync(keyFile, '{"keys": [ {"id": "broken"');
    expect(await server.server.reloadKeys()).toBe(false);
    expect((await asCarol.lookup({ prompt: "hello" })).hit).toBe(false);

    writeKeyFile(dir, KEYS);
    expect(await server.server.reloadKeys()).toBe(true);
    await expectCode(asCarol.lookup({ prompt: "hello" }), Code.Unauthenticated);
    expect((await asBob.lookup({ prompt: "hello", scope: { namespace: "team-b" } })).hit).toBe(false);
  });
});
