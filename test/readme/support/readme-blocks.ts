/**
 * The fenced code blocks of README.md, in order, with the directive each
 * carries. A directive is an HTML comment on the last non-blank line before
 * the fence:
 *
 *   <!-- example: skip (why it cannot run in the test) -->
 *   <!-- example: continues -->   (runs with the previous block of its language prepended)
 *
 * Blocks in a runnable language (sh, ts, python) run unless skipped; blocks
 * in any other language (json, promql, go, …) are never run.
 */

/** How a block is run, by its fence's language. */
export type Runner = "bash" | "tsx" | "python";

const RUNNERS: Readonly<Record<string, Runner>> = { sh: "bash", bash: "bash", shell: "bash", ts: "tsx", typescript: "tsx", python: "python", py: "python" };

/** What the comment before a block asks. */
export type Directive = { readonly kind: "skip"; readonly reason: string } | { readonly kind: "continues" } | { readonly kind: "none" };

/** One fenced block. */
export interface ReadmeBlock {
  /** 1-based line of the opening fence. */
  readonly line: number;
  /** The fence's language tag, lower-cased ("" when none). */
  readonly language: string;
  /** How it runs; undefined for languages that are not run. */
  readonly runner: Runner | undefined;
  readonly code: string;
  readonly directive: Directive;
}

const DIRECTIVE = /^<!--\s*example:\s*(.*?)\s*-->$/u;

function parseDirective(text: string, line: number): Directive {
  if (text === "continues") return { kind: "continues" };
  const skip = /^skip\s*\((.+)\)$/u.exec(text);
  if (skip?.[1] !== undefined && skip[1].trim() !== "") return { kind: "skip", reason: skip[1].trim() };
  throw new Error(`README.md:${line}: unknown example directive "${text}": use "continues" or "skip (reason)"`);
}

/** Every fenced block of `markdown`, in order. */
export function readmeBlocks(markdown: string): ReadmeBlock[] {
  const lines = markdown.split("\n");
  const blocks: ReadmeBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^ {0,3}```\s*([\w+-]*)\s*$/u.exec(lines[i] ?? "");
    if (open === null) continue;
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && !/^ {0,3}```\s*$/u.test(lines[i] ?? ""); i++) body.push(lines[i] ?? "");
    let before = start - 1;
    while (before >= 0 && (lines[before] ?? "").trim() === "") before--;
    const comment = DIRECTIVE.exec((lines[before] ?? "").trim());
    const language = (open[1] ?? "").toLowerCase();
    blocks.push({
      line: start + 1,
      language,
      runner: RUNNERS[language],
      code: body.join("\n"),
      directive: comment?.[1] === undefined ? { kind: "none" } : parseDirective(comment[1], before + 1),
    });
  }
  return blocks;
}

/** One shell command (continuation lines joined) and the output its `# {…}` comment lines promise. */
export interface ShellCommand {
  readonly text: string;
  /** The comment lines right under it that show JSON output, without "# ". */
  readonly expected: string[];
}

/** Splits a shell block into commands, each with the output comments under it. */
export function shellCommands(code: string): ShellCommand[] {
  const commands: { text: string; expected: string[] }[] = [];
  const lines = code.split("\n");
  for (let i = 0; i < lines.length; i++) {
    let line = lines[i] ?? "";
    const trimmed = line.trim();
    if (trimmed === "") continue;
    if (trimmed.startsWith("#")) {
      const shown = trimmed.replace(/^#\s?/u, "");
      const last = commands.at(-1);
      // Output shown under a command; other comments explain and are left to bash.
      if (last !== undefined && /^[[{]/u.test(shown) && (lines[i - 1] ?? "").trim() !== "") last.expected.push(shown);
      continue;
    }
    while (line.endsWith("\\") && i + 1 < lines.length) line = `${line}\n${lines[++i] ?? ""}`;
    commands.push({ text: line, expected: [] });
  }
  return commands;
}

/**
 * The settings of an `npm start` or `npm run start:fixture` line (its leading
 * VAR=value assignments), or undefined for any other command: the server the
 * test runs stands for it.
 */
export function npmStart(command: string): Record<string, string> | undefined {
  const withoutComment = command.replace(/\s+#.*$/u, "").trim();
  const match = /^((?:[A-Za-z_][A-Za-z0-9_]*=\S*\s+)*)npm (?:run )?start(?::fixture)?$/u.exec(withoutComment);
  if (match === null) return undefined;
  const env: Record<string, string> = {};
  for (const assignment of (match[1] ?? "").trim().split(/\s+/u).filter((a) => a !== "")) {
    const eq = assignment.indexOf("=");
    env[assignment.slice(0, eq)] = assignment.slice(eq + 1);
  }
  return env;
}

/** The port every example talks to; rewritten to the test server's. */
export function withPort(text: string, port: number): string {
  return text.replace(/\b(localhost|127\.0\.0\.1):8080\b/gu, `$1:${port}`);
}

/**
 * Checks an output loosely against what the README shows: the shown JSON's
 * keys must be there (at any depth), and its booleans and enum names
 * (UPPER_CASE strings) must match; ids, numbers and other text vary.
 * Returns what differs, empty when it matches.
 */
export function looseMismatches(shown: string, output: string): string[] {
  let actual: unknown;
  try {
    actual = JSON.parse(output);
  } catch {
    return [`the README shows JSON (${shown}), the command printed: ${output.slice(0, 300)}`];
  }
  const found = new Map<string, unknown[]>();
  const walk = (value: unknown): void => {
    if (Array.isArray(value)) {
      for (const item of value) walk(item);
      return;
    }
    if (value === null || typeof value !== "object") return;
    for (const [key, inner] of Object.entries(value)) {
      found.set(key, [...(found.get(key) ?? []), inner]);
      walk(inner);
    }
  };
  walk(actual);
  const problems: string[] = [];
  for (const pair of shown.matchAll(/"([A-Za-z_][\w]*)"\s*:\s*("(?:[^"\\]|\\.)*"|true|false|-?[\d.]+|[{[])/gu)) {
    const [, key = "", raw = ""] = pair;
    const values = found.get(key);
    if (values === undefined) {
      problems.push(`"${key}" is missing`);
      continue;
    }
    const expected = raw === "true" ? true : raw === "false" ? false : /^"[A-Z][A-Z0-9_]+"$/u.test(raw) ? raw.slice(1, -1) : undefined;
    if (expected !== undefined && !values.includes(expected)) problems.push(`"${key}" is ${JSON.stringify(values)}, the README shows ${raw}`);
  }
  return problems;
}
