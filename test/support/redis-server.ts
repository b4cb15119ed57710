/**
 * A throwaway redis-server for tests, on a free loopback port, killable and
 * restartable on the same port. Persistence is off by default, which is
 * right for store tests but loses everything on a kill; `persistent: true`
 * gives it an append-only file fsynced on every write, in a directory of its
 * own kept across restarts: what an outage of a production Redis looks like,
 * data included (the fault tests).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { createServer, Socket } from "node:net";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";

/** Where redis-server is on PATH, or a clear error saying how to install it. */
export function findRedisServer(): string {
  for (const dir of (process.env["PATH"] ?? "").split(delimiter)) {
    if (dir === "") continue;
    const candidate = join(dir, "redis-server");
    if (existsSync(candidate)) return candidate;
  }
  throw new Error(
    "redis-server is not on PATH: these tests start a real Redis. Install it with `apt-get install -y redis-server` " +
      "(Debian/Ubuntu; CI does this) or your platform's equivalent.",
  );
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

async function answersPing(port: number, password: string | undefined): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = new Socket();
    let data = "";
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => done(false));
    socket.on("error", () => done(false));
    socket.on("data", (chunk) => {
      data += chunk.toString();
      // A Redis still loading its append-only file answers -LOADING: not ready yet.
      if (data.includes("PONG")) done(true);
      else if (data.includes("-")) done(false);
    });
    socket.connect(port, "127.0.0.1", () => {
      socket.write(password === undefined ? "PING\r\n" : `AUTH ${password}\r\nPING\r\n`);
    });
  });
}

/** A running (or killed) test Redis. */
export class RedisTestServer {
  private child: ChildProcess | undefined;

  private constructor(
    private readonly binary: string,
    /** The loopback port, kept across restarts. */
    readonly port: number,
    private readonly password: string | undefined,
    /** The directory of its append-only file (kept across restarts) when persistent; undefined when not. */
    readonly dir: string | undefined,
  ) {}

  /**
   * Starts redis-server on a free port; `password` sets requirepass,
   * `persistent` an append-only file fsynced on every write, in a fresh directory.
   */
  static async start(options: { readonly password?: string; readonly persistent?: boolean } = {}): Promise<RedisTestServer> {
    const dir = options.persistent === true ? mkdtempSync(join(tmpdir(), "semcache-redis-aof-")) : undefined;
    const server = new RedisTestServer(findRedisServer(), await freePort(), options.password, dir);
    await server.restart();
    return server;
  }

  /** `redis://[:password@]127.0.0.1:<port>`. */
  get url(): string {
    const auth = this.password === undefined ? "" : `:${encodeURIComponent(this.password)}@`;
    return `redis://${auth}127.0.0.1:${this.port}`;
  }

  /** The process id of the running server. */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** (Re)starts the server on the same port (and files, when persistent) and waits until it answers PING. */
  async restart(): Promise<void> {
    if (this.child !== undefined) throw new Error("the test redis-server is already running");
    const persistence = this.dir === undefined ? ["--appendonly", "no"] : ["--dir", this.dir, "--appendonly", "yes", "--appendfsync", "always"];
    const args = ["--port", String(this.port), "--bind", "127.0.0.1", "--save", "", ...persistence];
    if (this.password !== undefined) args.push("--requirepass", this.password);
    const child = spawn(this.binary, args, { stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout?.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.stderr?.on("data", (chunk: Buffer) => (output += chunk.toString()));
    this.child = child;
    // A test runner that dies must not leave a redis-server behind.
    const killOnExit = () => child.kill("SIGKILL");
    process.once("exit", killOnExit);
    child.once("exit", () => process.off("exit", killOnExit));
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      if (child.exitCode !== null) break;
      if (await answersPing(this.port, this.password)) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    await this.stop();
    throw new Error(`redis-server did not start on port ${this.port}:\n${output}`);
  }

  /** Sends a signal and, for a fatal one, waits until the process has exited. */
  async signal(signal: NodeJS.Signals): Promise<void> {
    const child = this.child;
    if (child === undefined) return;
    if (signal === "SIGSTOP" || signal === "SIGCONT") {
      child.kill(signal);
      return;
    }
    const exited = child.exitCode !== null || child.signalCode !== null
      ? Promise.resolve()
      : new Promise<void>((resolve) => child.once("exit", () => resolve()));
    child.kill(signal);
    await exited;
    this.child = undefined;
  }

  /** Stops the server for good (SIGKILL: a persistent one has every acknowledged write in its file) and deletes its files. */
  async stop(): Promise<void> {
    if (this.child !== undefined) {
      this.child.kill("SIGCONT");
      await this.signal("SIGKILL");
    }
    if (this.dir !== undefined) rmSync(this.dir, { recursive: true, force: true });
  }
}
