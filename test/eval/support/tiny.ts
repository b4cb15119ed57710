/** A tiny intents file for the evaluation tests; similarities are the fixture model's. */
export const TINY_INTENTS = [
  { intent: "capital-france", role: "seed", prompt: "What is the capital of France?" },
  { intent: "capital-france", role: "para", prompt: "Tell me the capital city of France." },
  { intent: "capital-france~near1", role: "near", prompt: "What is the capital of Germany?", note: "different entity: Germany, not France" },
  { intent: "walk-5-miles", role: "seed", prompt: "How long does it take to walk 5 miles?" },
  { intent: "walk-5-miles", role: "para", prompt: "how long to walk five miles" },
  { intent: "walk-5-miles~near1", role: "near", prompt: "How long does it take to walk 50 miles?", note: "different number: 50, not 5" },
  { intent: "sourdough", role: "seed", prompt: "How do I bake sourdough bread?" },
  { intent: "sourdough", role: "para", prompt: "sourdough bread baking steps" },
]
  .map((line) => JSON.stringify(line))
  .join("\n");
