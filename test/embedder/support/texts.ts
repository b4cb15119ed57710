/**
 * Deterministic test texts for the embedder tests.
 */

/** Word pools by topic, so texts built from different pools mean different things. */
const POOLS = {
  travel: (
    "river mountain harbor valley island bridge castle forest desert canyon glacier meadow ocean " +
    "village road train journey map compass hotel beach coast lake cliff trail tourist passport"
  ).split(" "),
  cooking: (
    "flour butter sugar oven bake dough yeast garlic onion pepper salt recipe kitchen soup sauce " +
    "bread cheese tomato pasta roast boil simmer spoon knife dinner lunch breakfast dessert cake"
  ).split(" "),
  computing: (
    "software computer network server database memory processor algorithm program compiler code " +
    "keyboard screen internet password file disk cloud linux kernel binary function variable bug"
  ).split(" "),
} as const;

/** A topic of {@link longText}. */
export type Topic = keyof typeof POOLS;

/** `count` pseudo-random words of one topic; same seed, same text. */
export function longText(count: number, seed: number, topic: Topic = "travel"): string {
  const words = POOLS[topic];
  let state = (seed * 2654435761) >>> 0 || 1;
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    out.push(words[state % words.length]!);
  }
  return out.join(" ");
}

const PROMPTS = [
  "What is the capital of France?",
  "Tell me the capital city of France.",
  "How do I bake sourdough bread?",
  "Explain quantum entanglement simply.",
  "Write a haiku about autumn leaves.",
  "What is the boiling point of water at sea level?",
  "Translate 'good morning' into Spanish.",
  "How many legs does a spider have?",
];

/** `n` prompts of varied lengths, so a batch really needs padding. */
export function promptSet(n: number): string[] {
  return Array.from({ length: n }, (_, i) => {
    const base = PROMPTS[i % PROMPTS.length]!;
    return i % 3 === 0 ? `${base} ${longText(5 + i, i)}` : `${base} (#${i})`;
  });
}
