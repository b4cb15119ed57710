/**
 * A small strict parser of the Prometheus text exposition format (0.0.4),
 * for tests: anything it does not understand is an error, not a skipped line.
 */

/** One sample line. */
export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

/** A metric family: its HELP, TYPE and samples. */
export interface Family {
  readonly name: string;
  readonly help: string;
  readonly type: "counter" | "gauge" | "histogram" | "summary" | "untyped";
  readonly samples: Sample[];
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

function parseValue(text: string, line: number): number {
  if (text === "+Inf") return Infinity;
  if (text === "-Inf") return -Infinity;
  if (text === "NaN") return NaN;
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text)) throw new Error(`line ${line}: bad value ${JSON.stringify(text)}`);
  return Number(text);
}

/** Parses `{a="1",b="x\"y"}` starting at `start` (the "{"); returns the labels and the index after "}". */
function parseLabels(text: string, start: number, line: number): [Record<string, string>, number] {
  const labels: Record<string, string> = {};
  let i = start + 1;
  for (;;) {
    if (text[i] === "}") return [labels, i + 1];
    const eq = text.indexOf("=", i);
    if (eq < 0) throw new Error(`line ${line}: unterminated labels`);
    const name = text.slice(i, eq);
    if (!LABEL_NAME.test(name)) throw new Error(`line ${line}: bad label name ${JSON.stringify(name)}`);
    if (name in labels) throw new Error(`line ${line}: duplicate label ${name}`);
    if (text[eq + 1] !== '"') throw new Error(`line ${line}: label value must be quoted`);
    let value = "";
    let j = eq + 2;
    for (;;) {
      const c = text[j];
      if (c === undefined) throw new Error(`line ${line}: unterminated label value`);
      if (c === "\\") {
        const next = text[j + 1];
        if (next === "n") value += "\n";
        else if (next === "\\" || next === '"') value += next;
        else throw new Error(`line ${line}: bad escape \\${next}`);
        j += 2;
        continue;
      }
      if (c === '"') break;
      value += c;
      j++;
    }
    labels[name] = value;
    i = j + 1;
    if (text[i] === ",") i++;
    else if (text[i] !== "}") throw new Error(`line ${line}: expected , or } after a label`);
  }
}

