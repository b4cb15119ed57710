/**
 * The anchor for exact-hit Lookup latency: a minimal connect-node server
 * (connectNodeAdapter on a plain h2c `http2.createServer`, no interceptors,
 * no logging, no store) whose Lookup returns one canned LookupResponse, the
 * bytes of a real exact hit from semcache (same size on the wire). Run as a
 * child process, like semcache, by startAnchorServer (anchor-process.ts):
 * the canned response comes base64-encoded in SEMCACHE_BENCH_CANNED, and the
 * URL is printed on stdout once listening.
 */
import { createServer } from "node:http2";
import { fromBinary } from "@bufbuild/protobuf";
import type { ConnectRouter } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { LookupResponseSchema, SemanticCacheService } from "../../src/gen/semcache/v1/semantic_cache_pb.js";

const canned = fromBinary(LookupResponseSchema, Buffer.from(process.env.SEMCACHE_BENCH_CANNED ?? "", "base64"));
const routes = (router: ConnectRouter): void => {
  router.rpc(SemanticCacheService.method.lookup, async () => canned);
};
const server = createServer(connectNodeAdapter({ routes }));
server.listen(0, "127.0.0.1", () => {
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("no TCP address");
  process.stdout.write(`http://127.0.0.1:${address.port}\n`);
});
// No graceful close: the bench client keeps its HTTP/2 connection open, and nothing here has state to save.
process.once("SIGTERM", () => process.exit(0));
