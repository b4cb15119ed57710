/**
 * Intents files: one JSON object a line, `{"intent", "role", "prompt",
 * "note"?}`, with roles `seed` (stored before any lookup), `para` (a
 * rephrasing of its seed, same intent id) and `near` (a hard negative, id
 * `<seed-intent>~nearN`, never seeded; its note starts with a category).
 */

/** The roles of an intents line. */
export type Role = "seed" | "para" | "near";

/** One line of an intents file. */
export interface IntentLine {
  readonly intent: string;
  readonly role: Role;
  readonly prompt: string;
  /** Near lines: the category, then ": " and an explanation. */
  readonly note?: string;
  /** 1-based line number in the file. */
  readonly line: number;
}

/** The note categories of near lines, as the development set defines them. */
export const NOTE_CATEGORIES = [
  "different entity",
  "different question",
  "different constraint",
  "negation/opposite",
  "different format/language",
  "different number",
  "different time frame",
  "swapped direction",
] as const;

/** A near line's category: the note up to its first ": " (or "uncategorised"). */
export function categoryOf(line: IntentLine): string {
  const note = line.note ?? "";
  const cut = note.indexOf(":");
  const category = (cut < 0 ? note : note.slice(0, cut)).trim();
  return category === "" ? "uncategorised" : category;
}

/** An intents file that does not follow the format; the message lists every problem with its line. */
export class DatasetError extends Error {
  override readonly name = "DatasetError";
}

/** The lines of an intents file, checked. */
export interface Dataset {
  readonly lines: readonly IntentLine[];
  readonly seeds: readonly IntentLine[];
  readonly paras: readonly IntentLine[];
  readonly nears: readonly IntentLine[];
}

const MAX_PROBLEMS = 20;

/**
 * Parses and checks an intents file: valid JSON objects, known roles,
 * non-empty prompts, one seed per intent, every para's intent seeded, and
 * no near's intent seeded.
 *
 * @throws DatasetError naming each bad line (up to 20).
 */
export function parseDataset(text: string, source = "intents file"): Dataset {
  const problems: string[] = [];
  const lines: IntentLine[] = [];
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = index + 1;
    if (raw.trim() === "") return;
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch {
      problems.push(`line ${line}: not JSON`);
      return;
    }
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
      problems.push(`line ${line}: not a JSON object`);
      return;
    }
    const { intent, role, prompt, note } = value as Record<string, unknown>;
    if (typeof intent !== "string" || intent === "") problems.push(`line ${line}: "intent" must be a non-empty string`);
    else if (role !== "seed" && role !== "para" && role !== "near") problems.push(`line ${line}: "role" must be seed, para or near`);
    else if (typeof prompt !== "string" || prompt.trim() === "") problems.push(`line ${line}: "prompt" must be a non-empty string`);
    else if (note !== undefined && typeof note !== "string") problems.push(`line ${line}: "note" must be a string`);
    else lines.push({ intent, role, prompt, line, ...(note === undefined ? {} : { note }) });
  });

  const seeded = new Map<string, number>();
  for (const l of lines) {
    if (l.role !== "seed") continue;
    const earlier = seeded.get(l.intent);
    if (earlier !== undefined) problems.push(`line ${l.line}: intent ${JSON.stringify(l.intent)} is seeded twice (also line ${earlier})`);
    else seeded.set(l.intent, l.line);
  }
  for (const l of lines) {
    if (l.role === "para" && !seeded.has(l.intent)) problems.push(`line ${l.line}: para of intent ${JSON.stringify(l.intent)}, which has no seed`);
    if (l.role === "near" && seeded.has(l.intent)) problems.push(`line ${l.line}: near intent ${JSON.stringify(l.intent)} is seeded; near intents must never be`);
  }
  if (lines.length > 0 && seeded.size === 0) problems.push("no seed lines");
  if (lines.length === 0 && problems.length === 0) problems.push("no lines");
  if (problems.length > 0) {
    const shown = problems.slice(0, MAX_PROBLEMS);
    const more = problems.length > MAX_PROBLEMS ? `\n  ... and ${problems.length - MAX_PROBLEMS} more` : "";
    throw new DatasetError(`${source} is not a valid intents file:\n  ${shown.join("\n  ")}${more}`);
  }
  return {
    lines,
    seeds: lines.filter((l) => l.role === "seed"),
    paras: lines.filter((l) => l.role === "para"),
    nears: lines.filter((l) => l.role === "near"),
  };
}
