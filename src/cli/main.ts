import { loadConfig } from "../config/load-config.js";
import { StartupError } from "../errors/index.js";
import { helpText } from "./help.js";
import { serve } from "./serve.js";

async function main(argv: readonly string[]): Promise<number> {
  const [command = "serve", ...rest] = argv;
  if (command === "keys") return (await import("./keys.js")).keysCommand(rest);
  if (command === "calibrate") return (await import("../eval/calibrate.js")).calibrateCommand(rest);
  if (command === "--help" || command === "-h" || command === "help" || rest.includes("--help")) {
    process.stdout.write(helpText());
    return 0;
  }
  if (command !== "serve") {
    process.stderr.write(`semcache: unknown command ${JSON.stringify(command)}\n\n${helpText()}`);
    return 2;
  }
  return serve(loadConfig({ argv: rest }));
}

main(process.argv.slice(2)).then(
  (code) => {
    // Exit explicitly: native thread pools (onnxruntime) must not keep a stopped server alive.
    process.exit(code);
  },
  (error: unknown) => {
    // Startup problems (bad settings, missing model, unwritable data dir) are the operator's to fix: say what, not a
    // stack. Anything else is unexpected (a system error such as a port in use, or a bug): the stack helps there.
    const message = error instanceof StartupError ? error.message : error instanceof Error ? (error.stack ?? error.message) : String(error);
    process.stderr.write(`semcache: cannot start: ${message}\n`);
    process.exitCode = 1;
  },
);
