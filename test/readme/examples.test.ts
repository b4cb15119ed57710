/**
 * Every example of README.md runs as printed, in README order, against a
 * real server: the fixture model, a temporary data directory, and the
 * loopback OpenAI-compatible test server as the LLM. Only the port is
 * rewritten (`localhost:8080` → the test server's), and `npm start` lines
 * stand for that server, restarted with the line's settings. Shell blocks run
 * with bash (sharing their variables from block to block, as one terminal
 * would), TypeScript with tsx from the repo root, Python with /usr/bin/python3.
 * Directives before a block (see support/readme-blocks.ts) mark the ones that cannot
 * run here, with their reason, which this test prints.
 */
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { isAbsolute, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startServerFromConfig, type ConfiguredServer } from "../../src/app/start-server.js";
import { loadConfig } from "../../src/config/load-config.js";
import { createLogger } from "../../src/observability/logger.js";
import { startOpenAiServer, type OpenAiTestServer } from "../support/openai-server.js";
import { tempDir, testEnv } from "../support/test-server.js";
import { looseMismatches, npmStart, readmeBlocks, shellCommands, withPort, type ReadmeBlock } from "./support/readme-blocks.js";

const REPO = fileURLToPath(new URL("../..", import.meta.url));
const README = readFileSync(join(REPO, "README.md"), "utf8");
const BLOCK_TIMEOUT_MS = 90_000;

/** Runs a program to completion with a deadline. */
function run(command: string, args: string[], options: { cwd: string; env: NodeJS.ProcessEnv; input?: string }): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: options.cwd, env: options.env, stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`${command} did not finish in ${BLOCK_TIMEOUT_MS} ms:\n${stdout}\n${stderr}`));
    }, BLOCK_TIMEOUT_MS);
    child.once("error", reject);
    child.once("exit", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(options.input ?? "");
  });
}

const MARK = "@@readme-example-command@@";

