/**
 * A redis-server with an append-only file (fsync on every write) in its own
 * directory, killable with SIGKILL and restartable on the same port and
 * files: what an outage of a production Redis looks like, data included.
 *
 * test/store/redis-test-server.ts runs Redis with persistence off, which is
 * right for its tests but loses everything on a kill; this one exists only
 * because that one has no persistence option (see the faults notes).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { findRedisServer } from "../../store/redis-test-server.js";

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.on("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const address = probe.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      probe.close(() => resolve(port));
    });
  });
}

function answersPing(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = new Socket();
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => done(false));
    socket.on("error", () => done(false));
    // A Redis still loading its AOF answers -LOADING: not ready yet.
    socket.on("data", (chunk) => done(chunk.toString().includes("PONG")));
    socket.connect(port, "127.0.0.1", () => socket.write("PING\r\n"));
  });
}

/** A running (or killed) redis-server with an append-only file. */
export class PersistentRedis {
  private child: ChildProcess | undefined;

  private constructor(
    private readonly binary: string,
    /** The loopback port, kept across restarts. */
    readonly port: number,
    /** The directory of its append-only file, kept across restarts. */
    readonly dir: string,
  ) {}

  /** Starts redis-server on a free port with a fresh directory. */
  static async start(): Promise<PersistentRedis> {
    const redis = new PersistentRedis(findRedisServer(), await freePort(), mkdtempSync(join(tmpdir(), "semcache-redis-aof-")));
    await redis.restart();
    return redis;
  }

  /** `redis://127.0.0.1:<port>`. */
  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** (Re)starts the server on the same port and files; resolves once it answers PING (its AOF loaded). */
  async restart(): Promise<void> {
    if (this.child !== undefined) throw new Error("redis-server is already running");
    const args = ["--port", String(this.port), "--bind", "127.0.0.1", "--dir", this.dir, "--save", "", "--appendonly", "yes", "--appendfsync", "always"];
    const child = spawn(this.binary, args, { stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout?.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.stderr?.on("data", (chunk: Buffer) => (output += chunk.toString()));
    this.child = child;
    // A test runner that dies must not leave a redis-server behind.
    const killOnExit = (): void => void child.kill("SIGKILL");
    process.once("exit", killOnExit);
    child.once("exit", () => process.off("exit", killOnExit));
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline && child.exitCode === null) {
      if (await answersPing(this.port)) return;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    await this.kill();
    throw new Error(`redis-server did not start on port ${this.port}:\n${output}`);
  }

  /** SIGKILL, and waits until the process is gone (nothing is flushed: the AOF has every acknowledged write already). */
  async kill(): Promise<void> {
    const child = this.child;
    if (child === undefined) return;
    this.child = undefined;
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    child.kill("SIGKILL");
    await exited;
  }

  /** Kills the server and deletes its files. */
  async destroy(): Promise<void> {
    await this.kill();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
