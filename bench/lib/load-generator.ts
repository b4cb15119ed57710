/**
 * The semantic-throughput benchmark's client: bench/loadgen, a grpc-go
 * program built from the generated Go client, driven over stdin/stdout.
 *
 * Why not the Node client: the throughput runs compare the server with
 * onnxruntime alone, on a machine whose two cores the client shares. The
 * Node gRPC client spends about 1 ms of CPU a call (as much as the server's
 * event loop), CPU the comparison charges to the server; grpc-go spends
 * about 0.06 ms at concurrency 64. Each run reports the client's own CPU per
 * call, so what it costs stays visible.
 */
import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { GO_GRPC_FILES, goBuild, hostPort, missingFiles, REPO } from "../../test/support/client-tools.js";
import { round, summarize, type LatencySummary } from "./stats.js";

/** One run of semantic lookups at a fixed concurrency. */
export interface ThroughputResult extends LatencySummary {
  readonly concurrency: number;
  readonly lookupsPerSecond: number;
  readonly hitShare: number;
  readonly errors: number;
  readonly seconds: number;
  /** CPU the load generator itself used per call (user + system), in milliseconds. */
  readonly clientCpuMsPerCall: number;
  /** Prompts taken from the queries, the warm-up's included: the next run's `from` is this much further on, so no prompt comes back early. */
  readonly promptsTaken: number;
}

/** A running load generator, connected to one server. */
export interface LoadGenerator {
  /**
   * Takes prompts in turn from the queries, starting at index `from`: warms
   * up with 2 × `concurrency` lookups, then keeps `concurrency` lookups in
   * flight for `seconds`.
   */
  run(concurrency: number, seconds: number, from?: number): Promise<ThroughputResult>;
  close(): Promise<void>;
}

/** What the Go program answers to one command (see bench/loadgen/main.go). */
interface RunReply {
  readonly latenciesMs: number[];
  readonly hits: number;
  readonly errors: number;
  readonly seconds: number;
  readonly cpuMs: number;
  readonly promptsTaken: number;
}

/**
 * Builds bench/loadgen offline against Debian's grpc-go (a cold build of
 * grpc-go takes most of a minute, later ones a second from Go's cache) and
 * starts it against `serverUrl`, looking up `queries` in the scope
 * `{ namespace }`.
 *
 * @throws Error when Go or Debian's grpc-go is missing, naming what installs them.
 */
export async function startLoadGenerator(serverUrl: string, queries: readonly string[], namespace: string): Promise<LoadGenerator> {
  const missing = missingFiles(GO_GRPC_FILES);
  if (missing.length > 0) {
    throw new Error(`the throughput benchmark's load generator (bench/loadgen, Go) needs ${missing.join(", ")}: run .ci/install-clients.sh (Debian, as root)`);
  }
  const dir = mkdtempSync(join(tmpdir(), "semcache-loadgen-"));
  const binary = join(dir, "loadgen");
  // The whole repository as one GOPATH package tree, so bench/loadgen imports the generated client by its path.
  const built = await goBuild(REPO, "github.com/semcache/semcache", "./bench/loadgen", binary);
  if (built.code !== 0 || !existsSync(binary)) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`go build ./bench/loadgen failed (exit ${built.code}):\n${built.stderr}`);
  }
  const queriesFile = join(dir, "queries.json");
  writeFileSync(queriesFile, JSON.stringify(queries));
  const child: ChildProcessWithoutNullStreams = spawn(binary, ["-queries", queriesFile, "-namespace", namespace, hostPort(serverUrl)]);
  let stderr = "";
  child.stderr.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const replies = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const exited = new Promise<never>((_, reject) => {
    child.once("error", reject);
    child.once("exit", (code) => reject(new Error(`the load generator exited (code ${code}): ${stderr.trim()}`)));
  });
  exited.catch(() => undefined);

  return {
    async run(concurrency, seconds, from = 0) {
      child.stdin.write(`${JSON.stringify({ concurrency, seconds, from })}\n`);
      const line = await Promise.race([replies.next(), exited]);
      if (line.done === true) throw new Error(`the load generator stopped answering: ${stderr.trim()}`);
      const reply = JSON.parse(line.value) as RunReply;
      const calls = reply.latenciesMs.length;
      return {
        concurrency,
        ...summarize(reply.latenciesMs),
        lookupsPerSecond: round(calls / reply.seconds, 1),
        hitShare: round(reply.hits / Math.max(1, calls)),
        errors: reply.errors,
        seconds: round(reply.seconds, 2),
        clientCpuMsPerCall: round(reply.cpuMs / Math.max(1, calls)),
        promptsTaken: reply.promptsTaken,
      };
    },
    async close() {
      // A child that already ended (by exit code or by signal) emits no further "exit".
      if (child.exitCode === null && child.signalCode === null) {
        const gone = new Promise<void>((resolve) => child.once("exit", () => resolve()));
        child.stdin.end();
        await gone;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
