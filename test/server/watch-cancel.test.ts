/**
 * A client that stops watching health (Ctrl-C on `buf curl … Health/Watch`)
 * is not a server error: the call is logged as `canceled` below error level
 * and counted as canceled, never as an error.
 */
import { connect, constants } from "node:http2";
import { connect as connectTcp, type Socket } from "node:net";
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startObservedServer, type ObservedServer } from "../support/observed-server.js";
import { eventually } from "../support/eventually.js";

/** A gRPC frame holding HealthCheckRequest{service: "semcache.v1.SemanticCacheService"}. */
function watchRequestFrame(): Buffer {
  const service = Buffer.from("semcache.v1.SemanticCacheService");
  const message = Buffer.concat([Buffer.from([0x0a, service.length]), service]);
  const header = Buffer.alloc(5);
  header.writeUInt32BE(message.length, 1);
  return Buffer.concat([header, message]);
}

/** Opens a Watch over raw h2c, waits for its first message, then ends it the way `how` says. */
async function watchThenHangUp(url: string, how: "rst-cancel" | "close-connection"): Promise<void> {
  const { hostname, port } = new URL(url);
  const socket: Socket = connectTcp(Number(port), hostname);
  const session = connect(url, { createConnection: () => socket });
  const stream = session.request({
    ":method": "POST",
    ":path": "/grpc.health.v1.Health/Watch",
    "content-type": "application/grpc",
    te: "trailers",
  });
  stream.end(watchRequestFrame());
  await new Promise<void>((resolve, reject) => {
    stream.once("data", () => resolve());
    stream.once("error", reject);
  });
  if (how === "rst-cancel") {
    stream.close(constants.NGHTTP2_CANCEL);
    session.close();
  } else {
    // What a killed process does: the socket goes away with no goodbye.
    socket.destroy();
  }
}

// The platform binary itself: a wrapper (npx, bin/buf) would take the SIGINT without passing it on.
const BUF = fileURLToPath(new URL(`../../node_modules/@bufbuild/buf-${process.platform}-${process.arch === "x64" ? "x64" : "arm64"}/bin/buf`, import.meta.url));

/** A Connect server stream over HTTP/1.1, its socket closed after the first message. */
async function connectHttp1WatchThenHangUp(url: string): Promise<void> {
  const { hostname, port } = new URL(url);
  const body = watchRequestFrame();
  const socket = connectTcp(Number(port), hostname);
  socket.write(
    `POST /grpc.health.v1.Health/Watch HTTP/1.1\r\nHost: ${hostname}:${port}\r\ncontent-type: application/connect+proto\r\n` +
      `connect-protocol-version: 1\r\ncontent-length: ${body.length}\r\n\r\n`,
  );
  socket.write(body);
  await new Promise<void>((resolve, reject) => {
    socket.once("data", () => resolve());
    socket.once("error", reject);
  });
  socket.destroy();
}

/** The README's command, stopped as Ctrl-C stops it. */
async function bufCurlWatchThenInterrupt(url: string, protocol: "grpc" | "connect"): Promise<void> {
  const args = ["curl", ...(protocol === "grpc" ? ["--protocol", "grpc", "--http2-prior-knowledge"] : []), "-d", '{"service":"semcache.v1.SemanticCacheService"}', `${url}/grpc.health.v1.Health/Watch`];
  const child = spawn(BUF, args, { stdio: ["ignore", "pipe", "pipe"] });
  await new Promise<void>((resolve, reject) => {
    child.stdout.once("data", () => resolve());
    child.once("exit", (code) => reject(new Error(`buf curl exited (${code}) before the first message`)));
  });
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGINT");
  await exited;
}

describe("Health/Watch cancelled by the client", () => {
  let observed: ObservedServer;
  beforeAll(async () => {
    observed = await startObservedServer({ env: { SEMCACHE_LOG_LEVEL: "debug" } });
  });
  afterAll(async () => observed?.stop());

  const hangUps = {
    "the connection closed (a killed client)": (url: string) => watchThenHangUp(url, "close-connection"),
    "RST_STREAM(CANCEL)": (url: string) => watchThenHangUp(url, "rst-cancel"),
    "Ctrl-C on buf curl --protocol grpc": (url: string) => bufCurlWatchThenInterrupt(url, "grpc"),
    "Ctrl-C on buf curl (Connect)": (url: string) => bufCurlWatchThenInterrupt(url, "connect"),
    "Connect over HTTP/1.1, the socket closed": (url: string) => connectHttp1WatchThenHangUp(url),
  };
  for (const [how, hangUp] of Object.entries(hangUps)) {
    it(`is logged as canceled, not as an error: ${how}`, async () => {
      const before = observed.log.rpcLines().length;
      await hangUp(observed.url);
      const line = await eventually(async () => {
        const found = observed.log.rpcLines().slice(before).find((l) => l["method"] === "Watch");
        if (found === undefined) throw new Error("no Watch log line yet");
        return found;
      }, 10_000);
      expect(line["code"]).toBe("canceled");
      expect(line["level"]).toBeLessThan(40); // below warn: info (30) or debug (20)
    });
  }

  it("counts the cancelled Watches as canceled, not as errors", async () => {
    const metrics = await (await fetch(`${observed.url}/metrics`)).text();
    expect(metrics).toMatch(/semcache_rpc_duration_seconds_count\{[^}]*method="Watch"[^}]*code="canceled"[^}]*\} 5/u);
    expect(metrics).not.toMatch(/semcache_errors_total\{[^}]*kind="(?:canceled|unknown)"/u);
    const json = (await (await fetch(`${observed.url}/metrics/json`)).json()) as { rpc?: Record<string, { errors: number }> };
    expect(json.rpc?.["Watch"]?.errors ?? 0).toBe(0);
  });
});
