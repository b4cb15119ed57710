/** Starts and stops the anchor server (canned-lookup-server.ts) as a child process. */
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { REPO } from "../lib/server.js";

const ENTRY = fileURLToPath(new URL("./canned-lookup-server.ts", import.meta.url));

/** A running anchor server. */
export interface AnchorServer {
  readonly url: string;
  readonly pid: number;
  stop(): Promise<void>;
}

/**
 * Starts the canned-Lookup server with `canned` (a serialized
 * LookupResponse) as its one answer. It runs under tsx: the loader only
 * transpiles at import, so requests run the same code a build would.
 */
export async function startAnchorServer(canned: Uint8Array, extraNodeArgs: readonly string[] = []): Promise<AnchorServer> {
  const child = spawn(process.execPath, [...extraNodeArgs, "--import", "tsx", ENTRY], {
    cwd: REPO,
    env: { ...process.env, SEMCACHE_BENCH_CANNED: Buffer.from(canned).toString("base64") },
    stdio: ["ignore", "pipe", "inherit"],
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const url = await new Promise<string>((resolve, reject) => {
    void exited.then(() => reject(new Error("the anchor server exited before listening")));
    createInterface({ input: child.stdout! }).once("line", resolve);
  });
  return {
    url,
    pid: child.pid!,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill("SIGTERM");
      await exited;
    },
  };
}