/** Parses an exposition; throws on any malformed or undeclared line, duplicate series, or inconsistent histogram. */
export function parsePrometheusText(text: string): Map<string, Family> {
  const families = new Map<string, Family>();
  const help = new Map<string, string>();
  const seen = new Set<string>();
  const lines = text.split("\n");
  if (lines.at(-1) !== "") throw new Error("the exposition must end with a newline");
  lines.forEach((raw, index) => {
    const line = index + 1;
    if (raw === "") return;
    if (raw.startsWith("# HELP ")) {
      const [name, ...rest] = raw.slice(7).split(" ");
      if (!NAME.test(name ?? "")) throw new Error(`line ${line}: bad HELP name`);
      help.set(name!, rest.join(" "));
      return;
    }
    if (raw.startsWith("# TYPE ")) {
      const [name, type, extra] = raw.slice(7).split(" ");
      if (!NAME.test(name ?? "") || extra !== undefined) throw new Error(`line ${line}: bad TYPE line`);
      if (!["counter", "gauge", "histogram", "summary", "untyped"].includes(type ?? "")) throw new Error(`line ${line}: bad type ${type}`);
      if (families.has(name!)) throw new Error(`line ${line}: ${name} declared twice`);
      families.set(name!, { name: name!, help: help.get(name!) ?? "", type: type as Family["type"], samples: [] });
      return;
    }
    if (raw.startsWith("#")) throw new Error(`line ${line}: unexpected comment ${raw}`);
    const nameEnd = raw.search(/[{ ]/);
    if (nameEnd <= 0) throw new Error(`line ${line}: bad sample ${raw}`);
    const name = raw.slice(0, nameEnd);
    if (!NAME.test(name)) throw new Error(`line ${line}: bad metric name ${name}`);
    let labels: Record<string, string> = {};
    let rest = nameEnd;
    if (raw[nameEnd] === "{") [labels, rest] = parseLabels(raw, nameEnd, line);
    if (raw[rest] !== " ") throw new Error(`line ${line}: expected a space before the value`);
    const parts = raw.slice(rest + 1).split(" ");
    if (parts.length > 2) throw new Error(`line ${line}: trailing text`);
    const value = parseValue(parts[0]!, line);
    const family =
      families.get(name) ??
      [...families.values()].find((f) => (f.type === "histogram" || f.type === "summary") && [`${f.name}_bucket`, `${f.name}_sum`, `${f.name}_count`].includes(name));
    if (family === undefined) throw new Error(`line ${line}: sample ${name} of no declared family`);
    const key = `${name}${JSON.stringify(Object.entries(labels).sort())}`;
    if (seen.has(key)) throw new Error(`line ${line}: duplicate series ${key}`);
    seen.add(key);
    if (family.type === "counter" && !(value >= 0)) throw new Error(`line ${line}: counter ${name} is ${value}`);
    family.samples.push({ name, labels, value });
  });
  for (const family of families.values()) if (family.type === "histogram") checkHistogram(family);
  return families;
}

function checkHistogram(family: Family): void {
  const series = new Map<string, { buckets: [number, number][]; count?: number; sum?: number }>();
  for (const { name, labels, value } of family.samples) {
    const { le, ...rest } = labels;
    const key = JSON.stringify(Object.entries(rest).sort());
    const s = series.get(key) ?? { buckets: [] };
    series.set(key, s);
    if (name.endsWith("_bucket")) {
      if (le === undefined) throw new Error(`${name}: bucket without le`);
      s.buckets.push([le === "+Inf" ? Infinity : Number(le), value]);
    } else if (name.endsWith("_count")) s.count = value;
    else if (name.endsWith("_sum")) s.sum = value;
    else throw new Error(`${name}: not a histogram sample`);
  }
  for (const [key, s] of series) {
    if (s.count === undefined || s.sum === undefined) throw new Error(`${family.name}${key}: missing _count or _sum`);
    const last = s.buckets.at(-1);
    if (last === undefined || last[0] !== Infinity || last[1] !== s.count) throw new Error(`${family.name}${key}: +Inf bucket must equal _count`);
    for (let i = 1; i < s.buckets.length; i++) {
      const [le0, n0] = s.buckets[i - 1]!;
      const [le1, n1] = s.buckets[i]!;
      if (!(le1 > le0) || n1 < n0) throw new Error(`${family.name}${key}: buckets must grow (le ${le0} → ${le1}, ${n0} → ${n1})`);
    }
  }
}

/** The value of the one sample `name` with exactly these labels (le excluded unless given); undefined when absent. */
export function sampleValue(families: Map<string, Family>, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const family of families.values()) {
    for (const sample of family.samples) {
      if (sample.name !== name) continue;
      const keys = Object.keys(sample.labels);
      if (keys.length === Object.keys(labels).length && keys.every((k) => sample.labels[k] === labels[k])) return sample.value;
    }
  }
  return undefined;
}

/** Samples named `name` whose labels include `where`. */
export function samplesOf(families: Map<string, Family>, name: string, where: Record<string, string> = {}): Sample[] {
  const out: Sample[] = [];
  for (const family of families.values()) {
    for (const sample of family.samples) {
      if (sample.name === name && Object.entries(where).every(([k, v]) => sample.labels[k] === v)) out.push(sample);
    }
  }
  return out;
}

/** Sum of the samples named `name` whose labels include `where`. */
export function sumOf(families: Map<string, Family>, name: string, where: Record<string, string> = {}): number {
  return samplesOf(families, name, where).reduce((sum, s) => sum + s.value, 0);
}
