/**
 * The system packages some test suites need (Chromium, redis-server, the
 * Go/Python gRPC toolchains), checked once when vitest loads its config.
 *
 * `npm test` must pass as printed on a fresh machine, so: run as root on
 * Debian, it installs what is missing with .ci/install-system.sh (the script
 * CI uses); anywhere else it leaves out the suites whose tools are missing and
 * says so in one line. Under CI=true nothing may be left out: a missing tool
 * fails the run.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { delimiter, join } from "node:path";
import { fileURLToPath } from "node:url";

const REPO = fileURLToPath(new URL("../..", import.meta.url));
const INSTALL_SCRIPT = join(REPO, ".ci", "install-system.sh");

/** A tool some suites need. */
interface Prerequisite {
  /** What to tell a person to install. */
  readonly name: string;
  readonly present: () => boolean;
  /** The suites (vitest globs) that cannot run without it. */
  readonly suites: readonly string[];
}

function onPath(command: string): boolean {
  return (process.env["PATH"] ?? "").split(delimiter).some((dir) => dir !== "" && existsSync(join(dir, command)));
}

function systemPythonHasYaml(): boolean {
  return existsSync("/usr/bin/python3") && spawnSync("/usr/bin/python3", ["-c", "import yaml"], { stdio: "ignore" }).status === 0;
}

function systemPythonHasGrpc(): boolean {
  return existsSync("/usr/bin/python3") && spawnSync("/usr/bin/python3", ["-c", "import grpc, google.protobuf"], { stdio: "ignore" }).status === 0;
}

const PREREQUISITES: readonly Prerequisite[] = [
  { name: "chromium (/usr/bin/chromium)", present: () => existsSync("/usr/bin/chromium"), suites: ["test/observability/dashboard*.test.ts"] },
  { name: "redis-server", present: () => onPath("redis-server"), suites: ["test/store/redis-plain.test.ts", "test/faults/redis-outage.test.ts", "test/fleet/*.test.ts"] },
  { name: "golang-go, protoc-gen-go, protoc-gen-go-grpc", present: () => onPath("go") && onPath("protoc-gen-go"), suites: ["test/clients/go-client.test.ts", "test/bench/load-generator.test.ts"] },
  { name: "python3-grpcio python3-protobuf (for /usr/bin/python3)", present: systemPythonHasGrpc, suites: ["test/clients/python-client.test.ts"] },
  { name: "python3-yaml (for /usr/bin/python3)", present: systemPythonHasYaml, suites: ["test/deploy/compose.test.ts"] },
];

function missingNow(): Prerequisite[] {
  return PREREQUISITES.filter((prerequisite) => !prerequisite.present());
}

function inCi(): boolean {
  const ci = process.env["CI"];
  return ci !== undefined && ci !== "" && ci !== "false";
}

/**
 * Makes sure the suites' system tools are there (installing them as root on
 * Debian) and returns the globs of the suites to leave out; see the module
 * comment. Throws under CI when anything is missing.
 */
export function suitesWithoutTheirTools(): string[] {
  let missing = missingNow();
  const canInstall = process.getuid?.() === 0 && existsSync("/usr/bin/apt-get") && process.env["SEMCACHE_TEST_NO_INSTALL"] === undefined;
  if (missing.length > 0 && canInstall) {
    process.stderr.write(`npm test: installing what the tests need (${missing.map((m) => m.name).join("; ")}) with .ci/install-system.sh\n`);
    try {
      execFileSync("bash", [INSTALL_SCRIPT], { stdio: ["ignore", "inherit", "inherit"] });
    } catch (error) {
      process.stderr.write(`npm test: .ci/install-system.sh failed: ${(error as Error).message}\n`);
    }
    missing = missingNow();
  }
  if (missing.length === 0) return [];
  const names = missing.map((m) => m.name).join("; ");
  if (inCi()) throw new Error(`CI is set and the tests need: ${names}. Run .ci/install-system.sh as root (Debian).`);
  const suites = missing.flatMap((m) => m.suites);
  process.stderr.write(
    `npm test: skipping ${suites.length} suite(s) (${suites.join(", ")}) that need ${names}: install with \`sudo bash .ci/install-system.sh\` (Debian) and run again.\n`,
  );
  return suites;
}
