/** What the benchmark ran on. */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { arch, cpus, freemem, loadavg, platform, release, totalmem } from "node:os";

export interface MachineInfo {
  readonly cpuModel: string;
  readonly cores: number;
  readonly memoryGiB: number;
  readonly freeMemoryGiB: number;
  readonly node: string;
  readonly os: string;
  readonly loadAverage: readonly number[];
  readonly onnxruntimeNode: string;
  readonly gitCommit: string | null;
}

function packageVersion(name: string): string {
  try {
    const url = new URL(`../../node_modules/${name}/package.json`, import.meta.url);
    return String((JSON.parse(readFileSync(url, "utf8")) as { version?: unknown }).version);
  } catch {
    return "unknown";
  }
}

function gitCommit(): string | null {
  try {
    const head = execFileSync("git", ["rev-parse", "--short", "HEAD"], { stdio: ["ignore", "pipe", "ignore"] }).toString().trim();
    const dirty = execFileSync("git", ["status", "--porcelain"], { stdio: ["ignore", "pipe", "ignore"] }).toString().trim() !== "";
    return dirty ? `${head}+dirty` : head;
  } catch {
    return null;
  }
}

export function machineInfo(): MachineInfo {
  const gib = (bytes: number) => Math.round((bytes / 2 ** 30) * 10) / 10;
  return {
    cpuModel: cpus()[0]?.model.trim() ?? "unknown",
    cores: cpus().length,
    memoryGiB: gib(totalmem()),
    freeMemoryGiB: gib(freemem()),
    node: process.version,
    os: `${platform()} ${release()} ${arch()}`,
    loadAverage: loadavg().map((x) => Math.round(x * 100) / 100),
    onnxruntimeNode: packageVersion("onnxruntime-node"),
    gitCommit: gitCommit(),
  };
}
