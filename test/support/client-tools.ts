/** Running the client toolchains in tests: buf, Debian's Python, offline Go builds, and the gate that skips a suite whose tools are missing. */
import { execFile } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository root. */
export const REPO = fileURLToPath(new URL("../..", import.meta.url));
/** The buf CLI from node_modules. */
export const BUF = join(REPO, "node_modules", ".bin", "buf");
/** Debian's Python: python3-grpcio and python3-protobuf install for it, not for a pyenv python3 on PATH. */
export const SYSTEM_PYTHON = "/usr/bin/python3";

/** The result of a finished command. */
export interface RunResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a command to completion (never throws for a non-zero exit). */
export function run(
  command: string,
  args: readonly string[],
  options: { cwd?: string; env?: Record<string, string>; timeoutMs?: number; input?: string } = {},
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      command,
      args,
      { cwd: options.cwd ?? REPO, env: { ...process.env, ...options.env }, timeout: options.timeoutMs ?? 60_000, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (error !== null && typeof error.code !== "number") {
          reject(new Error(`${command} ${args.join(" ")} failed to run: ${error.message}\n${stderr}`));
          return;
        }
        resolve({ code: error === null ? 0 : (error.code as number), stdout, stderr });
      },
    );
    if (options.input !== undefined) child.stdin?.end(options.input);
  });
}

/** `127.0.0.1:1234` for `http://127.0.0.1:1234`. */
export function hostPort(url: string): string {
  return new URL(url).host;
}

/**
 * Decides whether a suite that needs system tools runs. Missing tools skip
 * it on a developer machine (with a warning) but fail it in CI (`CI` set),
 * where .ci/install-clients.sh must have installed them.
 */
export function toolGate(suite: string, missing: readonly string[]): { readonly skip: boolean; assertAvailable(): void } {
  const inCi = process.env["CI"] !== undefined && process.env["CI"] !== "" && process.env["CI"] !== "false";
  const message = `${suite} needs ${missing.join(", ")}: run .ci/install-clients.sh (Debian, as root)`;
  if (missing.length > 0 && !inCi) console.warn(`skipping: ${message}`);
  return {
    skip: missing.length > 0 && !inCi,
    assertAvailable() {
      if (missing.length > 0) throw new Error(message);
    },
  };
}

/** Files among `paths` that do not exist. */
export function missingFiles(paths: readonly string[]): string[] {
  return paths.filter((path) => !existsSync(path));
}

/** Whether Debian's Python can import the gRPC and protobuf runtimes. */
export async function systemPythonHasGrpc(): Promise<boolean> {
  if (!existsSync(SYSTEM_PYTHON)) return false;
  const result = await run(SYSTEM_PYTHON, ["-c", "import grpc, google.protobuf"]).catch(() => undefined);
  return result?.code === 0;
}

/** Where Debian's Go libraries live (golang-google-grpc-dev and friends). */
export const DEBIAN_GOPATH = "/usr/share/gocode";

/** What building a grpc-go program offline needs: Go and Debian's grpc-go and protobuf sources. */
export const GO_GRPC_FILES: readonly string[] = ["/usr/bin/go", join(DEBIAN_GOPATH, "src/google.golang.org/grpc"), join(DEBIAN_GOPATH, "src/google.golang.org/protobuf")];

/**
 * Builds a Go main package offline, in GOPATH mode against Debian's Go
 * libraries (/usr/share/gocode): no module download, no proxy.
 *
 * `root` is linked into a temporary GOPATH as `importPath`, and `pkg`
 * (relative to it) is built into `output`.
 */
export async function goBuild(root: string, importPath: string, pkg: string, output: string): Promise<RunResult> {
  const gopath = mkdtempSync(join(tmpdir(), "semcache-gopath-"));
  const linked = join(gopath, "src", importPath);
  mkdirSync(dirname(linked), { recursive: true });
  symlinkSync(root, linked);
  try {
    return await run("go", ["build", "-o", output, pkg], {
      cwd: linked,
      timeoutMs: 300_000,
      env: {
        GO111MODULE: "off",
        GOPATH: `${gopath}:${DEBIAN_GOPATH}`,
        GOPROXY: "off",
        GOFLAGS: "",
        GOTOOLCHAIN: "local",
        ...(process.env["HOME"] === undefined && process.env["GOCACHE"] === undefined ? { GOCACHE: join(tmpdir(), "semcache-go-cache") } : {}),
      },
    });
  } finally {
    // Removes the link, never what it points to (rm does not follow symbolic links).
    rmSync(gopath, { recursive: true, force: true });
  }
}