describe("README examples", () => {
  const blocks = readmeBlocks(README);
  let llm: OpenAiTestServer;
  let server: ConfiguredServer | undefined;
  let port = 0;
  let dataDir: string;
  /** The shell's working directory: the repo's entries, linked, so files the examples write stay out of the repo. */
  let shellDir: string;
  let stateDir: string;
  let exported: Record<string, string> = {};
  /** What each TypeScript block printed. */
  const printed = new Map<ReadmeBlock, string>();

  /** (Re)starts the server `npm start` stands for, with the line's settings, on the same port. */
  async function startServer(settings: Record<string, string>): Promise<void> {
    await server?.close();
    const env = await testEnv(dataDir, { SEMCACHE_LLM_BASE_URL: llm.url, SEMCACHE_PORT: String(port) });
    for (const [name, value] of Object.entries(settings)) {
      if (name === "SEMCACHE_LLM_BASE_URL") continue; // whatever LLM the README names, the loopback one answers
      const local = !value.includes("://") && !isAbsolute(value) && existsSync(join(shellDir, value));
      env[name] = local ? join(shellDir, value) : withPort(value, port);
    }
    const config = loadConfig({ env, argv: [], cwd: shellDir });
    server = await startServerFromConfig(config, createLogger("warn"));
    await server.ready;
    port = server.port;
  }

  beforeAll(async () => {
    llm = await startOpenAiServer();
    dataDir = tempDir("semcache-readme-data-");
    shellDir = tempDir("semcache-readme-sh-");
    stateDir = tempDir("semcache-readme-state-");
    for (const entry of readdirSync(REPO)) {
      if (!["data", "keys.json", ".env", ".git"].includes(entry)) symlinkSync(join(REPO, entry), join(shellDir, entry));
    }
    // `semcache` as the README's reader has it: the CLI of this checkout.
    mkdirSync(join(stateDir, "bin"));
    writeFileSync(join(stateDir, "bin", "semcache"), `#!/bin/sh\nexec node ${JSON.stringify(join(REPO, "bin", "semcache.js"))} "$@"\n`, { mode: 0o755 });
    await startServer({});
  });

  afterAll(async () => {
    await server?.close();
    await llm?.close();
    for (const dir of [dataDir, shellDir, stateDir]) if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it("lists the blocks it skips, each with its reason", () => {
    const skipped = blocks.filter((block) => block.runner !== undefined && block.directive.kind === "skip");
    const notRun = blocks.filter((block) => block.runner === undefined && block.language !== "");
    console.log(
      [
        `README examples: ${blocks.filter((b) => b.runner !== undefined && b.directive.kind !== "skip").length} run, ${skipped.length} skipped:`,
        ...skipped.map((b) => `  README.md:${b.line} (${b.language}): ${b.directive.kind === "skip" ? b.directive.reason : ""}`),
        `not run (not a runnable language): ${notRun.map((b) => `README.md:${b.line} (${b.language})`).join(", ")}`,
      ].join("\n"),
    );
    for (const block of skipped) expect(block.directive.kind === "skip" && block.directive.reason.length > 3).toBe(true);
  });

  /** Runs a shell block command by command in one bash, with the variables earlier blocks set. */
  async function runShell(block: ReadmeBlock): Promise<void> {
    const commands = shellCommands(block.code);
    // Split where `npm start` lines are: the server restarts there, between the commands before and after.
    let segment: typeof commands = [];
    const segments: { commands: typeof commands; thenStart?: Record<string, string> }[] = [];
    for (const command of commands) {
      const settings = npmStart(command.text);
      if (settings === undefined) segment.push(command);
      else {
        segments.push({ commands: segment, thenStart: settings });
        segment = [];
      }
    }
    segments.push({ commands: segment });
    for (const { commands: part, thenStart } of segments) {
      if (part.length > 0) await runShellCommands(block, part);
      if (thenStart !== undefined) await startServer(thenStart);
    }
  }

  async function runShellCommands(block: ReadmeBlock, commands: ReturnType<typeof shellCommands>): Promise<void> {
    const state = join(stateDir, "vars.sh");
    const exports = join(stateDir, "exports");
    const script = [
      `__base=" $(compgen -v | tr '\\n' ' ') "`,
      `[ -f ${JSON.stringify(state)} ] && source ${JSON.stringify(state)}`,
      // What a terminal keeps from one block to the next: the variables the examples set.
      `__save() { : > ${JSON.stringify(state)}; : > ${JSON.stringify(exports)}; for __v in $(compgen -v); do case "$__base" in *" $__v "*) continue;; esac; case "$__v" in __*) continue;; esac; declare -p "$__v" >> ${JSON.stringify(state)}; if [[ "$(declare -p "$__v")" == "declare -x"* ]]; then printf '%s\\0%s\\0' "$__v" "\${!__v}" >> ${JSON.stringify(exports)}; fi; done; }`,
      "trap __save EXIT",
      "set -eo pipefail",
      ...commands.flatMap((command) => [`printf '\\n${MARK}\\n'`, withPort(command.text, port)]),
    ].join("\n");
    const env: NodeJS.ProcessEnv = { ...process.env, PATH: `${join(stateDir, "bin")}:${process.env["PATH"] ?? ""}` };
    delete env["SEMCACHE_API_KEYS_FILE"];
    const result = await run("bash", ["-c", script], { cwd: shellDir, env });
    const outputs = result.stdout.split(`\n${MARK}\n`).slice(1);
    const context = `README.md:${block.line}\n--- stdout\n${result.stdout}\n--- stderr\n${result.stderr}`;
    expect(result.code, `a command failed (exit ${result.code}): ${context}`).toBe(0);
    expect(outputs, context).toHaveLength(commands.length);
    commands.forEach((command, i) => {
      const output = (outputs[i] ?? "").trim();
      const shownError = command.expected.some((shown) => shown.includes('"code"'));
      // curl prints an error answer and exits 0: an error nobody shows is a failure.
      if (!shownError && /^\{"code":"[a-z_]+","message"/u.test(output)) expect.fail(`\`${command.text}\` answered an error: ${output}\n${context}`);
      for (const shown of command.expected) {
        const lines = output.split("\n").filter((line) => line.trim() !== "");
        const matching = lines.find((line) => looseMismatches(shown, line).length === 0);
        expect(matching, `\`${command.text}\` printed ${output}; the README shows ${shown}: ${lines.map((l) => looseMismatches(shown, l).join("; ")).join(" | ")}`).toBeDefined();
      }
    });
    exported = {};
    if (existsSync(exports)) {
      const parts = readFileSync(exports, "utf8").split("\0");
      for (let i = 0; i + 1 < parts.length; i += 2) exported[parts[i] ?? ""] = parts[i + 1] ?? "";
    }
  }

  /** The code a block runs: its own, after the block it continues (which may continue another). */
  function codeWithPrelude(index: number): string {
    const block = blocks[index]!;
    if (block.directive.kind !== "continues") return block.code;
    const previous = blocks.findLastIndex((other, i) => i < index && other.runner === block.runner);
    if (previous < 0) throw new Error(`README.md:${block.line} continues a block, but no earlier ${block.language} block exists`);
    return `${codeWithPrelude(previous)}\n${block.code}`;
  }

  async function runProgram(block: ReadmeBlock, index: number): Promise<void> {
    const code = withPort(codeWithPrelude(index), port);
    const env = { ...process.env, ...exported };
    if (block.runner === "tsx") {
      // In the repo root, so the example's imports resolve as they do for a reader there.
      const file = join(REPO, `.readme-example-${process.pid}-${block.line}.ts`);
      writeFileSync(file, code);
      try {
        const result = await run(process.execPath, ["--import", "tsx", file], { cwd: REPO, env });
        expect(result.code, `README.md:${block.line} failed:\n${result.stdout}\n${result.stderr}`).toBe(0);
        printed.set(block, result.stdout);
      } finally {
        rmSync(file, { force: true });
      }
      return;
    }
    const result = await run("/usr/bin/python3", ["-"], { cwd: shellDir, env, input: code });
    expect(result.code, `README.md:${block.line} failed:\n${result.stdout}\n${result.stderr}`).toBe(0);
  }

  blocks.forEach((block, index) => {
    if (block.runner === undefined || block.directive.kind === "skip") return;
    it(`README.md:${block.line} (${block.language}) runs as printed`, async () => {
      if (block.runner === "bash") await runShell(block);
      else await runProgram(block, index);
    }, BLOCK_TIMEOUT_MS * 2);
  });

  it("shows Ask's sources by name, the LLM's answer first and the cache's after, when followed in order", () => {
    const askBlock = blocks.find((block) => block.runner === "tsx" && block.code.includes("cache.ask("));
    const output = askBlock === undefined ? undefined : printed.get(askBlock);
    expect(output, "the TypeScript Ask example did not run").toBeDefined();
    const sources = (output ?? "").split("\n").map((line) => /^(?:source )?(LLM|CACHE|COALESCED|UNSPECIFIED|\d+)\b/u.exec(line)?.[1]).filter((name) => name !== undefined);
    expect(sources.slice(0, 2)).toEqual(["LLM", "CACHE"]);
    expect(output).toMatch(/^source (LLM|CACHE|COALESCED)$/mu);
  });
});
