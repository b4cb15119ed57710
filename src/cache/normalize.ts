/**
 * The one home of text normalisation: what makes two texts "the same" to
 * the cache. Two rules, because layout matters in a prompt (code) and not
 * in a scope param value.
 */

// Every line break Unicode knows, CRLF first so it becomes one break.
const LINE_BREAK = /\r\n|[\n\r\v\f\u0085\u2028\u2029]/gu;
// White space inside a line: anything \s matches except the line break.
const INLINE_SPACE = /[^\S\n]+/gu;
const INDENT = /^[ \t]*/;

/**
 * Normalises a prompt for matching: Unicode NFC, line breaks unified to LF,
 * trailing white space of each line removed, blank lines at either end
 * dropped and runs of blank lines inside reduced to one, the indentation
 * every line shares removed, and runs of white space *inside* a line
 * collapsed to one space, while each line's own indentation (relative to
 * the others) is kept as written. So `for x in xs:\n    save(x)` and
 * `for x in xs:\nsave(x)` stay different prompts (in Python they are), while
 * re-wrapped spacing inside a sentence does not. A one-line prompt
 * normalises exactly as before: trimmed, runs of white space collapsed.
 *
 * Two prompts that normalise alike are the same prompt to the cache (the
 * exact layer, and the same entry id).
 */
export function normalizePrompt(prompt: string): string {
  const lines = prompt.normalize("NFC").replace(LINE_BREAK, "\n").split("\n");
  const kept: string[] = [];
  for (const raw of lines) {
    const indent = INDENT.exec(raw)![0];
    const body = raw.slice(indent.length).replace(INLINE_SPACE, " ").trim();
    if (body === "") {
      // Leading blank lines, and all but one blank line in a run, carry no meaning.
      if (kept.length > 0 && kept[kept.length - 1] !== "") kept.push("");
      continue;
    }
    kept.push(indent + body);
  }
  if (kept[kept.length - 1] === "") kept.pop();
  return dedent(kept).join("\n");
}

/** Removes the longest run of indentation every non-blank line starts with. */
function dedent(lines: string[]): string[] {
  let common: string | undefined;
  for (const line of lines) {
    if (line === "") continue;
    const indent = INDENT.exec(line)![0];
    if (common === undefined || !indent.startsWith(common)) {
      let n = 0;
      const base = common ?? indent;
      while (n < base.length && n < indent.length && base[n] === indent[n]) n++;
      common = base.slice(0, n);
    }
    if (common === "") return lines;
  }
  const cut = common?.length ?? 0;
  return cut === 0 ? lines : lines.map((line) => line.slice(cut));
}

/**
 * Normalises a value whose layout never matters, such as a scope param
 * (a system prompt's line wrapping must not split a scope): Unicode NFC,
 * trimmed, every run of white space, line breaks included, collapsed to one
 * space.
 */
export function normalizeInline(text: string): string {
  return text.normalize("NFC").replace(/\s+/gu, " ").trim();
}
