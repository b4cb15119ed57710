import { BUF, run, type RunResult } from "./client-tools.js";

/** A protocol as `buf curl` names it, with the HTTP version it should use. */
export interface CurlProtocol {
  readonly label: string;
  readonly args: readonly string[];
}

/** gRPC over h2c, Connect over HTTP/1.1 and h2c, gRPC-Web over HTTP/1.1. */
export const CURL_PROTOCOLS: readonly CurlProtocol[] = [
  { label: "grpc (h2c)", args: ["--protocol", "grpc", "--http2-prior-knowledge"] },
  { label: "connect (HTTP/1.1)", args: ["--protocol", "connect"] },
  { label: "connect (h2c)", args: ["--protocol", "connect", "--http2-prior-knowledge"] },
  { label: "grpcweb (HTTP/1.1)", args: ["--protocol", "grpcweb"] },
];

/** Runs `buf curl` (schema from server reflection, the default). */
export function bufCurl(args: readonly string[]): Promise<RunResult> {
  return run(BUF, ["curl", ...args], { timeoutMs: 60_000 });
}

/** Runs `buf curl` and parses its JSON output; throws with its stderr when it fails. */
export async function bufCurlJson(args: readonly string[]): Promise<unknown> {
  const result = await bufCurl(args);
  if (result.code !== 0) throw new Error(`buf curl ${args.join(" ")} exited ${result.code}:\n${result.stderr}${result.stdout}`);
  return JSON.parse(result.stdout) as unknown;
}
