/**
 * Where semcache corrects connect-es, all in this folder, written against
 * @connectrpc/connect and @connectrpc/connect-node {@link CONNECT_FIXES_WRITTEN_FOR}.
 * Each part says which connect-es behaviour it corrects:
 *
 * | file | connect-es behaviour | correction |
 * |---|---|---|
 * | client-faults.ts | undecodable protobuf and a compressed flag without an encoding are INTERNAL; an unsupported content type or method is a bare 415 / 405 (gRPC clients read UNKNOWN); read-limit messages are terse | rewritten in the caller's protocol as INVALID_ARGUMENT / UNIMPLEMENTED / RESOURCE_EXHAUSTED with a message naming the problem (matched on connect-es's own message texts) |
 * | message-precheck.ts | protobuf-es decodes a known field whatever its wire type, and strings whatever their UTF-8; compressed messages likewise | every request message (after decompression, bounded) is checked before the decoder sees it; a bad one fails the call with the field named |
 * | proto-diagnosis.ts | decoder errors name no field ("premature EOF") | walks the bytes to name the field and the fault |
 * | json-depth.ts | JSON.parse runs on any nesting (seconds of CPU for a deep body) | a byte scan refuses nesting deeper than SEMCACHE_MAX_JSON_DEPTH before parsing |
 *
 * The HTTP adapter itself (connect-node's connectNodeAdapter) is replaced by
 * ../request-handler.ts, which also answers a missing Host (an exception in
 * the adapter), unknown methods (UNIMPLEMENTED in the caller's protocol) and
 * checks keys before the body.
 *
 * Upgrading connect-es is a known step: test/server/connect-fixes.test.ts
 * fails when the installed version is not the one written for; run
 * test/server/bad-input-wire.test.ts (which pins every rewritten answer),
 * fix what it reports, then update the version here.
 */
export { withClearClientErrors } from "./client-faults.js";
export { precheckRequestMessages, type MessagePrecheckOptions } from "./message-precheck.js";

/** The connect-es version these corrections were written and tested against. */
export const CONNECT_FIXES_WRITTEN_FOR = "2.1.2";
